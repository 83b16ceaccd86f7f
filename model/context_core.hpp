// The context side's pure core: home of every sequence. It batches prefill,
// block extensions and AR tokens into one context forward per step(), runs
// AR itself, hands diffusion blocks and mock-AR tokens out as BlockJobs, and
// folds the denoiser's results back into each sequence. No threads, no I/O:
// the in-process engine and the context actor both drive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "model/block_job.hpp"
#include "model/context_compute.hpp"
#include "model/engine_types.hpp"
#include "model/model.hpp"

namespace tt {

class MockCompute;

// What a step() or on_result() produced for the driver to act on.
struct ContextEvents {
  std::vector<BlockJob> jobs;          // send to a denoiser
  std::vector<uint64_t> token_updates; // sequences that committed new tokens
  std::vector<uint64_t> finished;      // sequences that ended (result() is final)
  std::vector<uint64_t> started;       // sequences whose first work (prefill) ran in this step
  int context_batch = 0;               // sequences in this step's context forward (0: none ran)
};

class ContextCore {
public:
  // `external_denoisers`: block jobs go to denoisers elsewhere (actors), so
  // diffusion and mock-AR are accepted without the denoiser weights loaded.
  explicit ContextCore(const Model& model, bool external_denoisers = false);
  ~ContextCore();

  // Validates (throws tt::Error naming the parameter) and admits a sequence; its prefill
  // joins the next step(). Returns the sequence id.
  uint64_t submit(const GenerateRequest& request);
  // Drops a sequence (cancel, requester gone). Its cache is freed now, or when the
  // denoiser job reading it comes back. Unknown ids are ignored.
  void cancel(uint64_t sequence_id);

  // True when step() has context work (prefill, extensions, AR tokens).
  bool has_work() const;
  // One batched context forward over every pending extension.
  ContextEvents step();
  // A denoiser finished a job of ours; results for cancelled sequences are dropped.
  ContextEvents on_result(const JobResult& result);

  // The sequence's result so far (tokens, counters); valid until release().
  const GenerateResult& result(uint64_t sequence_id) const;
  // Forgets a finished sequence.
  void release(uint64_t sequence_id);
  size_t live_sequences() const;
  // Admitted sequences whose prefill has not started yet (for metrics).
  size_t waiting_sequences() const;
  // Bytes of K/V and Mamba state held by every sequence's cache (for metrics): device memory
  // for a GPU compute (host copies for host transports not counted), host memory otherwise.
  size_t cache_bytes() const;

  // Cache snapshots of block jobs. By default dispatch() brings the host cache up to date
  // from a device compute, so that every job's seed is readable in host memory. A driver
  // that can hand a device cache over directly (CUDA IPC, the context actor) calls
  // defer_host_sync() and then, per job, export_region() or host_seed().
  void defer_host_sync() { sync_on_dispatch_ = false; }
  // Syncs the sequence's host cache and returns its view (the job's seed anew).
  CacheView host_seed(uint64_t sequence_id);
  // The sequence's device cache for another process on the node; false when it has none.
  bool export_region(uint64_t sequence_id, DeviceRegion& out);
  // Its K/V rows [from, length) and Mamba state over a device channel; false when it has none.
  bool send_rows(uint64_t sequence_id, int from, CacheChannel& channel);
  // The GPU the caches live on, -1 for host memory.
  int device() const;

  // Log-likelihood of `continuation` after `prompt` (one forward over a fresh cache).
  ScoreResult score(std::span<const int32_t> prompt, std::span<const int32_t> continuation);

private:
  struct Seq;
  void emit(Seq& s, const std::vector<int32_t>& tokens, ContextEvents& ev);
  void dispatch(Seq& s, ContextEvents& ev);
  void erase(std::map<uint64_t, std::unique_ptr<Seq>>::iterator it);

  const Model& model_;
  bool external_denoisers_ = false;
  std::unique_ptr<ContextCompute> compute_;
  uint64_t next_sequence_ = 1;
  uint64_t next_job_ = 1;
  std::map<uint64_t, std::unique_ptr<Seq>> seqs_;
  std::vector<float> logits_;
  std::shared_ptr<const MockCompute> mock_;  // set: --compute mock (model/mock_compute.hpp)
  bool sync_on_dispatch_ = true;
};

}  // namespace tt
