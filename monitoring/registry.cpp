// Registration (validated, duplicate-free) and whole-registry snapshots.
#include "monitoring/registry.hpp"

#include <cmath>

#include "monitoring/validation.hpp"

namespace tt::mon {
namespace {

std::vector<std::string> to_strings(std::span<const std::string_view> views) {
  return std::vector<std::string>(views.begin(), views.end());
}

void check_spec_type(const MetricSpec& spec, MetricType wanted) {
  if (spec.type != wanted)
    throw MetricError("cannot register metric \"" + std::string(spec.name) + "\" as a " +
                      std::string(to_string(wanted)) + ": its spec says " + std::string(to_string(spec.type)));
  if (wanted != MetricType::histogram && !spec.buckets.empty())
    throw MetricError("cannot register metric \"" + std::string(spec.name) + "\": buckets given for a " +
                      std::string(to_string(wanted)));
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

template <class M>
Family<M>& Registry::add(MetricType type, std::string_view name, std::string_view help,
                         std::vector<std::string> label_names, std::vector<double> bounds) {
  const std::string where = "cannot register metric \"" + std::string(name) + "\": ";
  if (auto e = metric_name_error(name, type); !e.empty()) throw MetricError(where + e);
  if (help.empty()) throw MetricError(where + "help text is empty");
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (auto e = label_name_error(label_names[i]); !e.empty()) throw MetricError(where + e);
    for (size_t j = 0; j < i; ++j)
      if (label_names[j] == label_names[i])
        throw MetricError(where + "label name \"" + label_names[i] + "\" is listed twice");
  }
  if (auto e = bucket_error(bounds); !e.empty()) throw MetricError(where + e);
  if (!bounds.empty() && std::isinf(bounds.back())) bounds.pop_back();

  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end())
    throw MetricError(where + "already registered (as a " + std::string(to_string(it->second->type())) + ")");
  auto* family = new Family<M>(std::string(name), std::string(help), std::move(label_names), std::move(bounds));
  families_.emplace(std::string(name), std::unique_ptr<FamilyBase>(family));
  return *family;
}

Family<Counter>& Registry::counter(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
  return add<Counter>(MetricType::counter, name, help, std::move(label_names), {});
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
  return add<Gauge>(MetricType::gauge, name, help, std::move(label_names), {});
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                                       std::vector<std::string> label_names) {
  return add<Histogram>(MetricType::histogram, name, help, std::move(label_names), std::move(bounds));
}

Family<Counter>& Registry::counter(const MetricSpec& spec) {
  check_spec_type(spec, MetricType::counter);
  return counter(spec.name, spec.help, to_strings(spec.label_names));
}

Family<Gauge>& Registry::gauge(const MetricSpec& spec) {
  check_spec_type(spec, MetricType::gauge);
  return gauge(spec.name, spec.help, to_strings(spec.label_names));
}

Family<Histogram>& Registry::histogram(const MetricSpec& spec) {
  check_spec_type(spec, MetricType::histogram);
  return histogram(spec.name, spec.help, std::vector<double>(spec.buckets.begin(), spec.buckets.end()),
                   to_strings(spec.label_names));
}

std::vector<FamilySnapshot> Registry::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<FamilySnapshot> out;
  out.reserve(families_.size());
  for (const auto& [name, family] : families_) out.push_back(family->snapshot());
  return out;
}

}  // namespace tt::mon
