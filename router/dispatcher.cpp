// The dispatcher facade and its connector thread (see dispatcher.hpp).
#include "router/dispatcher.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cache_transport.hpp"
#include "messages/interfaces.hpp"
#include "router/router_actor.hpp"

namespace tt::router {

Dispatcher::Dispatcher(caf::actor_system& sys, DispatcherOptions options, mon::Metrics& metrics)
    : sys_(sys),
      options_(std::move(options)),
      status_(std::make_shared<DispatcherStatus>()),
      connected_(std::make_shared<std::vector<std::atomic<bool>>>(backend_capacity(options_))) {
  actor_ = spawn_router_actor(sys_, options_, metrics, status_, connected_);
  connector_ = std::thread([this] { connect_loop(); });
}

Dispatcher::~Dispatcher() { shutdown(); }

void Dispatcher::shutdown() {
  stop_ = true;
  if (connector_.joinable()) connector_.join();
  if (!actor_) return;
  caf::scoped_actor self{sys_};
  self->monitor(actor_);
  self->send_exit(actor_, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(5)) >> [] {});
  actor_ = nullptr;
}

uint64_t Dispatcher::submit(Generation generation, EventSink sink) {
  auto sub = std::make_shared<Submission>();
  sub->id = next_id_++;
  sub->generation = std::move(generation);
  sub->sink = std::move(sink);
  const uint64_t id = sub->id;
  caf::anon_send(actor_, submit_atom::value, std::move(sub));
  return id;
}

void Dispatcher::cancel(uint64_t id, CancelReason why) {
  caf::anon_send(actor_, cancel_atom::value, id, static_cast<uint8_t>(why));
}

bool Dispatcher::ready() const {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  const int64_t ok = status_->last_probe_ok_ms;
  return status_->backends_up > 0 && ok > 0 && now - ok <= options_.ready_window.count();
}

// Connects to every wanted context actor that is not connected: at start-up, again
// after one went down (it may come back on the same address), and to the addresses
// discovery finds (looked up every discovery_interval).
void Dispatcher::connect_loop() {
  BackendSlots slots(options_.contexts, connected_->size() - options_.contexts.size());
  std::string last_problems;
  auto next_lookup = std::chrono::steady_clock::now();
  while (!stop_) {
    if (!options_.discovery.empty() && std::chrono::steady_clock::now() >= next_lookup) {
      std::vector<std::string> problems;
      const auto found = discover(options_.discovery, problems);
      for (const auto& a : slots.update(found, [&](size_t i) { return (*connected_)[i].load(); }))
        problems.push_back("no backend slot left for " + a.first + ":" + std::to_string(a.second));
      std::string text;
      for (const auto& p : problems) text += "twotower router: discovery: " + p + "\n";
      if (text != last_problems) std::fputs(text.c_str(), stderr);  // each problem once, until it changes
      last_problems = text;
      next_lookup = std::chrono::steady_clock::now() + options_.discovery_interval;
    }
    for (size_t i = 0; i < slots.size() && !stop_; ++i) {
      if (!slots.wanted(i) || (*connected_)[i]) continue;
      const auto& [host, port] = slots.address(i);
      const std::string where = host + ":" + std::to_string(port);
      auto hdl = options_.connect ? options_.connect(host, port) : sys_.middleman().remote_actor<msg::context_actor>(host, port);
      std::string why;
      if (hdl) {
        caf::scoped_actor self{sys_};
        self->request(*hdl, std::chrono::seconds(5),
                      msg::make_hello("router", actors::this_process().node, actors::this_process().pid))
            .receive([&](const msg::hello_ack& ack) { why = ack.accepted ? "" : ack.reason; },
                     [&](caf::error& e) { why = "no answer to hello: " + sys_.render(e); });
      } else {
        why = "cannot connect: " + sys_.render(hdl.error());
      }
      if (why.empty()) {
        (*connected_)[i] = true;
        slots.connected(i);
        std::fprintf(stderr, "twotower router: connected to context %zu at %s\n", i, where.c_str());
        caf::anon_send(actor_, backend_up_atom::value, static_cast<uint64_t>(i), *hdl);
      } else if (slots.first_failure(i)) {
        std::fprintf(stderr, "twotower router: context %zu at %s: %s (retrying)\n", i, where.c_str(), why.c_str());
      }
    }
    for (auto waited = std::chrono::milliseconds(0); waited < options_.reconnect_interval && !stop_;
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace tt::router
