// Shared memory objects of cache snapshots: created, grown and unlinked by the
// owner, mapped read-only by lessees on the same host.
#include "actors/shm_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tt::actors::shm {
namespace {

constexpr uint64_t kMinCapacity = 64;  // rows; grows by doubling

std::string errno_text() { return std::strerror(errno); }

// "/" + entry name, built by appending (GCC 12 warns falsely on operator+ here).
std::string object_name(const char* entry) {
  std::string name("/");
  name.append(entry);
  return name;
}

uint64_t align64(uint64_t n) { return (n + 63) / 64 * 64; }

struct Layout {
  uint64_t row = 0;           // bytes of one K (or V) row
  uint64_t v_offset = 0;      // from a layer's K row 0 to its V row 0
  uint64_t layer_stride = 0;  // from layer l's K row 0 to layer l+1's
  uint64_t mamba_offset = 0;  // slot 0; slot 1 follows after align64(mamba_bytes)
  uint64_t bytes = 0;
};

Layout layout_of(const CacheShape& shape, uint64_t capacity) {
  Layout l;
  l.row = shape.kv_row_floats * sizeof(float);
  l.v_offset = align64(capacity * l.row);
  l.layer_stride = 2 * l.v_offset;
  l.mamba_offset = shape.attention_layers * l.layer_stride;
  l.bytes = l.mamba_offset + 2 * align64(shape.mamba_bytes());
  if (l.bytes == 0) l.bytes = 64;  // mmap refuses empty objects
  return l;
}

}  // namespace

std::string prefix_of(uint64_t pid) { return "/tt-kv-" + std::to_string(pid) + "-"; }

std::vector<std::string> objects_of(uint64_t pid) {
  std::vector<std::string> names;
  const std::string prefix = prefix_of(pid).substr(1);
  if (DIR* dir = opendir("/dev/shm")) {
    while (dirent* e = readdir(dir))
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) names.push_back(object_name(e->d_name));
    closedir(dir);
  }
  return names;
}

size_t remove_stale_objects() {
  size_t removed = 0;
  DIR* dir = opendir("/dev/shm");
  if (!dir) return 0;
  std::vector<std::string> stale;
  const uint32_t ours = pid_namespace_tag(process_id());
  while (dirent* e = readdir(dir)) {
    unsigned long long id = 0;
    if (std::sscanf(e->d_name, "tt-kv-%llu-", &id) != 1 || os_pid(id) == 0) continue;
    // Only objects of this PID namespace: another container's pid means nothing here.
    if (pid_namespace_tag(id) != ours) continue;
    if (::kill(static_cast<pid_t>(os_pid(id)), 0) != 0 && errno == ESRCH) stale.push_back(object_name(e->d_name));
  }
  closedir(dir);
  for (const auto& name : stale)
    if (shm_unlink(name.c_str()) == 0) ++removed;
  return removed;
}

SegmentTable::~SegmentTable() {
  for (auto& [seq, seg] : segments_) {
    unmap(seg);
    shm_unlink(seg.name.c_str());
  }
}

void SegmentTable::unmap(Segment& seg) {
  if (seg.base) munmap(seg.base, seg.bytes);
  seg.base = nullptr;
}

