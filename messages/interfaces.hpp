// Every verb between roles, in one place: the typed actor interface of each
// role. A behavior that misses or mistypes a handler does not compile.
#pragma once

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/block.hpp"
#include "messages/control.hpp"
#include "messages/protocol.hpp"
#include "messages/request.hpp"
#include "messages/response.hpp"

namespace tt::msg {

// The receiving end of requests (the router's session actor): a context actor
// streams token_chunk messages ending in final = true (grouped as token_chunks
// for clients that ask for it), or one score_result, or
// one request_error, to the client_actor named beside each request.
using client_actor = caf::typed_actor<
  caf::reacts_to<token_chunk>,
  caf::reacts_to<token_chunks>,
  caf::reacts_to<score_result>,
  caf::reacts_to<request_error>>;

// A denoiser tower: refines blocks of many sequences in one batch; stateless
// between blocks apart from the K/V rows it has already received (sticky).
using denoiser_actor = caf::typed_actor<
  caf::replies_to<hello>::with<hello_ack>,
  caf::replies_to<denoise_block>::with<block_committed>,
  caf::replies_to<load_atom>::with<load_report>,
  // The owner: the sequence ended, drop what you hold of it (replica, mapping).
  caf::reacts_to<release_handle>,
  // The owner, after registering a GPU denoiser of another node: join its NCCL channel.
  caf::replies_to<nccl_join>::with<hello_ack>>;

// A context tower: the home of its sequences and their caches.
using context_actor = caf::typed_actor<
  caf::replies_to<hello>::with<hello_ack>,
  // Replies go to the client_actor, not to the sender of the request.
  caf::reacts_to<generate_request, client_actor>,
  caf::reacts_to<score_request, client_actor>,
  caf::reacts_to<cancel_request, client_actor>,
  // A denoiser offers itself (accepted = false with a reason when refused).
  caf::replies_to<register_denoiser, denoiser_actor>::with<hello_ack>,
  // A lessee (denoiser) gives a cache snapshot back.
  caf::reacts_to<release_handle>,
  caf::replies_to<load_atom>::with<load_report>,
  // Cache bytes, message bytes and latency of its block jobs, per transport.
  caf::replies_to<stats_atom>::with<context_stats>>;

}  // namespace tt::msg
