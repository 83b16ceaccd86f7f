// The deadlines of many requests behind one timer: the owning actor arms a
// single delayed message for the earliest deadline (when arm() says so) instead
// of one pending message per request for its whole timeout, and on that message
// takes the requests whose deadline has passed (due()). Used by the context
// actor (Unix milliseconds) and the router actor (steady-clock time points).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace tt::actors {

template <class Time>
class DeadlineQueue {
public:
  using Handle = typename std::multimap<Time, uint64_t>::iterator;

  // Keep the handle to remove the entry when the request ends first.
  Handle add(Time deadline, uint64_t id) { return entries_.emplace(deadline, id); }
  void remove(Handle h) { entries_.erase(h); }

  // The time to arm the timer for, or nothing when no entry waits or a timer
  // is already armed at or before the earliest deadline.
  std::optional<Time> arm() {
    if (entries_.empty()) return std::nullopt;
    const Time first = entries_.begin()->first;
    if (armed_ && *armed_ <= first) return std::nullopt;
    armed_ = first;
    return first;
  }

  // The armed timer fired: the ids whose deadline is at or before `now`
  // (their entries stay until removed). Call arm() afterwards.
  std::vector<uint64_t> due(Time now) {
    armed_.reset();
    std::vector<uint64_t> ids;
    for (auto it = entries_.begin(); it != entries_.end() && it->first <= now; ++it) ids.push_back(it->second);
    return ids;
  }

  size_t size() const { return entries_.size(); }

private:
  std::multimap<Time, uint64_t> entries_;
  std::optional<Time> armed_;
};

}  // namespace tt::actors