bool SegmentTable::create(uint64_t sequence, uint64_t capacity, uint64_t generation, Segment& seg,
                          std::string& error) {
  const Layout l = layout_of(shape_, capacity);
  seg = Segment{};
  seg.name = prefix_of(owner_.pid) + std::to_string(sequence) + "-" + std::to_string(generation);
  seg.generation = generation;
  seg.capacity = capacity;
  seg.bytes = l.bytes;
  shm_unlink(seg.name.c_str());  // a leftover of an earlier process with our pid
  const int fd = shm_open(seg.name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return error = "shm_open " + seg.name + ": " + errno_text(), false;
  if (ftruncate(fd, static_cast<off_t>(l.bytes)) != 0) {
    error = "ftruncate " + seg.name + " to " + std::to_string(l.bytes) + " bytes: " + errno_text();
    close(fd);
    shm_unlink(seg.name.c_str());
    return false;
  }
  void* p = mmap(nullptr, l.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    error = "mmap " + seg.name + ": " + errno_text();
    shm_unlink(seg.name.c_str());
    return false;
  }
  seg.base = static_cast<uint8_t*>(p);
  return true;
}

bool SegmentTable::publish(const CacheView& view, uint64_t sequence, msg::cache_handle& h, std::string& error) {
  const uint64_t rows = static_cast<uint64_t>(view.length);
  auto it = segments_.find(sequence);
  if (it == segments_.end() || it->second.capacity < rows || it->second.rows > rows) {
    uint64_t capacity = kMinCapacity, generation = 0;
    if (it != segments_.end()) {
      capacity = it->second.capacity;
      generation = it->second.generation + 1;
      unmap(it->second);
      shm_unlink(it->second.name.c_str());
      segments_.erase(it);
    }
    while (capacity < rows) capacity *= 2;
    Segment seg;
    if (!create(sequence, capacity, generation, seg, error)) return false;
    it = segments_.emplace(sequence, std::move(seg)).first;
  }
  Segment& seg = it->second;
  const Layout l = layout_of(shape_, seg.capacity);
  // K/V rows are append-only at the owner: only the new ones are copied.
  const uint64_t from = seg.rows, n = rows - from;
  for (uint32_t a = 0; a < shape_.attention_layers; ++a) {
    uint8_t* k = seg.base + a * l.layer_stride;
    std::memcpy(k + from * l.row, view.k[a] + from * shape_.kv_row_floats, n * l.row);
    std::memcpy(k + l.v_offset + from * l.row, view.v[a] + from * shape_.kv_row_floats, n * l.row);
  }
  bytes_written_ += 2 * shape_.attention_layers * n * l.row;
  seg.rows = rows;
  seg.mamba_slot ^= 1;
  const uint64_t mamba_at = l.mamba_offset + static_cast<uint64_t>(seg.mamba_slot) * align64(shape_.mamba_bytes());
  uint8_t* m = seg.base + mamba_at;
  for (uint32_t s = 0; s < shape_.mamba_layers; ++s) {
    std::memcpy(m, view.conv[s], shape_.conv_floats * sizeof(float));
    m += shape_.conv_floats * sizeof(float);
    std::memcpy(m, view.ssm[s], shape_.ssm_floats * sizeof(float));
    m += shape_.ssm_floats * sizeof(float);
  }
  bytes_written_ += shape_.mamba_bytes();
  h.transport = msg::cache_transport::shared_memory;
  h.shm_name = seg.name;
  h.region_bytes = seg.bytes;
  h.region_kv_offset = 0;
  h.region_kv_layer_stride = l.layer_stride;
  h.region_v_offset = l.v_offset;
  h.region_mamba_offset = mamba_at;
  return true;
}

void SegmentTable::free(uint64_t sequence) {
  auto it = segments_.find(sequence);
  if (it == segments_.end()) return;
  unmap(it->second);
  shm_unlink(it->second.name.c_str());
  segments_.erase(it);
}

MappingTable::~MappingTable() {
  for (auto& [seq, m] : mappings_) munmap(const_cast<uint8_t*>(m.base), m.bytes);
}

void MappingTable::drop(uint64_t sequence) {
  auto it = mappings_.find(sequence);
  if (it == mappings_.end()) return;
  munmap(const_cast<uint8_t*>(it->second.base), it->second.bytes);
  mappings_.erase(it);
}

bool MappingTable::view(const msg::cache_handle& h, const CacheShape& shape, CacheView& out, std::string& error) {
  const std::string what = "shared memory handle of sequence " + std::to_string(h.sequence_id);
  if (h.owner_node != self_.node) return error = what + " is from node " + h.owner_node + ", not this one", false;
  // Only objects named after their owner: a handle cannot make us map anything else.
  const std::string prefix = prefix_of(h.owner_pid);
  if (h.shm_name.compare(0, prefix.size(), prefix) != 0 || h.shm_name.find('/', 1) != std::string::npos)
    return error = what + " names object '" + h.shm_name + "', not one of pid " + std::to_string(h.owner_pid),
           false;
  auto it = mappings_.find(h.sequence_id);
  if (it != mappings_.end() && (it->second.name != h.shm_name || it->second.bytes < h.region_bytes)) {
    drop(h.sequence_id);
    it = mappings_.end();
  }
  if (it == mappings_.end()) {
    const int fd = shm_open(h.shm_name.c_str(), O_RDONLY, 0);
    if (fd < 0) return error = what + ": shm_open " + h.shm_name + ": " + errno_text(), false;
    struct stat st {};
    if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < h.region_bytes) {
      close(fd);
      return error = what + ": object " + h.shm_name + " is smaller than the handle says", false;
    }
    void* p = mmap(nullptr, h.region_bytes, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return error = what + ": mmap " + h.shm_name + ": " + errno_text(), false;
    it = mappings_.emplace(h.sequence_id, Mapping{h.shm_name, static_cast<const uint8_t*>(p), h.region_bytes}).first;
  }
  const uint8_t* base = it->second.base;
  out = CacheView{};
  out.length = static_cast<int>(h.epoch);
  for (uint32_t a = 0; a < h.attention_layers; ++a) {
    const uint8_t* k = base + h.region_kv_offset + a * h.region_kv_layer_stride;
    out.k.push_back(reinterpret_cast<const float*>(k));
    out.v.push_back(reinterpret_cast<const float*>(k + h.region_v_offset));
  }
  const uint8_t* m = base + h.region_mamba_offset;
  for (uint32_t s = 0; s < h.mamba_layers; ++s) {
    out.conv.push_back(reinterpret_cast<const float*>(m));
    m += shape.conv_floats * sizeof(float);
    out.ssm.push_back(reinterpret_cast<const float*>(m));
    m += shape.ssm_floats * sizeof(float);
  }
  return true;
}

}  // namespace tt::actors::shm
