// The cluster model's actors as plain state machines on one event queue.
#include "tools/sim/cluster_sim.hpp"

#include <algorithm>
#include <map>

#include "model/error.hpp"
#include "tools/sim/event_queue.hpp"

namespace tt::capacity {
namespace {

struct Job {
  size_t seq;
  int masked, step = 0;
};

struct Seq {
  size_t req = 0;
  int context = 0, committed = 0, context_len = 0, denoiser = -1;
  double last_chunk_s = -1;
  std::map<int, int> fetched;  // denoiser -> context tokens it already holds
};

struct ContextActor {
  std::vector<std::pair<size_t, int>> pending;  // sequence, tokens to run
  bool busy = false;
  int live = 0;
  std::vector<int> outstanding;  // jobs out per denoiser (its load as this actor sees it)
};

struct DenoiserActor {
  std::vector<Job> active, incoming;
  bool busy = false;
};

class Sim {
public:
  Sim(const ClusterSpec& c, const Profile& p, const SimLoad& l, uint64_t seed)
      : c_(c), p_(p), l_(l), dist_(p.at_gamma(c.gamma)), rng_(seed), records_(l.requests.size()),
        router_free_(static_cast<size_t>(c.routers), 0.0), ctx_(static_cast<size_t>(c.contexts)),
        den_(static_cast<size_t>(c.contexts * c.denoisers_per_context)) {
    if (c.routers < 1 || c.contexts < 1 || c.denoisers_per_context < 1)
      throw Error("simulate: routers, contexts and denoisers per context must be >= 1");
    if (!(c.link_bandwidth_Bps > 0)) throw Error("simulate: link bandwidth must be > 0");
    for (auto& x : ctx_) x.outstanding.assign(static_cast<size_t>(c.denoisers_per_context), 0);
  }

  std::vector<RequestRecord> run(SimCounters* counters) {
    if (l_.concurrency > 0) {
      for (int i = 0; i < l_.concurrency && next_ < l_.requests.size(); ++i) send(next_++, 0.0);
    } else {
      for (size_t i = 0; i < l_.requests.size(); ++i) q_.at(l_.requests[i].at_s, [this, i] { send(i, q_.now()); });
    }
    q_.run();
    counters_.end_s = q_.now();
    if (counters) *counters = counters_;
    return std::move(records_);
  }

private:
  void send(size_t i, double t) {
    RequestRecord& r = records_[i];
    r.start_s = t;
    r.input_tokens = l_.requests[i].input_len;
    r.measured = t >= l_.warmup_s;
    const size_t router = i % router_free_.size();
    const double arrive = t + c_.client_latency_s;
    const double done = std::max(arrive, router_free_[router]) + p_.router_request_s;
    router_free_[router] = done;
    q_.at(done + c_.link_latency_s, [this, i] { admit(i); });
  }

  void admit(size_t i) {
    int best = 0;
    for (int k = 1; k < c_.contexts; ++k)
      if (ctx_[static_cast<size_t>(k)].live < ctx_[static_cast<size_t>(best)].live) best = k;
    const size_t s = seqs_.size();
    seqs_.emplace_back();
    seqs_[s].req = i;
    seqs_[s].context = best;
    ContextActor& cx = ctx_[static_cast<size_t>(best)];
    cx.live++;
    cx.pending.emplace_back(s, l_.requests[i].input_len);
    kick_context(best);
  }

  void kick_context(int k) {
    ContextActor& cx = ctx_[static_cast<size_t>(k)];
    if (cx.busy || cx.pending.empty()) return;
    size_t n = cx.pending.size();
    if (c_.max_context_batch > 0) n = std::min(n, static_cast<size_t>(c_.max_context_batch));
    std::vector<std::pair<size_t, int>> batch(cx.pending.begin(), cx.pending.begin() + static_cast<long>(n));
    cx.pending.erase(cx.pending.begin(), cx.pending.begin() + static_cast<long>(n));
    double tokens = 0, ctx_tokens = 0;
    for (auto& [s, t] : batch) tokens += t, ctx_tokens += seqs_[s].context_len;
    const double dt = p_.context.seconds(tokens, static_cast<double>(n), ctx_tokens);
    cx.busy = true;
    counters_.context_forwards++;
    counters_.context_busy_s += dt;
    q_.after(dt, [this, k, batch = std::move(batch)] {
      ctx_[static_cast<size_t>(k)].busy = false;
      for (auto& [s, t] : batch) {
        seqs_[s].context_len += t;
        dispatch(s);
      }
      kick_context(k);
    });
  }

