// CSV and SVG renderings of a sweep.
#include "tools/loadgen/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "model/error.hpp"

namespace tt::capacity {
namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A "nice" tick step for a range.
double tick_step(double range) {
  if (!(range > 0)) return 1;
  const double raw = range / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

}  // namespace

std::string to_csv(const std::vector<Summary>& points) {
  std::string out =
      "label,offered_rate,concurrency,completed,errors,requests_per_s,output_tokens_per_s,"
      "ttft_p50_s,ttft_p90_s,ttft_p99_s,itl_p50_s,itl_p90_s,itl_p99_s,tpot_p50_s,"
      "e2e_p50_s,e2e_p90_s,e2e_p99_s,tokens_per_forward,goodput_rps,good_fraction\n";
  for (const auto& s : points) {
    const double v[] = {s.offered_rate, static_cast<double>(s.concurrency), static_cast<double>(s.completed),
                        static_cast<double>(s.errors), s.requests_per_s, s.output_tokens_per_s, s.ttft.p50,
                        s.ttft.p90, s.ttft.p99, s.itl.p50, s.itl.p90, s.itl.p99, s.tpot.p50, s.e2e.p50,
                        s.e2e.p90, s.e2e.p99, s.tokens_per_forward, s.goodput_rps, s.good_fraction};
    out += csv_field(s.label);
    for (double x : v) {
      out += ',';  // not "," + num(x): GCC 12 warns -Wrestrict on that (a false positive)
      out += num(x);
    }
    out += "\n";
  }
  return out;
}

std::string to_svg(const std::vector<Summary>& points, const std::string& title) {
  const double W = 720, H = 440, L = 70, R = 170, T = 40, B = 50;
  struct Series {
    const char* name;
    const char* color;
    double (*y)(const Summary&);
  };
  const Series series[] = {
      {"TTFT p50", "#1f77b4", [](const Summary& s) { return s.ttft.p50; }},
      {"TTFT p99", "#aec7e8", [](const Summary& s) { return s.ttft.p99; }},
      {"E2E p50", "#d62728", [](const Summary& s) { return s.e2e.p50; }},
      {"E2E p99", "#ff9896", [](const Summary& s) { return s.e2e.p99; }},
  };
  double xmax = 0, ymax = 0;
  for (const auto& p : points) {
    xmax = std::max(xmax, p.output_tokens_per_s);
    for (const auto& s : series) ymax = std::max(ymax, s.y(p));
  }
  const double xs = tick_step(xmax), ys = tick_step(ymax);
  xmax = std::max(xs, std::ceil(xmax / xs) * xs);
  ymax = std::max(ys, std::ceil(ymax / ys) * ys);
  auto px = [&](double x) { return L + (W - L - R) * x / xmax; };
  auto py = [&](double y) { return H - B - (H - T - B) * y / ymax; };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string t;
  for (char c : title) t += c == '<' ? std::string("&lt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
  o << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << t << "</text>\n";
  for (double x = 0; x <= xmax * 1.0001; x += xs)
    o << "<line x1=\"" << px(x) << "\" y1=\"" << T << "\" x2=\"" << px(x) << "\" y2=\"" << H - B
      << "\" stroke=\"#eee\"/><text x=\"" << px(x) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">"
      << num(x) << "</text>\n";
  for (double y = 0; y <= ymax * 1.0001; y += ys)
    o << "<line x1=\"" << L << "\" y1=\"" << py(y) << "\" x2=\"" << W - R << "\" y2=\"" << py(y)
      << "\" stroke=\"#eee\"/><text x=\"" << L - 6 << "\" y=\"" << py(y) + 4 << "\" text-anchor=\"end\">" << num(y)
      << "</text>\n";
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">output tokens/s</text>\n";
  o << "<text transform=\"translate(18," << (T + H - B) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">latency (s)</text>\n";
  int row = 0;
  for (const auto& s : series) {
    o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\" points=\"";
    for (const auto& p : points) o << px(p.output_tokens_per_s) << "," << py(s.y(p)) << " ";
    o << "\"/>\n";
    for (const auto& p : points)
      o << "<circle cx=\"" << px(p.output_tokens_per_s) << "\" cy=\"" << py(s.y(p)) << "\" r=\"3\" fill=\""
        << s.color << "\"/>\n";
    const double ly = T + 10 + 20 * row++;
    o << "<line x1=\"" << W - R + 12 << "\" y1=\"" << ly << "\" x2=\"" << W - R + 36 << "\" y2=\"" << ly
      << "\" stroke=\"" << s.color << "\" stroke-width=\"2\"/><text x=\"" << W - R + 42 << "\" y=\"" << ly + 4
      << "\">" << s.name << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f || !(f << text) || !f.flush()) throw Error(path + ": cannot write");
}

}  // namespace tt::capacity
