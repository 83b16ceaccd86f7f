// Command-line options of the subcommands: `--name value` and `--flag`,
// every value checked, unknown options refused with a one-line error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/engine_types.hpp"

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

// "1,2.5,8" -> numbers; each must satisfy `ok`, else tt::Error
// "--<option>: '<item>' is not <what>". An empty list is an error too.
std::vector<double> parse_number_list(const std::string& text, const std::string& option,
                                      const std::function<bool(double)>& ok, const std::string& what);

// A number as the shortest stream form ("8", "0.5"), for labels.
std::string format_number(double v);

// --max-tokens cap shared by the generation commands.
inline constexpr int64_t kMaxTokensCap = 1 << 20;

// The generation options every generating command shares (--mode, --max-tokens, --gamma,
// --block-size, --steps, --temperature, --seed, and the flag --ignore-eos where the command
// accepts it), checked; the prompt is left empty.
GenerateRequest generate_options(const Args& a);

}  // namespace tt::cli
