#include "kernels/cpu/thread_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace tt::cpu {
namespace {

struct Chunk {
  int64_t begin, end;
  std::thread::id tid;
};

std::vector<Chunk> record(ThreadPool& pool, int64_t n, int64_t grain, std::vector<int>* counts) {
  std::mutex mu;
  std::vector<Chunk> chunks;
  counts->assign(static_cast<size_t>(std::max<int64_t>(n, 0)), 0);
  std::vector<std::atomic<int>> hits(static_cast<size_t>(std::max<int64_t>(n, 0)));
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        std::lock_guard<std::mutex> lk(mu);
        chunks.push_back({b, e, std::this_thread::get_id()});
      },
      grain);
  for (size_t i = 0; i < hits.size(); ++i) (*counts)[i] = hits[i].load();
  std::sort(chunks.begin(), chunks.end(),
            [](const Chunk& a, const Chunk& b) { return a.begin < b.begin; });
  return chunks;
}

TEST(ThreadPool, SizeCountsTheCaller) {
  ThreadPool p1(1), p3(3);
  EXPECT_EQ(p1.size(), 1);
  EXPECT_EQ(p3.size(), 3);
  ThreadPool pd(0);
  EXPECT_GE(pd.size(), 1);
}

TEST(ThreadPool, EveryIndexExactlyOnceAndGrainAligned) {
  for (int threads : {1, 2, 3, 4, 7}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 5, 16, 17, 100, 1000, 12345})
      for (int64_t grain : {1, 2, 3, 8, 64, 5000}) {
        SCOPED_TRACE("threads=" + std::to_string(threads) + " n=" + std::to_string(n) +
                     " grain=" + std::to_string(grain));
        std::vector<int> counts;
        std::vector<Chunk> chunks = record(pool, n, grain, &counts);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(counts[static_cast<size_t>(i)], 1) << i;
        if (n == 0) {
          EXPECT_TRUE(chunks.empty());
          continue;
        }
        ASSERT_FALSE(chunks.empty());
        EXPECT_LE(static_cast<int>(chunks.size()), threads);
        const int64_t grains = (n + grain - 1) / grain;
        EXPECT_EQ(static_cast<int64_t>(chunks.size()), std::min<int64_t>(threads, grains));
        int64_t expect_begin = 0;
        for (const Chunk& c : chunks) {
          EXPECT_EQ(c.begin, expect_begin);  // contiguous, in order, no overlap
          EXPECT_LT(c.begin, c.end);
          EXPECT_EQ(c.begin % grain, 0);
          EXPECT_TRUE(c.end == n || c.end % grain == 0) << c.end;
          expect_begin = c.end;
        }
        EXPECT_EQ(expect_begin, n);
        // Static partition: sizes (in grains) differ by at most one.
        int64_t lo = INT64_MAX, hi = 0;
        for (const Chunk& c : chunks) {
          const int64_t g = (c.end - c.begin + grain - 1) / grain;
          lo = std::min(lo, g);
          hi = std::max(hi, g);
        }
        EXPECT_LE(hi - lo, 1);
      }
  }
}

TEST(ThreadPool, PartitionIsDeterministic) {
  ThreadPool pool(3);
  std::vector<int> counts;
  auto a = record(pool, 1000, 16, &counts);
  for (int rep = 0; rep < 20; ++rep) {
    auto b = record(pool, 1000, 16, &counts);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].begin, b[i].begin);
      EXPECT_EQ(a[i].end, b[i].end);
    }
  }
}

TEST(ThreadPool, CallerRunsAChunkAndChunksRunConcurrently) {
  ThreadPool pool(4);
  // Every chunk waits until all four have started: this only completes if
  // four different threads run them at the same time.
  std::atomic<int> started{0};
  std::atomic<bool> timed_out{false};
  std::mutex mu;
  std::set<std::thread::id> ids;
  pool.parallel_for(4, [&](int64_t, int64_t) {
    {
      std::lock_guard<std::mutex> lk(mu);
      ids.insert(std::this_thread::get_id());
    }
    started.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (started.load() < 4) {
      if (std::chrono::steady_clock::now() > deadline) {
        timed_out = true;
        break;
      }
      std::this_thread::yield();
    }
  });
  EXPECT_FALSE(timed_out.load());
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));  // the caller ran one
}

