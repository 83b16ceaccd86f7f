// The CAF configuration every cluster process uses: wire types registered,
// the middleman loaded, heartbeats on (so a frozen peer is detected), and a
// wait for "actor down or SIGINT/SIGTERM" for process mains.
#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/fwd.hpp>

namespace tt::actors {

class ClusterConfig : public caf::actor_system_config {
public:
  ClusterConfig();
};

// Blocks SIGINT and SIGTERM in this thread (call before the actor_system
// exists, so that its threads inherit the mask and the main thread takes them).
void block_stop_signals();
// With the stop signals blocked: waits up to `d` for SIGINT/SIGTERM; true when one came.
bool stop_signal_within(std::chrono::milliseconds d);

// Waits until `actor` is down (returns false) or SIGINT/SIGTERM arrives (sends
// it an exit message, returns true).
bool wait_until_down_or_signal(caf::actor_system& sys, const caf::actor& actor);

// How long to wait for the answer to one hello before saying it again, with the handshake due
// by `until`: a second at most (the context answers a hello at once; CAF 0.17 can lose one while
// many nodes connect), at least a millisecond.
std::chrono::milliseconds hello_attempt_wait(std::chrono::steady_clock::time_point until);

// "HOST:PORT" -> host, port; throws tt::Error naming `option`.
std::pair<std::string, uint16_t> parse_host_port(const std::string& text, const std::string& option);

}  // namespace tt::actors
