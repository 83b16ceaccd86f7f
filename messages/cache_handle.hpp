// A lease on an immutable snapshot of one sequence's context cache at a block
// boundary (ARCHITECTURE.md "Cache handles"): who owns it, its shape, and where
// its bytes are. Same process and same host move no K/V bytes through the
// message; another host gets only the K/V rows it lacks plus the Mamba state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/bytes.hpp"

namespace tt::msg {

// Where the snapshot's bytes are; wire values are fixed.
enum class cache_transport : uint8_t {
  in_process = 0,     // same process: the owner's lease table, keyed by in_process_token
  shared_memory = 1,  // same host: a POSIX shared memory object, read in place (zero copy)
  inline_bytes = 2,   // other host: kv_delta + mamba_state carried in this message
  cuda_ipc = 3,       // same host, both on GPUs: the owner's device memory, mapped by the lessee
  nccl = 4,           // other host, both on GPUs: K/V delta + Mamba state sent GPU to GPU beside this message
};

std::string to_string(cache_transport t);
bool is_known(cache_transport t);

// Layout (all fp32, as model/cache.hpp holds it). An attention layer's K rows
// are kv_row_bytes each, one per committed token; its V rows are the same size.
// The Mamba state is mamba_bytes for all Mamba layers together: layer by layer,
// conv state then SSM state, mamba_bytes / mamba_layers each.
//
// shared_memory and cuda_ipc: in the region (a shared memory object named
//   shm_name, or the device allocation ipc_handle exports on GPU `device`;
//   region_bytes long), attention layer l's K row r
//   is at region_kv_offset + l * region_kv_layer_stride + r * kv_row_bytes, its V row r
//   at the same place + region_v_offset; the Mamba state at region_mamba_offset (in
//   shared memory the owner double-buffers it, so the offset changes from epoch to
//   epoch; a GPU owner does not extend a sequence while its snapshot is leased).
// inline_bytes: kv_delta holds rows [delta_from_epoch, epoch) of every attention
//   layer, layer by layer, K rows then V rows; mamba_state holds mamba_bytes.
//   delta_from_epoch is the lessee's last epoch of this sequence (0 at first), so
//   a sticky denoiser receives each K/V row once.
// nccl: the same rows and state as inline_bytes, in the same order, but over the
//   pair's NCCL channel (a transfer per attention layer's K rows, V rows, then one
//   for the whole Mamba state), posted by the owner right after this message.
struct cache_handle {
  // Identity: (owner_node, owner_pid, sequence_id, epoch) names the snapshot.
  std::string owner_node;    // node of the owning context actor
  uint64_t owner_pid = 0;    // process id of the owner on that node
  uint64_t sequence_id = 0;  // the owner's id of the sequence
  uint64_t epoch = 0;        // committed tokens in the snapshot = K/V rows per layer
  // Shape.
  uint32_t attention_layers = 0;
  uint32_t kv_row_bytes = 0;  // bytes of one token's K row (= its V row) in one layer
  uint32_t mamba_layers = 0;
  uint64_t mamba_bytes = 0;   // all Mamba layers' state together (fixed per model)
  // Where the bytes are.
  cache_transport transport = cache_transport::in_process;
  uint64_t in_process_token = 0;     // in_process: opaque key, never dereferenced by others
  std::string shm_name;              // shared_memory: object name, e.g. "/tt-<pid>-kv"
  // shared_memory and cuda_ipc: the region's size and layout (see above).
  uint64_t region_bytes = 0;            // size of the object or device allocation
  uint64_t region_kv_offset = 0;        // layer 0, K row 0
  uint64_t region_kv_layer_stride = 0;  // from layer l's K row 0 to layer l+1's
  uint64_t region_v_offset = 0;         // from a layer's K row 0 to its V row 0
  uint64_t region_mamba_offset = 0;     // this epoch's Mamba state
  uint64_t delta_from_epoch = 0;     // inline_bytes: first K/V row in kv_delta
  bytes kv_delta;                    // inline_bytes: see above
  bytes mamba_state;                 // inline_bytes: mamba_bytes bytes
  int32_t device = -1;               // cuda_ipc, nccl: the owner's GPU
  bytes ipc_handle;                  // cuda_ipc: cudaIpcMemHandle_t of the region (64 bytes)

  friend bool operator==(const cache_handle&, const cache_handle&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_handle& x) {
  return f(caf::meta::type_name("tt.cache_handle"), x.owner_node, x.owner_pid, x.sequence_id,
           x.epoch, x.attention_layers, x.kv_row_bytes, x.mamba_layers, x.mamba_bytes,
           x.transport, x.in_process_token, x.shm_name, x.region_bytes, x.region_kv_offset,
           x.region_kv_layer_stride, x.region_v_offset, x.region_mamba_offset, x.delta_from_epoch,
           x.kv_delta, x.mamba_state, x.device, x.ipc_handle);
}

// Bytes of K and V rows [from_epoch, to_epoch) over all attention layers;
// nullopt on overflow or when from_epoch > to_epoch.
std::optional<uint64_t> kv_delta_bytes(uint32_t attention_layers, uint32_t kv_row_bytes,
                                       uint64_t from_epoch, uint64_t to_epoch);

// nullopt when the handle is consistent (shape, transport fields, buffer sizes,
// shared memory extents inside the object); otherwise a one-line reason. A
// lessee checks every handle before touching memory it names.
std::optional<std::string> check_cache_handle(const cache_handle& h);

}  // namespace tt::msg
