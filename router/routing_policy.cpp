// The routing policies of routing_policy.hpp.
#include "router/routing_policy.hpp"

#include <algorithm>

namespace tt::router {

std::optional<size_t> LeastLoaded::pick(std::span<const BackendView> backends, std::string_view) {
  std::optional<size_t> best;
  uint32_t best_load = UINT32_MAX;
  const size_t n = backends.size();
  for (size_t k = 0; k < n; ++k) {
    const BackendView& b = backends[(next_ + k) % n];
    if (!b.available) continue;
    const uint32_t load = std::max(b.in_flight, b.reported);
    if (load < best_load) best = b.index, best_load = load;
  }
  if (best) next_ = (next_ + 1) % std::max<size_t>(n, 1);
  return best;
}

std::optional<size_t> SessionAffinity::pick(std::span<const BackendView> backends, std::string_view user) {
  if (user.empty()) return fallback_.pick(backends, user);
  const std::string key(user);
  if (auto it = home_.find(key); it != home_.end())
    for (const BackendView& b : backends)
      if (b.index == it->second && b.available) return b.index;
  auto chosen = fallback_.pick(backends, user);
  if (chosen) {
    if (home_.size() >= max_users_ && !home_.count(key)) home_.clear();  // bounded memory
    home_[key] = *chosen;
  }
  return chosen;
}

void SessionAffinity::forget(size_t index) {
  std::erase_if(home_, [index](const auto& kv) { return kv.second == index; });
}

std::unique_ptr<RoutingPolicy> make_policy(std::string_view name) {
  if (name == "least-loaded") return std::make_unique<LeastLoaded>();
  if (name == "affinity") return std::make_unique<SessionAffinity>();
  return nullptr;
}

}  // namespace tt::router
