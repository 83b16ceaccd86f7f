// The context actor: a ContextCore in a thin actor shell. Home of its
// sequences; schedules their blocks to its denoisers (least loaded, sticky per
// sequence), streams committed tokens to clients, survives denoiser deaths.
#pragma once

#include <caf/actor_system.hpp>

#include "actors/actor_atoms.hpp"
#include "actors/cache_transport.hpp"
#include "model/model.hpp"

namespace tt::actors {

struct ContextOptions {
  bool log_blocks = false;  // one stderr line per block sent / committed / queued (tests, debugging)
  // How cache snapshots reach denoisers (auto: pointer / shared memory / bytes by where they run).
  TransportPolicy transport = TransportPolicy::automatic;
};

// `model` (the context tower loaded; its denoiser weights are not needed: block
// jobs go to denoiser actors) must outlive the actor.
context_impl spawn_context(caf::actor_system& sys, const Model& model, ContextOptions options = {});

}  // namespace tt::actors
