// The discrete-event core: callbacks ordered by (time, insertion order), so a
// run is a pure function of its inputs and seed.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace tt::capacity {

class EventQueue {
public:
  double now() const { return now_; }
  void at(double t, std::function<void()> fn) { q_.push(Event{t < now_ ? now_ : t, seq_++, std::move(fn)}); }
  void after(double dt, std::function<void()> fn) { at(now_ + dt, std::move(fn)); }
  // Runs the earliest event; false when none is left.
  bool step() {
    if (q_.empty()) return false;
    Event e = q_.top();
    q_.pop();
    now_ = e.t;
    e.fn();
    return true;
  }
  void run() {
    while (step()) {}
  }

private:
  struct Event {
    double t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> q_;
  double now_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace tt::capacity
