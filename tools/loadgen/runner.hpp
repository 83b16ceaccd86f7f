// Drives the load: an Asio HTTP/1.1 client on one thread with keep-alive
// connections, closed loop (N requests in flight) or open loop (requests sent
// at their arrival times whatever the server's state). Returns one record per request.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "tools/loadgen/openai.hpp"
#include "tools/loadgen/stats.hpp"
#include "tools/loadgen/workload.hpp"

namespace tt::capacity {

struct RunOptions {
  Target target;
  RequestOptions request;
  double warmup_s = 0;     // requests sent before this are not measured
  double duration_s = 0;   // closed loop: stop sending after warmup + duration (0: until the source ends)
  double timeout_s = 600;  // per request
};

// Closed loop: `concurrency` workers, each sending `next(i)` back to back until it returns nothing.
using SpecSource = std::function<std::optional<RequestSpec>(size_t index)>;
std::vector<RequestRecord> run_closed(const RunOptions& o, int concurrency, const SpecSource& next);

// Open loop: each spec is sent at its at_s (a fresh connection when none is idle).
std::vector<RequestRecord> run_open(const RunOptions& o, const std::vector<RequestSpec>& specs);

}  // namespace tt::capacity
