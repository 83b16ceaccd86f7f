// Shared memory cache handles without actors: the lessee reads the owner's
// rows in place, each K/V row is written once, objects are unlinked when a
// sequence ends, when the owner exits and (at the next start) after a crash.
#include "actors/shm_cache.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/actors/fake_cache.hpp"

namespace tt::actors {
namespace {

using test::FakeCache;
using test::expect_same;

// The owner is this process; the lessee claims another pid on the same node.
Peer owner_peer() { return this_process(); }
Peer lessee_peer() { return Peer{this_process().node, this_process().pid + 1}; }

msg::cache_handle publish(shm::SegmentTable& table, const FakeCache& cache, uint64_t seq) {
  auto h = handle_header(cache.length, cache.shape, owner_peer(), seq);
  std::string error;
  EXPECT_TRUE(table.publish(cache.view(), seq, h, error)) << error;
  return h;
}

TEST(SharedMemory, SameNodeOtherProcessIsChosenAndForcingWorks) {
  const Peer a{"n1", 1}, b{"n1", 2}, c{"n2", 3};
  EXPECT_EQ(choose_transport(a, b), msg::cache_transport::shared_memory);
  EXPECT_EQ(choose_transport(a, a), msg::cache_transport::in_process);
  EXPECT_EQ(choose_transport(a, c), msg::cache_transport::inline_bytes);
  msg::cache_transport t{};
  std::string error;
  EXPECT_TRUE(choose_transport(a, b, TransportPolicy::inline_bytes, t, error));
  EXPECT_EQ(t, msg::cache_transport::inline_bytes);
  EXPECT_TRUE(choose_transport(a, b, TransportPolicy::shared_memory, t, error));
  EXPECT_EQ(t, msg::cache_transport::shared_memory);
  EXPECT_FALSE(choose_transport(a, c, TransportPolicy::shared_memory, t, error));
  EXPECT_NE(error.find("node n2"), std::string::npos) << error;
  TransportPolicy p{};
  EXPECT_TRUE(parse_transport_policy("shm", p));
  EXPECT_EQ(p, TransportPolicy::shared_memory);
  EXPECT_FALSE(parse_transport_policy("tcp", p));
}

TEST(SharedMemory, LesseeReadsTheRowsInPlaceAndEachRowIsWrittenOnce) {
  FakeCache cache;
  shm::SegmentTable table(owner_peer(), cache.shape);
  ReplicaStore replicas(lessee_peer(), cache.shape);
  const uint64_t seq = 3;
  for (int block = 0; block < 30; ++block) {  // 7 + 29 * 4 = 123 rows: the object grows past 64 rows
    cache.grow(block == 0 ? 7 : 4);
    auto h = publish(table, cache, seq);
    EXPECT_EQ(h.transport, msg::cache_transport::shared_memory);
    EXPECT_EQ(msg::check_cache_handle(h), std::nullopt);
    EXPECT_TRUE(h.kv_delta.empty());  // zero K/V bytes in the message
    EXPECT_TRUE(h.mamba_state.empty());
    CacheView w;
    std::string error;
    ASSERT_TRUE(replicas.apply(h, w, error)) << error;
    expect_same(cache, w);
    EXPECT_TRUE(replicas.has(seq));
  }
  // K/V rows once each (2 x layers x rows x row bytes), plus the 63 rows copied again
  // when the object grew past 64 rows; the Mamba state once per publish.
  EXPECT_EQ(table.bytes_written(),
            2u * 2 * (cache.length + 63) * 3 * sizeof(float) + 30 * cache.shape.mamba_bytes());
  EXPECT_EQ(table.size(), 1u);
  replicas.drop(seq);
  EXPECT_FALSE(replicas.has(seq));
}

TEST(SharedMemory, PreviousMambaStateIsNotOverwrittenByTheNextPublish) {
  FakeCache cache;
  shm::SegmentTable table(owner_peer(), cache.shape);
  ReplicaStore replicas(lessee_peer(), cache.shape);
  cache.grow(5);
  auto first = publish(table, cache, 1);
  CacheView w;
  std::string error;
  ASSERT_TRUE(replicas.apply(first, w, error)) << error;
  const float conv0 = w.conv[0][0];
  cache.grow(4);
  auto second = publish(table, cache, 1);
  EXPECT_NE(first.region_mamba_offset, second.region_mamba_offset);
  EXPECT_EQ(w.conv[0][0], conv0);  // a lessee still on the first block reads its own state
}

TEST(SharedMemory, ObjectsAreUnlinkedWhenTheSequenceEndsAndWhenTheOwnerGoes) {
  FakeCache cache;
  cache.grow(9);
  const uint64_t pid = owner_peer().pid;
  const size_t before = shm::objects_of(pid).size();
  {
    shm::SegmentTable table(owner_peer(), cache.shape);
    publish(table, cache, 1);
    publish(table, cache, 2);
    EXPECT_EQ(shm::objects_of(pid).size(), before + 2);
    table.free(1);
    EXPECT_EQ(shm::objects_of(pid).size(), before + 1);
  }
  EXPECT_EQ(shm::objects_of(pid).size(), before);
}

TEST(SharedMemory, ObjectsOfACrashedOwnerAreRemovedAtTheNextStart) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    FakeCache cache;
    cache.grow(3);
    auto* table = new shm::SegmentTable(this_process(), cache.shape);  // never destroyed: a crash
    auto h = handle_header(cache.length, cache.shape, this_process(), 1);
    std::string error;
    _exit(table->publish(cache.view(), 1, h, error) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const uint64_t id = process_id_of(static_cast<uint32_t>(child));
  ASSERT_EQ(shm::objects_of(id).size(), 1u);
  EXPECT_GE(shm::remove_stale_objects(), 1u);
  EXPECT_TRUE(shm::objects_of(id).empty());
}

TEST(SharedMemory, ObjectsOfAnotherPidNamespaceAreNotTakenForStale) {
  // A container sharing /dev/shm with this one (a pod): its pid means nothing here.
  const uint64_t foreign = (static_cast<uint64_t>(pid_namespace_tag(process_id()) ^ 0x5a5a5a5au) << 32) | 999999u;
  FakeCache cache;
  cache.grow(2);
  shm::SegmentTable table(Peer{this_process().node, foreign}, cache.shape);
  publish(table, cache, 1);
  ASSERT_EQ(shm::objects_of(foreign).size(), 1u);
  shm::remove_stale_objects();  // pid 999999 does not run here, but it is not ours to judge
  EXPECT_EQ(shm::objects_of(foreign).size(), 1u);
}

TEST(SharedMemory, HandleNamingAnotherObjectOrNodeIsRefused) {
  FakeCache cache;
  cache.grow(4);
  shm::SegmentTable table(owner_peer(), cache.shape);
  ReplicaStore replicas(lessee_peer(), cache.shape);
  CacheView w;
  std::string error;
  auto h = publish(table, cache, 1);
  auto other = h;
  other.shm_name = "/some-other-object";
  EXPECT_FALSE(replicas.apply(other, w, error));
  EXPECT_NE(error.find("not one of pid"), std::string::npos) << error;
  other = h;
  other.owner_node = "elsewhere";
  EXPECT_FALSE(replicas.apply(other, w, error));
  EXPECT_NE(error.find("node elsewhere"), std::string::npos) << error;
  other = h;
  other.shm_name = shm::prefix_of(h.owner_pid) + "999-0";  // named right, does not exist
  EXPECT_FALSE(replicas.apply(other, w, error));
  EXPECT_NE(error.find("shm_open"), std::string::npos) << error;
  ASSERT_TRUE(replicas.apply(h, w, error)) << error;
  expect_same(cache, w);
}

}  // namespace
}  // namespace tt::actors
