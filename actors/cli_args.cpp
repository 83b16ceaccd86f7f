// Command-line option parsing.
#include "actors/cli_args.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "model/error.hpp"

namespace tt::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
           const std::set<std::string>& flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw Error("unexpected argument '" + a + "' (options start with --)");
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (flags.count(name)) {
      if (inline_value) throw Error("--" + name + " takes no value");
      flags_.insert(name);
    } else if (options.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw Error("--" + name + " needs a value");
        value = argv[++i];
      }
      if (values_.count(name)) throw Error("--" + name + " given twice");
      values_[name] = value;
    } else {
      throw Error("unknown option --" + name);
    }
  }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::optional<std::string> Args::str(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE)
    throw Error("--" + name + ": '" + s + "' is not an integer");
  if (v < lo || v > hi)
    throw Error("--" + name + ": " + s + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

double Args::number(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw Error("--" + name + ": '" + s + "' is not a finite number");
  return v;
}

uint64_t Args::seed(const std::string& name, uint64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || s[0] == '-' || *end != '\0' || errno == ERANGE)
    throw Error("--" + name + ": '" + s + "' is not a non-negative integer");
  return v;
}

std::vector<int32_t> parse_id_list(const std::string& text, const std::string& option) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno == ERANGE || v < 0 || v > INT32_MAX)
      throw Error("--" + option + ": '" + item + "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return ids;
}

std::vector<double> parse_number_list(const std::string& text, const std::string& option,
                                      const std::function<bool(double)>& ok, const std::string& what) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (!used || used != item.size() || !ok(v)) throw Error("--" + option + ": '" + item + "' is not " + what);
    out.push_back(v);
  }
  if (out.empty()) throw Error("--" + option + ": empty list");
  return out;
}

std::string format_number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

GenerateRequest generate_options(const Args& a) {
  GenerateRequest req;
  req.mode = parse_mode(a.str("mode", "diffusion"));
  req.max_tokens = static_cast<int>(a.integer("max-tokens", 64, 1, kMaxTokensCap));
  req.diffusion.gamma = static_cast<float>(a.number("gamma", 0.8));
  req.diffusion.block_size = static_cast<int>(a.integer("block-size", 16, 1, 4096));
  req.diffusion.steps = static_cast<int>(a.integer("steps", 16, 1, 4096));
  req.diffusion.temperature = static_cast<float>(a.number("temperature", 0.0));
  req.diffusion.seed = a.seed("seed", 0);
  req.ignore_eos = a.flag("ignore-eos");
  if (!(req.diffusion.gamma > 0.0f && req.diffusion.gamma <= 1.0f))
    throw Error("--gamma: must be in (0, 1] (got " + a.str("gamma", "") + ")");
  if (req.diffusion.temperature < 0.0f) throw Error("--temperature: must be >= 0");
  return req;
}

}  // namespace tt::cli
