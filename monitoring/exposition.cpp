// Prometheus text format 0.0.4 from registry snapshots.
#include "monitoring/exposition.hpp"

#include "monitoring/number_format.hpp"
#include "monitoring/registry.hpp"

namespace tt::mon {
namespace {

std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` from the child's labels plus an optional `le`; nothing at all
// when there are no labels.
void append_labels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string* le) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, const std::string& name, std::string_view suffix, const FamilySnapshot& f,
                   const ChildSnapshot& c, const std::string* le, const std::string& value) {
  out += name;
  out += suffix;
  append_labels(out, f.label_names, c.label_values, le);
  out += ' ';
  out += value;
  out += '\n';
}

void append_family(std::string& out, const FamilySnapshot& f) {
  if (f.children.empty()) return;
  out += "# HELP " + f.name + ' ' + escape_help(f.help) + '\n';
  out += "# TYPE " + f.name + ' ' + std::string(to_string(f.type)) + '\n';
  std::vector<std::string> les;
  for (double b : f.bounds) les.push_back(format_number(b));
  les.push_back("+Inf");
  for (const ChildSnapshot& c : f.children) {
    switch (f.type) {
      case MetricType::counter:
      case MetricType::gauge:
        append_sample(out, f.name, "", f, c, nullptr, format_number(c.value));
        break;
      case MetricType::histogram: {
        const auto& cum = c.histogram.cumulative;
        for (size_t i = 0; i < les.size() && i < cum.size(); ++i)
          append_sample(out, f.name, "_bucket", f, c, &les[i], std::to_string(cum[i]));
        append_sample(out, f.name, "_sum", f, c, nullptr, format_number(c.histogram.sum));
        append_sample(out, f.name, "_count", f, c, nullptr, std::to_string(cum.empty() ? 0 : cum.back()));
        break;
      }
    }
  }
}

}  // namespace

std::string escape_help(std::string_view text) { return escape(text, false); }
std::string escape_label_value(std::string_view text) { return escape(text, true); }

std::string render(std::span<const FamilySnapshot> families) {
  std::string out;
  for (const FamilySnapshot& f : families) append_family(out, f);
  return out;
}

std::string render(const Registry& registry) {
  const auto families = registry.snapshot();
  return render(families);
}

}  // namespace tt::mon
