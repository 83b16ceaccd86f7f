// Atoms an actor sends itself (never on the wire between roles), and the
// private interfaces that extend the public ones in messages/interfaces.hpp.
#pragma once

#include <caf/atom.hpp>

#include "messages/interfaces.hpp"

namespace tt::actors {

// "Run one step of your core" (self-message loop while there is work).
using step_atom = caf::atom_constant<caf::atom("tt_step")>;
// "The earliest sequence deadline may have passed" (one delayed self-message
// armed at a time, see ContextState::deadlines).
using deadline_atom = caf::atom_constant<caf::atom("tt_dline")>;

// "The NCCL channel join of (denoiser key) ended" (from the joining thread, actors/channel_join.hpp).
using nccl_joined_atom = caf::atom_constant<caf::atom("tt_njoin")>;

// A context actor as spawned: its public interface plus its own loop. Remote
// peers see it as msg::context_actor (a superset is assignable in CAF).
using context_impl = msg::context_actor::extend<caf::reacts_to<step_atom>,
                                                caf::reacts_to<deadline_atom>,
                                                caf::reacts_to<nccl_joined_atom, uint64_t>>;

// A denoiser as spawned: its public interface plus its own loop.
using denoiser_impl = msg::denoiser_actor::extend<caf::reacts_to<step_atom>,
                                                  caf::reacts_to<nccl_joined_atom, uint64_t>>;

}  // namespace tt::actors
