// The three metric kinds a hot path touches: Counter, Gauge, Histogram. Each is
// a handful of relaxed atomics, so recording never locks or allocates; a
// Family (family.hpp) hands out stable references to them.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace tt::mon {

enum class MetricType { counter, gauge, histogram };

std::string_view to_string(MetricType type);

// alignas(64): children of one family sit side by side in memory; one cache
// line each keeps two threads recording different label sets from false sharing.

// A monotonically increasing total. Whole increments (requests, tokens, bytes)
// are one `lock xadd` on an integer; fractional amounts go to a separate double.
class alignas(64) Counter {
public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc() noexcept { whole_.fetch_add(1, std::memory_order_relaxed); }
  void inc(uint64_t n) noexcept { whole_.fetch_add(n, std::memory_order_relaxed); }
  // For non-integral amounts (e.g. seconds). A counter never goes down, so a
  // negative or NaN amount is ignored rather than corrupting the total.
  void add(double amount) noexcept {
    if (!(amount >= 0.0)) return;
    fraction_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const noexcept {
    return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
           fraction_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

// A value that goes up and down (queue lengths, bytes in use).
class alignas(64) Gauge {
public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1.0) noexcept { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0.0};
};

// Observations counted into buckets with inclusive upper bounds (Prometheus
// `le`); the last, implicit bucket is +Inf. Counts are kept per bucket and made
// cumulative only when read, so an observation is one increment plus one add.
class alignas(64) Histogram {
public:
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0.0;
  };

  // `bounds` (strictly increasing, finite) must outlive the histogram; its
  // family owns them.
  explicit Histogram(std::span<const double> bounds)
      : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double v) noexcept {
    // The first bound b with v <= b. Written as !(v <= b) rather than b < v so
    // that NaN, which compares false with everything, lands in +Inf as in the
    // Go client (and the sum becomes NaN, which is what happened).
    const auto it = std::partition_point(bounds_.begin(), bounds_.end(), [v](double b) { return !(v <= b); });
    const auto i = static_cast<size_t>(it - bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }

  std::span<const double> bounds() const noexcept { return bounds_; }
  // _count is derived from the buckets, so within one snapshot the +Inf bucket
  // and the count always agree even while other threads keep observing.
  Snapshot snapshot() const;

private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

}  // namespace tt::mon
