#include "kernels/cpu/thread_pool.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>

#if defined(__linux__)
#include <sched.h>
#endif

namespace tt::cpu {

namespace {

// True while the current thread runs a chunk of some parallel_for.
thread_local bool t_in_parallel = false;

// How long an idle thread spins before it sleeps on a condition variable.
// Decoding issues many short kernels back to back; spinning for a few tens of
// microseconds lets the workers pick the next one up without a futex wake-up.
// The spin yields between bursts: on an oversubscribed machine a thread that
// pure-spins loses its wake-up priority and then waits a whole time slice.
constexpr auto kSpin = std::chrono::microseconds(20);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Spins until pred() holds or kSpin has passed; returns pred().
template <typename Pred>
bool spin_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    std::this_thread::yield();
    if (std::chrono::steady_clock::now() >= deadline) return pred();
  }
}

int hardware_threads() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int c = CPU_COUNT(&set);
    if (c > 0) return c;
  }
#endif
  unsigned h = std::thread::hardware_concurrency();
  return h > 0 ? static_cast<int>(h) : 1;
}

// Chunk c of a partition of [0, n) into `chunks` grain-aligned pieces.
inline void chunk_range(int64_t n, int64_t grain, int chunks, int c, int64_t* begin,
                        int64_t* end) {
  const int64_t grains = (n + grain - 1) / grain;
  const int64_t g0 = grains * c / chunks;
  const int64_t g1 = grains * (c + 1) / chunks;
  *begin = std::min(n, g0 * grain);
  *end = std::min(n, g1 * grain);
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = hardware_threads();
  n_threads = std::min(n_threads, 1024);  // chunk indices are claimed in 16 bits
  workers_.reserve(static_cast<size_t>(n_threads - 1));
  for (int i = 0; i + 1 < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mutex_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int chunk) noexcept {
  int64_t b, e;
  chunk_range(job_n_, job_grain_, job_chunks_, chunk, &b, &e);
  if (b >= e) return;
  const bool was = t_in_parallel;
  t_in_parallel = true;
  try {
    (*job_)(b, e);
  } catch (...) {
    std::lock_guard<std::mutex> lk(mutex_);
    if (!error_) error_ = std::current_exception();
  }
  t_in_parallel = was;
}

void ThreadPool::run_claimed(uint64_t gen, int chunks) noexcept {
  uint64_t v = claim_.load(std::memory_order_acquire);
  for (;;) {
    if ((v >> 16) != (gen & 0xffffffffffffull)) return;  // a newer job
    const int c = static_cast<int>(v & 0xffffu);
    if (c >= chunks) return;
    if (!claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;  // v reloaded
    run_chunk(c);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Take the lock so the notification cannot slip in between the
      // caller's predicate check and its wait.
      std::lock_guard<std::mutex> lk(mutex_);
      done_cv_.notify_one();
    }
    v = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Wait for a new generation: spin a little, then sleep.
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    int chunks;
    {
      std::unique_lock<std::mutex> lk(mutex_);
      start_cv_.wait(lk, [&] {
        return stop_ || generation_.load(std::memory_order_relaxed) != seen;
      });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
      chunks = job_chunks_;
    }
    if (index + 1 >= chunks) continue;  // more threads than chunks: sit out
    run_claimed(seen, chunks);
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t grains = (n + grain - 1) / grain;
  const int chunks = static_cast<int>(std::min<int64_t>(size(), grains));

  auto run_inline = [&] {
    const bool was = t_in_parallel;
    t_in_parallel = true;
    struct Restore {
      bool v;
      ~Restore() { t_in_parallel = v; }
    } restore{was};
    fn(0, n);
  };
  if (chunks <= 1 || t_in_parallel) return run_inline();
  std::unique_lock<std::mutex> busy(call_mutex_, std::try_to_lock);
  if (!busy.owns_lock()) return run_inline();  // another thread is using the pool

  uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_grain_ = grain;
    job_chunks_ = chunks;
    error_ = nullptr;
    pending_.store(chunks, std::memory_order_relaxed);
    gen = generation_.load(std::memory_order_relaxed) + 1;
    // Chunk 0 is reserved for the caller; the workers claim from chunk 1.
    claim_.store(((gen & 0xffffffffffffull) << 16) | 1u, std::memory_order_release);
    generation_.store(gen, std::memory_order_release);
  }
  start_cv_.notify_all();

  // The caller runs chunk 0, then any chunk no worker has picked up yet.
  run_chunk(0);
  pending_.fetch_sub(1, std::memory_order_acq_rel);
  run_claimed(gen, chunks);

  if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
    std::unique_lock<std::mutex> lk(mutex_);
    done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  std::exception_ptr err;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    job_ = nullptr;
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

// --- global pool ---------------------------------------------------------------

namespace {
std::mutex g_pool_mutex;
// Never deleted at exit (workers may still be parked in it while static
// destructors run); replaced pools are destroyed by set_global_threads.
std::atomic<ThreadPool*> g_pool{nullptr};
}  // namespace

int ThreadPool::default_threads() {
  if (const char* env = std::getenv("TWOTOWER_THREADS")) {
    char* endp = nullptr;
    long v = std::strtol(env, &endp, 10);
    if (endp != env && *endp == '\0' && v > 0) return static_cast<int>(std::min<long>(v, 1024));
  }
  return hardware_threads();
}

ThreadPool& ThreadPool::global() {
  ThreadPool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  std::lock_guard<std::mutex> lk(g_pool_mutex);
  p = g_pool.load(std::memory_order_relaxed);
  if (!p) {
    p = new ThreadPool(default_threads());
    g_pool.store(p, std::memory_order_release);
  }
  return *p;
}

void ThreadPool::set_global_threads(int n_threads) {
  if (n_threads <= 0) n_threads = default_threads();
  std::lock_guard<std::mutex> lk(g_pool_mutex);
  ThreadPool* old = g_pool.exchange(new ThreadPool(n_threads), std::memory_order_acq_rel);
  delete old;
}

}  // namespace tt::cpu
