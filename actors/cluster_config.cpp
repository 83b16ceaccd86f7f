// CAF configuration and signal handling of the cluster process mains.
#include "actors/cluster_config.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "messages/registration.hpp"
#include "model/error.hpp"

namespace tt::actors {

ClusterConfig::ClusterConfig() {
  msg::register_messages(*this);
  load<caf::io::middleman>();
  using namespace std::chrono_literals;
  // CAF 0.17: without these a frozen (SIGSTOPped) peer is never noticed.
  set("middleman.heartbeat-interval", caf::timespan{250ms});
  set("middleman.connection-timeout", caf::timespan{2s});
  set("logger.verbosity", caf::atom("quiet"));
  set("scheduler.policy", caf::atom("sharing"));
}

namespace {
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void block_stop_signals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool stop_signal_within(std::chrono::milliseconds d) {
  const sigset_t set = stop_signals();
  const auto ms = d.count() < 0 ? 0 : d.count();
  const timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
  return sigtimedwait(&set, nullptr, &ts) > 0;
}

std::chrono::milliseconds hello_attempt_wait(std::chrono::steady_clock::time_point until) {
  using namespace std::chrono;
  const auto left = duration_cast<milliseconds>(until - steady_clock::now());
  return std::clamp(left, milliseconds(1), milliseconds(1000));
}

bool wait_until_down_or_signal(caf::actor_system& sys, const caf::actor& actor) {
  caf::scoped_actor self{sys};
  self->monitor(actor);
  bool down = false, signalled = false;
  while (!down && !signalled) {
    self->receive([&](caf::down_msg&) { down = true; },
                  caf::after(std::chrono::milliseconds(100)) >> [&] {
                    signalled = stop_signal_within(std::chrono::milliseconds(0));
                  });
  }
  if (signalled) {
    self->send_exit(actor, caf::exit_reason::user_shutdown);
    self->receive([&](caf::down_msg&) {}, caf::after(std::chrono::seconds(5)) >> [] {});
  }
  return signalled;
}

std::pair<std::string, uint16_t> parse_host_port(const std::string& text, const std::string& option) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw Error("--" + option + ": '" + text + "' is not HOST:PORT");
  const std::string port = text.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) throw Error("--" + option + ": '" + port + "' is not a port");
  return {text.substr(0, colon), static_cast<uint16_t>(p)};
}

}  // namespace tt::actors
