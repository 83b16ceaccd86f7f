// Cache snapshots between a context actor and its denoisers: the owner side
// publishes a cache_handle for a block boundary (pointer lease in one process,
// K/V delta + Mamba state as bytes otherwise), the lessee side turns a handle
// back into a CacheView over memory it may read. Plain classes, no actors.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "messages/bytes.hpp"
#include "messages/cache_handle.hpp"
#include "model/cache.hpp"
#include "model/config.hpp"
#include "model/device_region.hpp"

namespace tt::actors {

// Sizes of one sequence's cache, in floats, fixed per model.
struct CacheShape {
  uint32_t attention_layers = 0;
  uint32_t kv_row_floats = 0;  // one token's K row (= its V row) in one layer
  uint32_t mamba_layers = 0;
  uint64_t conv_floats = 0;    // per Mamba layer
  uint64_t ssm_floats = 0;     // per Mamba layer

  static CacheShape of(const ModelConfig& config);
  uint64_t mamba_bytes() const { return mamba_layers * (conv_floats + ssm_floats) * sizeof(float); }
};

// Who reads the snapshot, relative to the owner.
struct Peer {
  std::string node;
  uint64_t pid = 0;
  int device = -1;  // the GPU its caches live on (owner) or it maps them to (lessee), -1: none
  bool nccl = false;  // it can move caches GPU to GPU over NCCL (a channel factory is installed)
};

// The one place the transport of a pair of actors is chosen: same process ->
// in_process; same node -> cuda_ipc when both sides are on GPUs (the cache
// never leaves device memory), else shared_memory (zero copy); other nodes ->
// nccl when both sides are on GPUs with NCCL (GPU to GPU), else inline_bytes.
msg::cache_transport choose_transport(const Peer& owner, const Peer& lessee);

// What the operator asked for (`--transport`); auto is choose_transport.
enum class TransportPolicy : uint8_t { automatic, shared_memory, inline_bytes, cuda_ipc, nccl };

// "auto" | "shm" | "inline" | "cuda-ipc" | "nccl" -> policy; false when the text is none of them.
bool parse_transport_policy(const std::string& text, TransportPolicy& out);
// The accepted policy names, for help texts and errors.
inline constexpr const char* kTransportPolicies = "auto, shm, inline, cuda-ipc or nccl";

// choose_transport under a forced policy; false with `error` when the policy
// cannot hold for this pair (shared memory or CUDA IPC across nodes, NCCL
// within a process, a GPU transport without GPUs (and NCCL) on both sides).
bool choose_transport(const Peer& owner, const Peer& lessee, TransportPolicy policy, msg::cache_transport& out,
                      std::string& error);

// This process as a Peer. node: the host name, plus a tag of the boot and the
// /dev/shm instance where they can be read ("host~1a2b3c4d"), so that two
// containers or pods of one host that do not share /dev/shm are two nodes (shared
// memory between them would fail) and the containers of one pod, which do, are one.
// pid: process_id().
Peer this_process();

// This process's id on the wire: the pid in the low 32 bits, a tag of its PID
// namespace in the high 32, so that processes of two containers that both run
// as pid 1 are not taken for one process (which would pick the in-process transport).
uint64_t process_id();
inline uint32_t os_pid(uint64_t process_id) { return static_cast<uint32_t>(process_id); }
inline uint32_t pid_namespace_tag(uint64_t process_id) { return static_cast<uint32_t>(process_id >> 32); }
// The id of process `pid` of this process's PID namespace (a child, say).
inline uint64_t process_id_of(uint32_t pid) { return (process_id() & ~uint64_t{0xffffffffu}) | pid; }

// In-process leases: a token names a CacheView the owner keeps valid until it
// erases the token (ContextCore does not extend a cache while a job reads it).
namespace in_process {
uint64_t put(const CacheView& view);
bool get(uint64_t token, CacheView& out);
void erase(uint64_t token);
size_t size();
}  // namespace in_process

// Owner side: the epoch each lessee last received of each sequence, so that a
// sticky lessee gets each K/V row once.
class LeaseBook {
public:
  // Rows the lessee already has of the sequence (0 when it has none).
  uint64_t epoch_of(uint64_t lessee, uint64_t sequence) const;
  void record(uint64_t lessee, uint64_t sequence, uint64_t epoch);
  // The lessee is down (or lost track): it has nothing of any sequence.
  void forget_lessee(uint64_t lessee);
  // The sequence ended: no lessee keeps it. Returns the lessees that held it.
  std::vector<uint64_t> forget_sequence(uint64_t sequence);
  size_t size() const { return epochs_.size(); }

private:
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> epochs_;  // (lessee, sequence) -> epoch
};

// Owner side: the identity and shape fields of the handle of a sequence's cache of `epoch`
// rows (no transport fields).
msg::cache_handle handle_header(uint64_t epoch, const CacheShape& shape, const Peer& owner, uint64_t sequence);

// Owner side: the cuda_ipc handle of a sequence's device cache `region`.
msg::cache_handle region_handle(const DeviceRegion& region, const CacheShape& shape, const Peer& owner,
                                uint64_t sequence);

// Owner side: the nccl handle of a sequence's cache of `epoch` rows on GPU `device`,
// for a lessee that has rows [0, from_epoch) already; the bytes follow over the
// pair's channel (ContextCore::send_rows).
msg::cache_handle nccl_handle(uint64_t epoch, int device, const CacheShape& shape, const Peer& owner,
                              uint64_t sequence, uint64_t from_epoch);

// Owner side: the handle of `view` (a sequence's cache at a block boundary) for
// a lessee that has rows [0, from_epoch) already. in_process registers a lease.
msg::cache_handle make_handle(const CacheView& view, const CacheShape& shape, const Peer& owner,
                              uint64_t sequence, msg::cache_transport transport, uint64_t from_epoch);

namespace shm {
class MappingTable;
}

// Lessee side: per-sequence replicas built from inline_bytes handles (K/V rows
// appended, Mamba state replaced), read-only mappings of shared_memory
// handles, device mappings of cuda_ipc handles (through `reader`, which a
// denoiser on a GPU has), and lookups of in-process leases.
class ReplicaStore {
public:
  ReplicaStore(Peer self, CacheShape shape, std::unique_ptr<DeviceCacheReader> reader = nullptr);
  ~ReplicaStore();
  // Checks the handle and returns a view valid until the next apply() or drop()
  // of the same sequence; on failure `error` says why and the replica is dropped.
  bool apply(const msg::cache_handle& handle, CacheView& out, std::string& error);
  void drop(uint64_t sequence);
  // The handle is refused before apply() (or by it): drops the sequence's replica, and ends the
  // NCCL channel when the handle's bytes were coming over it (they would put it out of step).
  void refuse(const msg::cache_handle& h);
  // A replica (inline_bytes) or a mapping (shared_memory) of the sequence is held.
  bool has(uint64_t sequence) const;
  uint64_t epoch_of(uint64_t sequence) const;
  size_t size() const { return replicas_.size(); }
  // The GPU cuda_ipc handles are mapped to, -1 when this store takes none.
  int device() const { return reader_ ? reader_->device() : -1; }
  // The NCCL channel to the owner over which nccl handles' bytes come (after nccl_join).
  void set_channel(std::unique_ptr<CacheChannel> channel) { channel_ = std::move(channel); }
  void abort_channel() {
    if (channel_) channel_->abort();
  }

private:
  struct Replica {
    uint64_t epoch = 0;
    std::vector<std::vector<float>> k, v;        // per attention layer, epoch rows
    std::vector<std::vector<float>> conv, ssm;   // per Mamba layer
  };
  Peer self_;
  CacheShape shape_;
  std::map<uint64_t, Replica> replicas_;
  std::unique_ptr<shm::MappingTable> mappings_;
  std::unique_ptr<DeviceCacheReader> reader_;
  std::set<uint64_t> imported_;  // sequences with a cuda_ipc mapping or an nccl mirror
  std::unique_ptr<CacheChannel> channel_;

  // Drops what other transports hold of the sequence; false with `error` without a reader.
  bool takes_device_handle(const msg::cache_handle& h, std::string& error);
  bool apply_region(const msg::cache_handle& h, CacheView& out, std::string& error);
  bool apply_nccl(const msg::cache_handle& h, CacheView& out, std::string& error);
};

}  // namespace tt::actors
