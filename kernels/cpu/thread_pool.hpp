// A small fork-join thread pool: the CPU kernels split work over output
// columns/rows with it. Partitioning never changes a reduction order, so
// results do not depend on the thread count.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tt::cpu {

class ThreadPool {
public:
  // n_threads <= 0 picks std::thread::hardware_concurrency() (bounded by the
  // process's CPU affinity mask); at most 1024. The pool has n_threads - 1
  // persistent workers; the thread calling parallel_for is the n-th.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over a static partition of [0, n) into at most
  // size() contiguous chunks (the calling thread runs one of them) and
  // returns when all are done. Chunks are aligned to `grain`.
  // Safe to call from one thread at a time; nested calls run inline.
  //
  // Details:
  //  * The partition depends only on (n, grain, size()): chunk c covers
  //    grains [c*G/C, (c+1)*G/C) of the G = ceil(n/grain) grains, C =
  //    min(size(), G). Every begin is a multiple of grain; only the last
  //    chunk's end may be n rather than a multiple of grain.
  //  * The caller runs chunk 0; the workers claim the others in order at run
  //    time, and the caller, once free, runs every chunk no worker has
  //    claimed yet, so a descheduled worker (busy machine) does not stall the
  //    call. Each chunk still runs exactly once, on one thread.
  //  * A call made from inside a running chunk (of any pool), or while
  //    another thread is using this pool, runs fn(0, n) inline on the
  //    calling thread instead of deadlocking.
  //  * fn should not throw. If it does, the other chunks still run to
  //    completion and the first exception caught is rethrown to the caller.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                    int64_t grain = 1);

  // The process-wide pool used by the kernels. Sized, on first use, from the
  // environment variable TWOTOWER_THREADS (a positive integer) if set, else
  // from the hardware concurrency.
  static ThreadPool& global();
  // Replaces the global pool (call before any kernel runs, e.g. from --threads).
  // n_threads <= 0 means default_threads(). References obtained from
  // global() before this call become dangling.
  static void set_global_threads(int n_threads);

  // The thread count global() would pick now (env override or hardware).
  static int default_threads();

private:
  void worker_loop(int index);
  void run_chunk(int chunk) noexcept;
  // Claims and runs chunks of job `gen` (of `chunks`) until none is left.
  void run_claimed(uint64_t gen, int chunks) noexcept;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_grain_ = 1;
  int job_chunks_ = 0;
  // generation_ and pending_ are written under mutex_; they are atomics so
  // that threads can spin on them briefly before sleeping.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // chunks of the current job not finished yet
  // (generation << 16) | next chunk to hand out; claims only succeed for the
  // generation the claimer saw, so a late worker cannot take a newer job's
  // chunk with an older job's view.
  std::atomic<uint64_t> claim_{0};
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex call_mutex_;  // held by the thread currently running a job
};

}  // namespace tt::cpu
