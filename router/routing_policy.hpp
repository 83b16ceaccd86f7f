// Which context actor gets a new request: a small policy interface with two
// policies, least loaded (default) and session affinity by the `user` field.
// Pure classes, tested without CAF or HTTP.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tt::router {

// A context actor as the router sees it when placing a request.
struct BackendView {
  size_t index = 0;        // stable position in the --context list
  bool available = false;  // up, and below its in-flight limit
  uint32_t in_flight = 0;  // this router's requests on it
  uint32_t reported = 0;   // its last load_report (active + queued), all clients together
};

class RoutingPolicy {
public:
  virtual ~RoutingPolicy() = default;
  // The chosen backend's index, or nullopt when none is available.
  virtual std::optional<size_t> pick(std::span<const BackendView> backends, std::string_view user) = 0;
  // The backend went down: forget whatever points at it.
  virtual void forget(size_t /*index*/) {}
};

// The available backend with the least load (max of our in-flight count and its
// own report); ties go round-robin so equal backends share the work.
class LeastLoaded : public RoutingPolicy {
public:
  std::optional<size_t> pick(std::span<const BackendView> backends, std::string_view user) override;

private:
  size_t next_ = 0;
};

// Requests of one `user` go to the same backend while it is available (its
// caches and prefixes stay warm); a new or displaced user goes least loaded.
class SessionAffinity : public RoutingPolicy {
public:
  explicit SessionAffinity(size_t max_users = 100000) : max_users_(max_users) {}
  std::optional<size_t> pick(std::span<const BackendView> backends, std::string_view user) override;
  void forget(size_t index) override;

private:
  LeastLoaded fallback_;
  std::unordered_map<std::string, size_t> home_;
  size_t max_users_;
};

// "least-loaded" or "affinity"; nullptr for another name.
std::unique_ptr<RoutingPolicy> make_policy(std::string_view name);

}  // namespace tt::router
