// Command-line options of the subcommands: `--name value` and `--flag`,
// every value checked, unknown options refused with a one-line error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tt::cli {

class Args {
public:
  // `flags` take no value; `options` take one. Throws tt::Error on unknown or malformed input.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
       const std::set<std::string>& flags);

  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string str(const std::string& name, const std::string& fallback) const;
  std::optional<std::string> str(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const;
  double number(const std::string& name, double fallback) const;
  uint64_t seed(const std::string& name, uint64_t fallback) const;

private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

// "1,2,3" -> ids; throws tt::Error naming the option.
std::vector<int32_t> parse_id_list(const std::string& text, const std::string& option);

}  // namespace tt::cli
