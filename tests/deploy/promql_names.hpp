// Test helper: the metric names a PromQL expression reads. A small scanner,
// not a parser: it skips strings, label matchers {..}, ranges [..], label lists
// after by/without/on/ignoring/group_left/group_right, function and aggregation
// names, keywords, numbers and durations, and Grafana variables ($name).
#pragma once

#include <cctype>
#include <set>
#include <string>
#include <string_view>

namespace tt::test {

inline bool promql_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
inline bool promql_ident_char(char c) { return promql_ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Index just past the bracket that closes the one at `i` (strings inside skipped).
inline size_t promql_skip_group(std::string_view e, size_t i, char open, char close) {
  int depth = 0;
  for (; i < e.size(); ++i) {
    const char c = e[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < e.size() && e[i] != c; ++i)
        if (e[i] == '\\' && c != '`') ++i;
    } else if (c == open) {
      ++depth;
    } else if (c == close && --depth == 0) {
      return i + 1;
    }
  }
  return e.size();
}

inline std::set<std::string> promql_metric_names(std::string_view e) {
  static const std::set<std::string_view> keywords = {
      "and",   "or",     "unless", "bool",  "offset", "inf",    "nan",   "sum",     "min",        "max",
      "avg",   "group",  "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "atan2"};
  static const std::set<std::string_view> label_lists = {"by", "without", "on", "ignoring", "group_left",
                                                         "group_right"};
  std::set<std::string> names;
  size_t i = 0;
  while (i < e.size()) {
    const char c = e[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < e.size() && e[i] != c; ++i)
        if (e[i] == '\\' && c != '`') ++i;
      ++i;
    } else if (c == '{') {
      i = promql_skip_group(e, i, '{', '}');
    } else if (c == '[') {
      i = promql_skip_group(e, i, '[', ']');
    } else if (c == '$') {  // Grafana variable
      for (++i; i < e.size() && promql_ident_char(e[i]); ++i) {
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < e.size() && std::isdigit(static_cast<unsigned char>(e[i + 1])))) {
      for (++i; i < e.size() && (std::isalnum(static_cast<unsigned char>(e[i])) || e[i] == '.'); ++i) {
      }
    } else if (promql_ident_start(c)) {
      const size_t start = i;
      while (i < e.size() && promql_ident_char(e[i])) ++i;
      const std::string_view word = e.substr(start, i - start);
      size_t next = i;
      while (next < e.size() && std::isspace(static_cast<unsigned char>(e[next]))) ++next;
      if (label_lists.count(word)) {
        if (next < e.size() && e[next] == '(') i = promql_skip_group(e, next, '(', ')');
      } else if (!keywords.count(word) && !(next < e.size() && e[next] == '(')) {
        names.insert(std::string(word));
      }
    } else {
      ++i;
    }
  }
  return names;
}

}  // namespace tt::test
