// The dispatcher's actor (see dispatcher.hpp): its private messages and spawn.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "router/dispatcher.hpp"

namespace tt::router {

// A generation handed from the HTTP side (local only: never serialized).
struct Submission {
  uint64_t id = 0;
  Generation generation;
  EventSink sink;
};
using SubmissionPtr = std::shared_ptr<Submission>;

using submit_atom = caf::atom_constant<caf::atom("rt_submit")>;      // SubmissionPtr
using cancel_atom = caf::atom_constant<caf::atom("rt_cancel")>;      // id, CancelReason as uint8_t
using backend_up_atom = caf::atom_constant<caf::atom("rt_up")>;      // index, msg::context_actor
using tick_atom = caf::atom_constant<caf::atom("rt_tick")>;          // loads, probe, deadlines
using expire_atom = caf::atom_constant<caf::atom("rt_expire")>;      // the earliest deadline may have passed

caf::actor spawn_router_actor(caf::actor_system& sys, const DispatcherOptions& options, mon::Metrics& metrics,
                              std::shared_ptr<DispatcherStatus> status,
                              std::shared_ptr<std::vector<std::atomic<bool>>> connected);

}  // namespace tt::router

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tt::router::SubmissionPtr)
