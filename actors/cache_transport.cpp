// Cache handles: publishing snapshots (owner) and reading them back (lessee).
#include "actors/cache_transport.hpp"

#include "actors/shm_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>

namespace tt::actors {

CacheShape CacheShape::of(const ModelConfig& c) {
  LayerSlots slots(c);
  CacheShape s;
  s.attention_layers = static_cast<uint32_t>(slots.attention);
  s.kv_row_floats = static_cast<uint32_t>(c.num_key_value_heads * c.head_dim);
  s.mamba_layers = static_cast<uint32_t>(slots.mamba);
  s.conv_floats = static_cast<uint64_t>(c.conv_kernel - 1) * c.conv_dim();
  s.ssm_floats = static_cast<uint64_t>(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size;
  return s;
}

msg::cache_transport choose_transport(const Peer& owner, const Peer& lessee) {
  if (owner.node != lessee.node)
    return owner.device >= 0 && lessee.device >= 0 && owner.nccl && lessee.nccl ? msg::cache_transport::nccl
                                                                                  : msg::cache_transport::inline_bytes;
  if (owner.pid == lessee.pid) return msg::cache_transport::in_process;
  return owner.device >= 0 && lessee.device >= 0 ? msg::cache_transport::cuda_ipc : msg::cache_transport::shared_memory;
}

bool parse_transport_policy(const std::string& text, TransportPolicy& out) {
  if (text == "auto") return out = TransportPolicy::automatic, true;
  if (text == "shm") return out = TransportPolicy::shared_memory, true;
  if (text == "inline") return out = TransportPolicy::inline_bytes, true;
  if (text == "cuda-ipc") return out = TransportPolicy::cuda_ipc, true;
  if (text == "nccl") return out = TransportPolicy::nccl, true;
  return false;
}

bool choose_transport(const Peer& owner, const Peer& lessee, TransportPolicy policy, msg::cache_transport& out,
                      std::string& error) {
  switch (policy) {
    case TransportPolicy::automatic: out = choose_transport(owner, lessee); return true;
    case TransportPolicy::inline_bytes: out = msg::cache_transport::inline_bytes; return true;
    case TransportPolicy::shared_memory:
      if (owner.node != lessee.node) {
        error = "shared memory transport forced, but the denoiser is on node " + lessee.node + ", not " + owner.node;
        return false;
      }
      out = msg::cache_transport::shared_memory;
      return true;
    case TransportPolicy::cuda_ipc:
      if (owner.node != lessee.node || owner.pid == lessee.pid) {
        error = "CUDA IPC transport forced, but the denoiser is " +
                (owner.node != lessee.node ? "on node " + lessee.node + ", not " + owner.node : "in this process");
        return false;
      }
      if (owner.device < 0 || lessee.device < 0) {
        error = std::string("CUDA IPC transport forced, but the ") + (owner.device < 0 ? "context" : "denoiser") +
                " does not run on a GPU (--device)";
        return false;
      }
      out = msg::cache_transport::cuda_ipc;
      return true;
    case TransportPolicy::nccl:
      if (owner.node == lessee.node && owner.pid == lessee.pid) {
        error = "NCCL transport forced, but the denoiser is in this process";
        return false;
      }
      if (owner.device < 0 || lessee.device < 0 || !owner.nccl || !lessee.nccl) {
        error = std::string("NCCL transport forced, but the ") + (owner.device < 0 || !owner.nccl ? "context" : "denoiser") +
                " does not run on a GPU with NCCL (--device; libnccl.so.2)";
        return false;
      }
      out = msg::cache_transport::nccl;
      return true;
  }
  error = "unknown transport policy";
  return false;
}

namespace {

uint32_t fnv1a(const std::string& text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  return h;
}

std::string read_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "host~tag": the tag hashes the boot id and the identity of /dev/shm (device, inode).
std::string node_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  struct stat shm {};
  const std::string boot = read_line("/proc/sys/kernel/random/boot_id");
  if (boot.empty() || stat("/dev/shm", &shm) != 0) return host;
  char tag[16];
  std::snprintf(tag, sizeof tag, "~%08x",
                fnv1a(boot + ":" + std::to_string(shm.st_dev) + ":" + std::to_string(shm.st_ino)));
  return std::string(host) + tag;
}

// A tag of this process's PID namespace: its inode names it on this host ("pid:[4026531836]").
uint32_t pid_namespace() {
  char link[64] = {};
  const ssize_t n = readlink("/proc/self/ns/pid", link, sizeof link - 1);
  return n > 0 ? fnv1a(std::string(link, static_cast<size_t>(n))) : 0;
}

}  // namespace

uint64_t process_id() {
  // The namespace is read once; the pid is not cached (a forked child has its own).
  static const uint32_t ns = pid_namespace();
  return (static_cast<uint64_t>(ns) << 32) | static_cast<uint32_t>(getpid());
}

Peer this_process() {
  static const std::string node = node_name();
  return Peer{node, process_id()};
}

namespace in_process {
namespace {
std::mutex mutex;
std::map<uint64_t, CacheView> leases;
uint64_t next_token = 1;
}  // namespace

uint64_t put(const CacheView& view) {
  std::lock_guard lock(mutex);
  const uint64_t token = next_token++;
  leases.emplace(token, view);
  return token;
}

bool get(uint64_t token, CacheView& out) {
  std::lock_guard lock(mutex);
  auto it = leases.find(token);
  if (it == leases.end()) return false;
  out = it->second;
  return true;
}

void erase(uint64_t token) {
  std::lock_guard lock(mutex);
  leases.erase(token);
}

size_t size() {
  std::lock_guard lock(mutex);
  return leases.size();
}
}  // namespace in_process

uint64_t LeaseBook::epoch_of(uint64_t lessee, uint64_t sequence) const {
  auto it = epochs_.find({lessee, sequence});
  return it == epochs_.end() ? 0 : it->second;
}

void LeaseBook::record(uint64_t lessee, uint64_t sequence, uint64_t epoch) { epochs_[{lessee, sequence}] = epoch; }

void LeaseBook::forget_lessee(uint64_t lessee) {
  for (auto it = epochs_.begin(); it != epochs_.end();)
    it = it->first.first == lessee ? epochs_.erase(it) : std::next(it);
}

std::vector<uint64_t> LeaseBook::forget_sequence(uint64_t sequence) {
  std::vector<uint64_t> held;
  for (auto it = epochs_.begin(); it != epochs_.end();) {
    if (it->first.second == sequence) {
      held.push_back(it->first.first);
      it = epochs_.erase(it);
    } else {
      ++it;
    }
  }
  return held;
}

namespace {

void append_floats(msg::bytes& out, const float* src, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(src);
  out.insert(out.end(), p, p + n * sizeof(float));
}

void read_floats(const uint8_t*& src, std::vector<float>& dst, size_t n) {
  const size_t old = dst.size();
  dst.resize(old + n);
  std::memcpy(dst.data() + old, src, n * sizeof(float));
  src += n * sizeof(float);
}

}  // namespace

msg::cache_handle handle_header(uint64_t epoch, const CacheShape& shape, const Peer& owner, uint64_t sequence) {
  msg::cache_handle h;
  h.owner_node = owner.node;
  h.owner_pid = owner.pid;
  h.sequence_id = sequence;
  h.epoch = epoch;
  h.attention_layers = shape.attention_layers;
  h.kv_row_bytes = static_cast<uint32_t>(shape.kv_row_floats * sizeof(float));
  h.mamba_layers = shape.mamba_layers;
  h.mamba_bytes = shape.mamba_bytes();
  return h;
}

msg::cache_handle region_handle(const DeviceRegion& region, const CacheShape& shape, const Peer& owner,
                                uint64_t sequence) {
  msg::cache_handle h = handle_header(static_cast<uint64_t>(region.length), shape, owner, sequence);
  h.transport = msg::cache_transport::cuda_ipc;
  h.device = region.device;
  h.ipc_handle.assign(region.ipc.begin(), region.ipc.end());
  h.region_bytes = region.bytes;
  h.region_kv_offset = region.kv_offset;
  h.region_kv_layer_stride = region.kv_layer_stride;
  h.region_v_offset = region.v_offset;
  h.region_mamba_offset = region.mamba_offset;
  return h;
}

msg::cache_handle nccl_handle(uint64_t epoch, int device, const CacheShape& shape, const Peer& owner,
                              uint64_t sequence, uint64_t from_epoch) {
  msg::cache_handle h = handle_header(epoch, shape, owner, sequence);
  h.transport = msg::cache_transport::nccl;
  h.device = device;
  h.delta_from_epoch = from_epoch > epoch ? 0 : from_epoch;  // the lessee is ahead of us: start over
  return h;
}

msg::cache_handle make_handle(const CacheView& view, const CacheShape& shape, const Peer& owner,
                              uint64_t sequence, msg::cache_transport transport, uint64_t from_epoch) {
  msg::cache_handle h = handle_header(static_cast<uint64_t>(view.length), shape, owner, sequence);
  h.transport = transport;
  switch (transport) {
    case msg::cache_transport::in_process: h.in_process_token = in_process::put(view); break;
    case msg::cache_transport::shared_memory:
    case msg::cache_transport::cuda_ipc:
    case msg::cache_transport::nccl:
      // Published through shm::SegmentTable, region_handle or nccl_handle; carried as bytes when asked here.
      h.transport = msg::cache_transport::inline_bytes;
      [[fallthrough]];
    case msg::cache_transport::inline_bytes: {
      if (from_epoch > h.epoch) from_epoch = 0;  // the lessee is ahead of us: start over
      h.delta_from_epoch = from_epoch;
      const size_t rows = h.epoch - from_epoch, row = shape.kv_row_floats;
      h.kv_delta.reserve(2 * shape.attention_layers * rows * row * sizeof(float));
      for (uint32_t l = 0; l < shape.attention_layers; ++l) {
        append_floats(h.kv_delta, view.k[l] + from_epoch * row, rows * row);
        append_floats(h.kv_delta, view.v[l] + from_epoch * row, rows * row);
      }
      h.mamba_state.reserve(h.mamba_bytes);
      for (uint32_t l = 0; l < shape.mamba_layers; ++l) {
        append_floats(h.mamba_state, view.conv[l], shape.conv_floats);
        append_floats(h.mamba_state, view.ssm[l], shape.ssm_floats);
      }
      break;
    }
  }
  return h;
}

ReplicaStore::ReplicaStore(Peer self, CacheShape shape, std::unique_ptr<DeviceCacheReader> reader)
    : self_(std::move(self)),
      shape_(shape),
      mappings_(std::make_unique<shm::MappingTable>(self_)),
      reader_(std::move(reader)) {}

ReplicaStore::~ReplicaStore() = default;

void ReplicaStore::drop(uint64_t sequence) {
  replicas_.erase(sequence);
  mappings_->drop(sequence);
  if (reader_) reader_->drop(sequence);
  imported_.erase(sequence);
}

bool ReplicaStore::has(uint64_t sequence) const {
  return replicas_.count(sequence) != 0 || mappings_->holds(sequence) || imported_.count(sequence) != 0;
}

uint64_t ReplicaStore::epoch_of(uint64_t sequence) const {
  auto it = replicas_.find(sequence);
  return it == replicas_.end() ? 0 : it->second.epoch;
}

void ReplicaStore::refuse(const msg::cache_handle& h) {
  replicas_.erase(h.sequence_id);
  // Its bytes are on their way over the channel, and nobody will take them off it: the channel
  // is out of step for good. Ending it makes the owner fall back to bytes.
  if (h.transport == msg::cache_transport::nccl && channel_) {
    channel_->abort();
    channel_.reset();
  }
}

bool ReplicaStore::apply(const msg::cache_handle& h, CacheView& out, std::string& error) {
  if (auto problem = msg::check_cache_handle(h)) {
    error = *problem;
    refuse(h);
    return false;
  }
  if (h.attention_layers != shape_.attention_layers || h.kv_row_bytes != shape_.kv_row_floats * sizeof(float) ||
      h.mamba_layers != shape_.mamba_layers || h.mamba_bytes != shape_.mamba_bytes()) {
    error = "cache handle of sequence " + std::to_string(h.sequence_id) +
            ": its cache shape does not match this denoiser's model";
    refuse(h);
    return false;
  }
  switch (h.transport) {
    case msg::cache_transport::in_process:
      if (h.owner_node != self_.node || h.owner_pid != self_.pid || !in_process::get(h.in_process_token, out)) {
        error = "in-process cache handle of sequence " + std::to_string(h.sequence_id) +
                " is not from this process or no longer leased";
        return false;
      }
      return true;
    case msg::cache_transport::shared_memory:
      replicas_.erase(h.sequence_id);
      if (!mappings_->view(h, shape_, out, error)) {
        mappings_->drop(h.sequence_id);
        return false;
      }
      return true;
    case msg::cache_transport::cuda_ipc: return apply_region(h, out, error);
    case msg::cache_transport::nccl: return apply_nccl(h, out, error);
    case msg::cache_transport::inline_bytes: break;
  }
  Replica& r = replicas_[h.sequence_id];
  if (h.delta_from_epoch == 0) r = Replica{};
  if (r.k.empty()) {
    r.k.resize(shape_.attention_layers);
    r.v.resize(shape_.attention_layers);
    r.conv.resize(shape_.mamba_layers);
    r.ssm.resize(shape_.mamba_layers);
  }
  if (h.delta_from_epoch != r.epoch) {
    error = "cache handle of sequence " + std::to_string(h.sequence_id) + " carries rows from epoch " +
            std::to_string(h.delta_from_epoch) + " but this denoiser has " + std::to_string(r.epoch);
    replicas_.erase(h.sequence_id);
    return false;
  }
  const size_t rows = h.epoch - h.delta_from_epoch, row = shape_.kv_row_floats;
  const uint8_t* p = h.kv_delta.data();
  for (uint32_t l = 0; l < shape_.attention_layers; ++l) {
    read_floats(p, r.k[l], rows * row);
    read_floats(p, r.v[l], rows * row);
  }
  p = h.mamba_state.data();
  for (uint32_t l = 0; l < shape_.mamba_layers; ++l) {
    r.conv[l].clear();
    r.ssm[l].clear();
    read_floats(p, r.conv[l], shape_.conv_floats);
    read_floats(p, r.ssm[l], shape_.ssm_floats);
  }
  r.epoch = h.epoch;
  out = CacheView{};
  out.length = static_cast<int>(r.epoch);
  for (uint32_t l = 0; l < shape_.attention_layers; ++l) {
    out.k.push_back(r.k[l].data());
    out.v.push_back(r.v[l].data());
  }
  for (uint32_t l = 0; l < shape_.mamba_layers; ++l) {
    out.conv.push_back(r.conv[l].data());
    out.ssm.push_back(r.ssm[l].data());
  }
  return true;
}

bool ReplicaStore::takes_device_handle(const msg::cache_handle& h, std::string& error) {
  replicas_.erase(h.sequence_id);  // a sequence's bytes come one way at a time
  mappings_->drop(h.sequence_id);
  if (reader_) return true;
  error = msg::to_string(h.transport) + " cache handle of sequence " + std::to_string(h.sequence_id) +
          ", but this denoiser does not run on a GPU (--device)";
  return false;
}

bool ReplicaStore::apply_region(const msg::cache_handle& h, CacheView& out, std::string& error) {
  if (!takes_device_handle(h, error)) return false;
  const std::string what = "cuda_ipc cache handle of sequence " + std::to_string(h.sequence_id);
  if (h.owner_node != self_.node)
    return error = what + " from node " + h.owner_node + ": CUDA IPC works within one node", false;
  DeviceRegion r;
  r.device = h.device;
  std::copy(h.ipc_handle.begin(), h.ipc_handle.end(), r.ipc.begin());  // 64 bytes: checked
  r.bytes = h.region_bytes;
  r.kv_offset = h.region_kv_offset;
  r.kv_layer_stride = h.region_kv_layer_stride;
  r.v_offset = h.region_v_offset;
  r.mamba_offset = h.region_mamba_offset;
  r.length = static_cast<int>(h.epoch);
  if (!reader_->map_region(h.sequence_id, r, out, error)) {
    imported_.erase(h.sequence_id);
    return false;
  }
  imported_.insert(h.sequence_id);
  return true;
}

bool ReplicaStore::apply_nccl(const msg::cache_handle& h, CacheView& out, std::string& error) {
  if (!takes_device_handle(h, error)) return false;
  if (!channel_)
    return error = "nccl cache handle of sequence " + std::to_string(h.sequence_id) +
                   ", but no NCCL channel to its owner was joined",
           false;
  if (!reader_->receive(h.sequence_id, static_cast<int>(h.delta_from_epoch), static_cast<int>(h.epoch), *channel_,
                        out, error)) {
    imported_.erase(h.sequence_id);
    return false;
  }
  imported_.insert(h.sequence_id);
  return true;
}

}  // namespace tt::actors
