// The set of metric families a process exports. Registration validates names
// (validation.hpp) and rejects duplicates with a MetricError; a scrape reads
// everything through snapshot() (see exposition.hpp for the text format).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "monitoring/family.hpp"
#include "monitoring/metric_spec.hpp"

namespace tt::mon {

class Registry {
public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Families live as long as the registry; the references stay valid.
  Family<Counter>& counter(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
  // `bounds`: bucket upper bounds, strictly increasing; +Inf is added implicitly.
  Family<Histogram>& histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                               std::vector<std::string> label_names = {});

  // From a spec in names.hpp; the spec's type must match the call.
  Family<Counter>& counter(const MetricSpec& spec);
  Family<Gauge>& gauge(const MetricSpec& spec);
  Family<Histogram>& histogram(const MetricSpec& spec);

  // Every family, sorted by name.
  std::vector<FamilySnapshot> snapshot() const;

private:
  template <class M>
  Family<M>& add(MetricType type, std::string_view name, std::string_view help, std::vector<std::string> label_names,
                 std::vector<double> bounds);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
};

}  // namespace tt::mon
