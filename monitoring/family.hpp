// A metric family: one name, help text and list of label names, and one child
// metric per distinct set of label values. Look a child up once with `with`
// (locks, may allocate) and keep the reference: it stays valid as long as the
// registry, and recording through it never locks or allocates.
#pragma once

#include <initializer_list>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "monitoring/metric.hpp"

namespace tt::mon {

// A misuse of the metrics API: a bad or duplicate name, wrong labels, bad
// buckets. These are programming errors found at start-up, hence exceptions.
class MetricError : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

// One label of a child, by name:
//   requests.with({"outcome", "ok"})
//   peer_events.with({{"role", "denoiser"}, {"event", "down"}})
struct Label {
  std::string_view name;
  std::string_view value;
};

// What a scrape reads: plain values, copied out under the family's lock.
struct ChildSnapshot {
  std::vector<std::string> label_values;  // in the family's label-name order
  double value = 0.0;                     // counter, gauge
  Histogram::Snapshot histogram;          // histogram
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::counter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;          // histogram bucket upper bounds, without +Inf
  std::vector<ChildSnapshot> children;  // sorted by label values
};

class FamilyBase {
public:
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  virtual ~FamilyBase() = default;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }

  virtual FamilySnapshot snapshot() const = 0;

protected:
  // Arguments are validated by the Registry before a family is built.
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
             std::vector<double> bounds);

  // The values of `labels` in label_names() order; MetricError naming the
  // family when a label is missing, unknown, repeated, or not UTF-8.
  std::vector<std::string> label_values(std::span<const Label> labels) const;
  [[noreturn]] void throw_needs_labels() const;
  FamilySnapshot empty_snapshot() const;

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // children of a histogram family point into this
  mutable std::mutex mutex_;          // guards the children map, not the metrics in it
};

template <class M>
class Family final : public FamilyBase {
public:
  // The one child of a family without labels (created with the family, so it
  // is exported as 0 before anything is recorded). No lock, no allocation.
  M& with() {
    if (unlabelled_ == nullptr) throw_needs_labels();
    return *unlabelled_;
  }
  M& with(Label label) { return child(label_values(std::span<const Label>(&label, 1))); }
  M& with(std::initializer_list<Label> labels) {
    return child(label_values(std::span<const Label>(labels.begin(), labels.size())));
  }

  FamilySnapshot snapshot() const override;

private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds);

  M& child(std::vector<std::string> values);

  std::map<std::vector<std::string>, M> children_;  // node-based: children never move
  M* unlabelled_ = nullptr;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace tt::mon
