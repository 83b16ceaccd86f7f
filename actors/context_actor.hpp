// The context actor: a ContextCore in a thin actor shell. Home of its
// sequences; schedules their blocks to its denoisers (least loaded, sticky per
// sequence), streams committed tokens to clients, survives denoiser deaths.
#pragma once

#include <caf/actor_system.hpp>

#include "actors/actor_atoms.hpp"
#include "model/model.hpp"

namespace tt::actors {

struct ContextOptions {
  bool log_blocks = false;  // one stderr line per block sent / committed / queued (tests, debugging)
};

// `model` (context tower loaded; denoiser weights too, see ContextCore::submit)
// must outlive the actor.
context_impl spawn_context(caf::actor_system& sys, const Model& model, ContextOptions options = {});

}  // namespace tt::actors
