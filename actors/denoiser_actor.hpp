// The denoiser actor: a DenoiserCore in a thin actor shell. Applies each cache
// handle to its replica of the sequence, batches every active block into one
// forward per step, and answers each denoise_block when its block commits.
#pragma once

#include <caf/actor_system.hpp>

#include "actors/actor_atoms.hpp"
#include "model/model.hpp"

namespace tt::actors {

// `model` (denoiser tower loaded) must outlive the actor.
denoiser_impl spawn_denoiser(caf::actor_system& sys, const Model& model);

// Spawns a denoiser that greets `context` (hello, then register_denoiser) and
// quits when the context is down; `on_fail` gets a one-line reason when the
// context refuses or does not answer in `timeout`.
denoiser_impl spawn_registered_denoiser(caf::actor_system& sys, const Model& model, msg::context_actor context,
                                        caf::timespan timeout, std::function<void(std::string)> on_fail);

}  // namespace tt::actors
