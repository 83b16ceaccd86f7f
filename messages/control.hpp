// Membership and load: a denoiser offering itself to a context actor, and the
// load a role reports when asked (for least-loaded placement).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/cache_handle.hpp"

namespace tt::msg {

// Denoiser -> context (after hello): add me to your denoisers. The denoiser's
// actor handle travels beside this struct (see interfaces.hpp).
struct register_denoiser {
  std::string node;        // the denoiser's node (same node as the context: shared memory)
  uint64_t pid = 0;        // the denoiser's process id (same process: in-process handles)
  uint32_t max_batch = 0;  // blocks it refines at once at most
  int32_t device = -1;     // the GPU it computes on and maps CUDA IPC caches to, -1: none
  bool nccl = false;       // it can receive caches over NCCL (GPU-to-GPU across nodes)

  friend bool operator==(const register_denoiser&, const register_denoiser&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_denoiser& x) {
  return f(caf::meta::type_name("tt.register_denoiser"), x.node, x.pid, x.max_batch, x.device, x.nccl);
}

// Context -> a registered denoiser on another node, both on GPUs: join the NCCL
// channel `channel_id` (the context joins it too) over which nccl cache handles'
// bytes will come. accepted = false with a reason when the channel failed.
struct nccl_join {
  std::string channel_id;

  friend bool operator==(const nccl_join&, const nccl_join&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nccl_join& x) {
  return f(caf::meta::type_name("tt.nccl_join"), x.channel_id);
}

// The answer to load_atom.
struct load_report {
  uint32_t active_blocks = 0;  // blocks (or sequences, for a context actor) being worked on
  uint32_t queued_blocks = 0;  // waiting for a slot

  friend bool operator==(const load_report&, const load_report&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, load_report& x) {
  return f(caf::meta::type_name("tt.load_report"), x.active_blocks, x.queued_blocks);
}

// What a context actor's block jobs cost, per cache transport (benchmarks):
// sums since the actor started.
struct transport_stats {
  cache_transport transport = cache_transport::in_process;
  uint64_t blocks = 0;            // denoise_block messages sent
  uint64_t committed = 0;         // of them answered with block_committed
  uint64_t kv_bytes = 0;          // K/V bytes carried inside denoise_block messages
  uint64_t mamba_bytes = 0;       // Mamba state bytes carried inside denoise_block messages
  uint64_t shm_bytes_written = 0; // bytes the owner copied into shared memory (not sent)
  uint64_t block_message_bytes = 0;      // serialized denoise_block, cache payload excluded
  uint64_t committed_message_bytes = 0;  // serialized block_committed
  uint64_t publish_ns = 0;        // making the handles (owner side)
  uint64_t round_trip_ns = 0;     // send to block_committed, over committed blocks

  friend bool operator==(const transport_stats&, const transport_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_stats& x) {
  return f(caf::meta::type_name("tt.transport_stats"), x.transport, x.blocks, x.committed, x.kv_bytes,
           x.mamba_bytes, x.shm_bytes_written, x.block_message_bytes, x.committed_message_bytes, x.publish_ns,
           x.round_trip_ns);
}

// The answer to stats_atom: one entry per transport used so far.
struct context_stats {
  std::vector<transport_stats> transports;

  friend bool operator==(const context_stats&, const context_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, context_stats& x) {
  return f(caf::meta::type_name("tt.context_stats"), x.transports);
}

}  // namespace tt::msg