TEST(ThreadPool, CallerAlwaysParticipates) {
  ThreadPool pool(3);
  for (int it = 0; it < 200; ++it) {
    std::vector<int> counts;
    auto chunks = record(pool, 3, 1, &counts);
    bool caller = false;
    for (const Chunk& c : chunks) caller |= c.tid == std::this_thread::get_id();
    ASSERT_TRUE(caller);
  }
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  std::atomic<int> bad_thread{0};
  pool.parallel_for(6, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const auto me = std::this_thread::get_id();
      int inner_chunks = 0;
      pool.parallel_for(
          100,
          [&](int64_t ib, int64_t ie) {
            ++inner_chunks;
            if (std::this_thread::get_id() != me) bad_thread.fetch_add(1);
            total.fetch_add(ie - ib);
          },
          7);
      EXPECT_EQ(inner_chunks, 1);  // the whole range, inline
    }
  });
  EXPECT_EQ(total.load(), 600);
  EXPECT_EQ(bad_thread.load(), 0);
}

TEST(ThreadPool, NestedCallOnAnotherPoolAlsoRunsInline) {
  ThreadPool outer(2), inner(2);
  std::atomic<int64_t> total{0};
  outer.parallel_for(2, [&](int64_t, int64_t) {
    inner.parallel_for(50, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  });
  EXPECT_EQ(total.load(), 100);
}

TEST(ThreadPool, ExceptionIsRethrownAndPoolStaysUsable) {
  ThreadPool pool(3);
  for (int thrower : {0, 1, 2}) {
    std::atomic<int> ran{0};
    EXPECT_THROW(pool.parallel_for(3,
                                   [&](int64_t b, int64_t) {
                                     ran.fetch_add(1);
                                     if (b == thrower) throw std::runtime_error("boom");
                                   }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 3);  // the other chunks still ran
  }
  std::vector<int> counts;
  record(pool, 100, 1, &counts);
  for (int c : counts) EXPECT_EQ(c, 1);
}

TEST(ThreadPool, ManySmallJobs) {
  ThreadPool pool(3);
  int64_t sum = 0;
  std::vector<int64_t> part(3);
  for (int it = 0; it < 20000; ++it) {
    std::fill(part.begin(), part.end(), 0);
    pool.parallel_for(3, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) part[static_cast<size_t>(i)] = i + it;
    });
    sum += part[0] + part[1] + part[2];
  }
  int64_t want = 0;
  for (int it = 0; it < 20000; ++it) want += 3 + 3 * it;
  EXPECT_EQ(sum, want);
}

TEST(ThreadPool, ConcurrentCallersDoNotDeadlock) {
  // Documented as one caller at a time; a second concurrent caller runs
  // inline rather than corrupting the job. Results must still be complete.
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  auto body = [&] {
    for (int it = 0; it < 2000; ++it)
      pool.parallel_for(10, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  };
  std::thread t1(body), t2(body);
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 2 * 2000 * 10);
}

TEST(ThreadPool, GlobalPoolAndOverrides) {
  ThreadPool::set_global_threads(3);
  EXPECT_EQ(ThreadPool::global().size(), 3);
  EXPECT_EQ(&ThreadPool::global(), &ThreadPool::global());
  std::vector<int> counts;
  record(ThreadPool::global(), 50, 1, &counts);
  for (int c : counts) EXPECT_EQ(c, 1);

  ASSERT_EQ(setenv("TWOTOWER_THREADS", "5", 1), 0);
  EXPECT_EQ(ThreadPool::default_threads(), 5);
  ThreadPool::set_global_threads(0);  // <= 0: default_threads()
  EXPECT_EQ(ThreadPool::global().size(), 5);
  ASSERT_EQ(setenv("TWOTOWER_THREADS", "garbage", 1), 0);
  const int hw = ThreadPool::default_threads();
  EXPECT_GE(hw, 1);
  ASSERT_EQ(unsetenv("TWOTOWER_THREADS"), 0);
  EXPECT_EQ(ThreadPool::default_threads(), hw);
  ThreadPool::set_global_threads(0);
  EXPECT_EQ(ThreadPool::global().size(), hw);
}

}  // namespace
}  // namespace tt::cpu
