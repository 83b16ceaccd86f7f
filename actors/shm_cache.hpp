// Same-host cache handles (cache_transport::shared_memory): the owner mirrors
// each sequence's K/V rows (each row written once) and its Mamba state at the
// block boundary into a POSIX shared memory object; a lessee maps the object
// read-only and reads the rows in place. No K/V byte crosses the connection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/cache_transport.hpp"

namespace tt::actors::shm {

// Every object of owner `pid` is named "/tt-kv-<pid>-<sequence>-<generation>".
std::string prefix_of(uint64_t pid);

// Unlinks the objects of owners that no longer run (a context killed with
// SIGKILL cannot unlink its own). Returns how many it removed.
size_t remove_stale_objects();

// Names of the objects of owner `pid` that exist now (tests, diagnostics).
std::vector<std::string> objects_of(uint64_t pid);

// Owner side: one object per live sequence. Layout for a capacity of C rows:
// attention layer l's K rows at l * 2 * C * row, its V rows C * row further,
// then two Mamba slots (published alternately, so a lessee still reading the
// previous block's state is not overwritten under it). An object that is too
// small is replaced by one twice the size under the next generation's name.
class SegmentTable {
public:
  SegmentTable(Peer owner, CacheShape shape) : owner_(std::move(owner)), shape_(shape) {}
  ~SegmentTable();
  SegmentTable(const SegmentTable&) = delete;
  SegmentTable& operator=(const SegmentTable&) = delete;

  // Writes the rows of `view` not yet in the object and the Mamba state, and
  // fills the handle's shared memory fields; false with `error` (e.g. /dev/shm full).
  bool publish(const CacheView& view, uint64_t sequence, msg::cache_handle& h, std::string& error);
  // The sequence ended: unmap and unlink its object (lessees keep their mappings).
  void free(uint64_t sequence);
  size_t size() const { return segments_.size(); }
  // Bytes this side copied into shared memory (K/V rows once each, Mamba state per publish).
  uint64_t bytes_written() const { return bytes_written_; }

private:
  struct Segment {
    std::string name;
    uint8_t* base = nullptr;
    uint64_t bytes = 0;
    uint64_t capacity = 0;  // rows per layer
    uint64_t rows = 0;      // rows written per layer
    uint64_t generation = 0;
    int mamba_slot = 0;
  };
  bool create(uint64_t sequence, uint64_t capacity, uint64_t generation, Segment& seg, std::string& error);
  static void unmap(Segment& seg);

  Peer owner_;
  CacheShape shape_;
  std::map<uint64_t, Segment> segments_;
  uint64_t bytes_written_ = 0;
};

// Lessee side: read-only mappings, one per sequence (the newest object it was handed).
class MappingTable {
public:
  explicit MappingTable(Peer self) : self_(std::move(self)) {}
  ~MappingTable();
  MappingTable(const MappingTable&) = delete;
  MappingTable& operator=(const MappingTable&) = delete;

  // `h` must have passed msg::check_cache_handle. Maps its object (or reuses
  // the mapping) and points `out` into it; false with `error` otherwise.
  bool view(const msg::cache_handle& h, const CacheShape& shape, CacheView& out, std::string& error);
  void drop(uint64_t sequence);
  bool holds(uint64_t sequence) const { return mappings_.count(sequence) != 0; }
  size_t size() const { return mappings_.size(); }

private:
  struct Mapping {
    std::string name;
    const uint8_t* base = nullptr;
    uint64_t bytes = 0;
  };
  Peer self_;
  std::map<uint64_t, Mapping> mappings_;
};

}  // namespace tt::actors::shm
