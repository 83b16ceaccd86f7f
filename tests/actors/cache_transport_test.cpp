// The cache transport without actors: delta bookkeeping on the owner side,
// replicas on the lessee side, in-process leases.
#include "actors/cache_transport.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/actors/fake_cache.hpp"

namespace tt::actors {
namespace {

using test::FakeCache;
using test::expect_same;

const Peer owner{"nodeA", 100};
const Peer remote{"nodeB", 200};

TEST(LeaseBook, TracksEpochPerLesseeAndSequence) {
  LeaseBook book;
  EXPECT_EQ(book.epoch_of(1, 7), 0u);
  book.record(1, 7, 16);
  book.record(2, 7, 32);
  book.record(1, 8, 48);
  EXPECT_EQ(book.epoch_of(1, 7), 16u);
  EXPECT_EQ(book.epoch_of(2, 7), 32u);
  book.forget_lessee(1);
  EXPECT_EQ(book.epoch_of(1, 7), 0u);
  EXPECT_EQ(book.epoch_of(1, 8), 0u);
  EXPECT_EQ(book.epoch_of(2, 7), 32u);
  book.record(3, 7, 8);
  auto held = book.forget_sequence(7);
  EXPECT_EQ(held, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(book.size(), 0u);
}

TEST(InlineBytes, StickyLesseeReceivesEachRowOnce) {
  FakeCache cache;
  LeaseBook book;
  ReplicaStore replicas(remote, cache.shape);
  const uint64_t lessee = 5, seq = 9;
  size_t total_kv_bytes = 0;
  for (int block = 0; block < 4; ++block) {
    cache.grow(block == 0 ? 7 : 4);  // prompt, then blocks of 4
    const auto transport = choose_transport(owner, remote);  // other node
    ASSERT_EQ(transport, msg::cache_transport::inline_bytes);
    auto h = make_handle(cache.view(), cache.shape, owner, seq, transport, book.epoch_of(lessee, seq));
    book.record(lessee, seq, h.epoch);
    EXPECT_EQ(msg::check_cache_handle(h), std::nullopt);
    EXPECT_EQ(h.epoch, static_cast<uint64_t>(cache.length));
    EXPECT_EQ(h.delta_from_epoch, block == 0 ? 0u : static_cast<uint64_t>(cache.length - 4));
    EXPECT_EQ(h.mamba_state.size(), cache.shape.mamba_bytes());
    total_kv_bytes += h.kv_delta.size();
    CacheView w;
    std::string error;
    ASSERT_TRUE(replicas.apply(h, w, error)) << error;
    expect_same(cache, w);
    EXPECT_EQ(replicas.epoch_of(seq), h.epoch);
  }
  // Every K/V row crossed once: 2 (K, V) x layers x rows x row bytes.
  EXPECT_EQ(total_kv_bytes, 2u * 2 * cache.length * 3 * sizeof(float));
  replicas.drop(seq);
  EXPECT_FALSE(replicas.has(seq));
}

TEST(InlineBytes, DeltaThatDoesNotFitTheReplicaIsRefusedAndDropsIt) {
  FakeCache cache;
  ReplicaStore replicas(remote, cache.shape);
  cache.grow(5);
  auto h = make_handle(cache.view(), cache.shape, owner, 1, msg::cache_transport::inline_bytes, 0);
  CacheView w;
  std::string error;
  ASSERT_TRUE(replicas.apply(h, w, error)) << error;
  cache.grow(4);
  // The owner believes the lessee has 3 rows; it has 5.
  auto bad = make_handle(cache.view(), cache.shape, owner, 1, msg::cache_transport::inline_bytes, 3);
  EXPECT_FALSE(replicas.apply(bad, w, error));
  EXPECT_NE(error.find("epoch 3"), std::string::npos) << error;
  EXPECT_FALSE(replicas.has(1));
  // Starting over (the owner resets its book) works.
  auto full = make_handle(cache.view(), cache.shape, owner, 1, msg::cache_transport::inline_bytes, 0);
  ASSERT_TRUE(replicas.apply(full, w, error)) << error;
  expect_same(cache, w);
}

TEST(InlineBytes, MalformedHandleIsRefused) {
  FakeCache cache;
  ReplicaStore replicas(remote, cache.shape);
  cache.grow(2);
  auto h = make_handle(cache.view(), cache.shape, owner, 1, msg::cache_transport::inline_bytes, 0);
  h.kv_delta.pop_back();
  CacheView w;
  std::string error;
  EXPECT_FALSE(replicas.apply(h, w, error));
  EXPECT_NE(error.find("kv_delta"), std::string::npos) << error;
  auto other = make_handle(cache.view(), cache.shape, owner, 1, msg::cache_transport::inline_bytes, 0);
  other.kv_row_bytes += 4;
  other.kv_delta.resize(2 * 2 * 2 * (other.kv_row_bytes));
  EXPECT_FALSE(replicas.apply(other, w, error));
}

TEST(Transport, ProcessesOfTwoPidNamespacesAreTwoProcesses) {
  // Two containers of one pod: same host and /dev/shm, both pid 1 in their own namespace.
  const Peer me = this_process();
  EXPECT_EQ(os_pid(me.pid), static_cast<uint32_t>(getpid()));
  EXPECT_EQ(me.pid, process_id());
  const uint32_t tag = pid_namespace_tag(me.pid);
  const Peer a{me.node, (static_cast<uint64_t>(tag) << 32) | 1u};
  const Peer b{me.node, (static_cast<uint64_t>(tag ^ 1u) << 32) | 1u};
  EXPECT_EQ(choose_transport(a, b), msg::cache_transport::shared_memory);
  EXPECT_EQ(choose_transport(a, a), msg::cache_transport::in_process);
  // The node names the host and its /dev/shm: it starts with the host name.
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(me.node.rfind(host, 0), 0u) << me.node;
}

TEST(InProcess, SameProcessGetsThePointersUntilTheLeaseEnds) {
  FakeCache cache;
  cache.grow(3);
  const Peer me = this_process();
  ASSERT_EQ(choose_transport(me, me), msg::cache_transport::in_process);
  const size_t before = in_process::size();
  auto h = make_handle(cache.view(), cache.shape, me, 4, msg::cache_transport::in_process, 0);
  EXPECT_EQ(msg::check_cache_handle(h), std::nullopt);
  EXPECT_TRUE(h.kv_delta.empty());
  EXPECT_EQ(in_process::size(), before + 1);
  ReplicaStore replicas(me, cache.shape);
  CacheView w;
  std::string error;
  ASSERT_TRUE(replicas.apply(h, w, error)) << error;
  EXPECT_EQ(w.k[0], cache.k[0].data());
  EXPECT_FALSE(replicas.has(4));  // no copy kept
  ReplicaStore elsewhere(remote, cache.shape);
  EXPECT_FALSE(elsewhere.apply(h, w, error));
  in_process::erase(h.in_process_token);
  EXPECT_FALSE(replicas.apply(h, w, error));
  EXPECT_EQ(in_process::size(), before);
}

}  // namespace
}  // namespace tt::actors
