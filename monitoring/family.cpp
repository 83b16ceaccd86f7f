// Metric families: resolving label sets to children, and snapshots for scrapes.
#include "monitoring/family.hpp"

#include <type_traits>

#include "monitoring/validation.hpp"

namespace tt::mon {
namespace {

template <class M>
constexpr MetricType type_of() {
  if constexpr (std::is_same_v<M, Counter>) return MetricType::counter;
  if constexpr (std::is_same_v<M, Gauge>) return MetricType::gauge;
  if constexpr (std::is_same_v<M, Histogram>) return MetricType::histogram;
}

std::string join(const std::vector<std::string>& names) {
  std::string s = "{";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s + "}";
}

}  // namespace

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

std::vector<std::string> FamilyBase::label_values(std::span<const Label> labels) const {
  const std::string where = "metric \"" + name_ + "\" (labels " + join(label_names_) + "): ";
  std::vector<std::string> values(label_names_.size());
  std::vector<bool> seen(label_names_.size(), false);
  for (const Label& label : labels) {
    size_t i = 0;
    while (i < label_names_.size() && label_names_[i] != label.name) ++i;
    if (i == label_names_.size()) throw MetricError(where + "unknown label \"" + std::string(label.name) + "\"");
    if (seen[i]) throw MetricError(where + "label \"" + label_names_[i] + "\" given twice");
    if (auto e = label_value_error(label.value); !e.empty())
      throw MetricError(where + "label \"" + label_names_[i] + "\": " + e);
    seen[i] = true;
    values[i] = std::string(label.value);
  }
  for (size_t i = 0; i < label_names_.size(); ++i)
    if (!seen[i]) throw MetricError(where + "no value for label \"" + label_names_[i] + "\"");
  return values;
}

void FamilyBase::throw_needs_labels() const {
  throw MetricError("metric \"" + name_ + "\" has labels " + join(label_names_) + "; give their values to with()");
}

FamilySnapshot FamilyBase::empty_snapshot() const {
  return FamilySnapshot{name_, help_, type_, label_names_, bounds_, {}};
}

template <class M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type_of<M>(), std::move(label_names), std::move(bounds)) {
  if (label_names_.empty()) unlabelled_ = &child({});
}

template <class M>
M& Family<M>::child(std::vector<std::string> values) {
  std::lock_guard lock(mutex_);
  if (auto it = children_.find(values); it != children_.end()) return it->second;
  if constexpr (std::is_same_v<M, Histogram>) {
    return children_.try_emplace(std::move(values), std::span<const double>(bounds_)).first->second;
  } else {
    return children_.try_emplace(std::move(values)).first->second;
  }
}

template <class M>
FamilySnapshot Family<M>::snapshot() const {
  FamilySnapshot s = empty_snapshot();
  std::lock_guard lock(mutex_);
  s.children.reserve(children_.size());
  for (const auto& [values, metric] : children_) {
    ChildSnapshot c;
    c.label_values = values;
    if constexpr (std::is_same_v<M, Histogram>) {
      c.histogram = metric.snapshot();
    } else {
      c.value = metric.value();
    }
    s.children.push_back(std::move(c));
  }
  return s;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace tt::mon