  void dispatch(size_t s) {
    Seq& q = seqs_[s];
    ContextActor& cx = ctx_[static_cast<size_t>(q.context)];
    // Least loaded; ties keep the sequence's previous denoiser (a small K/V delta).
    int best = q.denoiser >= 0 ? q.denoiser : 0;
    for (int d = 0; d < c_.denoisers_per_context; ++d)
      if (cx.outstanding[static_cast<size_t>(d)] < cx.outstanding[static_cast<size_t>(best)]) best = d;
    cx.outstanding[static_cast<size_t>(best)]++;
    q.denoiser = best;
    int& have = q.fetched[best];
    const double bytes = p_.state_bytes + p_.kv_bytes_per_token * (q.context_len - have);
    have = q.context_len;
    counters_.bytes_moved += bytes;
    const int global = q.context * c_.denoisers_per_context + best;
    q_.after(c_.link_latency_s + bytes / c_.link_bandwidth_Bps, [this, s, global] {
      den_[static_cast<size_t>(global)].incoming.push_back(Job{s, p_.block_size});
      kick_denoiser(global);
    });
  }

  void kick_denoiser(int g) {
    DenoiserActor& d = den_[static_cast<size_t>(g)];
    if (d.busy) return;
    for (auto& j : d.incoming) d.active.push_back(j);
    d.incoming.clear();
    if (d.active.empty()) return;
    size_t n = d.active.size();
    if (c_.max_denoiser_batch > 0) n = std::min(n, static_cast<size_t>(c_.max_denoiser_batch));
    double ctx_tokens = 0;
    for (size_t i = 0; i < n; ++i) ctx_tokens += seqs_[d.active[i].seq].context_len;
    const double dt = p_.denoiser.seconds(static_cast<double>(n) * p_.block_size, static_cast<double>(n), ctx_tokens);
    d.busy = true;
    counters_.denoiser_forwards++;
    counters_.denoiser_busy_s += dt;
    q_.after(dt, [this, g, n] {
      DenoiserActor& den = den_[static_cast<size_t>(g)];
      den.busy = false;
      std::vector<Job> still;
      for (size_t i = 0; i < den.active.size(); ++i) {
        Job j = den.active[i];
        if (i < n) {
          j.masked -= draw_commit(dist_, j.masked, j.step, p_.steps, rng_);
          j.step++;
          records_[seqs_[j.seq].req].denoiser_forwards++;
          if (j.masked == 0) {
            q_.after(c_.link_latency_s, [this, s = j.seq, g] { on_block(s, g); });
            continue;
          }
        }
        still.push_back(j);
      }
      den.active = std::move(still);
      kick_denoiser(g);
    });
  }

  void on_block(size_t s, int g) {
    Seq& q = seqs_[s];
    ContextActor& cx = ctx_[static_cast<size_t>(q.context)];
    cx.outstanding[static_cast<size_t>(g % c_.denoisers_per_context)]--;
    RequestRecord& r = records_[q.req];
    const int want = l_.requests[q.req].output_len;
    const int n = std::min(p_.block_size, want - q.committed);
    q.committed += n;
    // The router streams the block to the client.
    const double seen = q_.now() + c_.link_latency_s + c_.client_latency_s;
    if (r.first_token_s < 0) {
      r.first_token_s = seen;
    } else {
      for (int k = 0; k < n; ++k) r.itl_s.push_back((seen - q.last_chunk_s) / n);
    }
    q.last_chunk_s = seen;
    if (q.committed >= want) {
      r.ok = true;
      r.output_tokens = q.committed;
      r.end_s = seen;
      cx.live--;
      if (l_.concurrency > 0 && next_ < l_.requests.size()) {
        const size_t i = next_++;
        q_.at(seen, [this, i] { send(i, q_.now()); });
      }
      return;
    }
    cx.pending.emplace_back(s, n);
    kick_context(q.context);
  }

  const ClusterSpec& c_;
  const Profile& p_;
  const SimLoad& l_;
  const CommitDist& dist_;
  Rng rng_;
  EventQueue q_;
  std::vector<RequestRecord> records_;
  std::vector<double> router_free_;
  std::vector<ContextActor> ctx_;
  std::vector<DenoiserActor> den_;
  std::vector<Seq> seqs_;
  size_t next_ = 0;
  SimCounters counters_;
};

}  // namespace

std::vector<RequestRecord> simulate_cluster(const ClusterSpec& spec, const Profile& profile, const SimLoad& load,
                                            uint64_t seed, SimCounters* counters) {
  return Sim(spec, profile, load, seed).run(counters);
}

}  // namespace tt::capacity
