// The backend-independent decoding loop and the CPU backend (batch_decode.hpp).
#include "model/batch_decode.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "model/error.hpp"

namespace tt {
namespace {

using Clock = std::chrono::steady_clock;

struct Seq {
  const GenerateRequest* req = nullptr;
  GenerateResult res;
  int cache = -1;
  std::vector<int32_t> extend;    // tokens the next context forward appends
  std::optional<BlockState> block;
  std::vector<std::vector<int32_t>> trace;  // the current block's tokens after each step
  int next_block = 0;
  bool done = false;
  Clock::time_point start = Clock::now();
};

void emit(Seq& s, std::span<const int32_t> tokens, int32_t eos) {
  if (!append_tokens(s.res, tokens, s.req->max_tokens, s.req->ignore_eos ? -1 : eos)) return;
  s.done = true;
  s.res.seconds = std::chrono::duration<double>(Clock::now() - s.start).count();
  s.extend.clear();
}

void context_step(DecodeBackend& be, const ModelConfig& cfg, std::vector<Seq>& seqs) {
  std::vector<DecodeBackend::Extend> items;
  std::vector<Seq*> members;
  for (auto& s : seqs) {
    if (s.done || s.extend.empty()) continue;
    const DiffusionParams& d = s.req->diffusion;
    items.push_back({s.cache, s.extend, s.req->mode == Mode::ar, d.temperature, d.seed,
                     ar_stream(static_cast<int>(s.res.tokens.size()))});
    members.push_back(&s);
  }
  if (items.empty()) return;
  std::vector<int32_t> picked;
  be.extend(items, picked);
  size_t k = 0;
  for (Seq* s : members) {
    s->extend.clear();
    s->res.context_forwards++;
    if (s->req->mode == Mode::ar) {
      const int32_t tok = picked.at(k++);
      emit(*s, {&tok, 1}, cfg.eos_token_id);
      if (!s->done) s->extend = {tok};
    } else {
      s->block = new_block(s->next_block++, s->req->diffusion.block_size, cfg.mask_token_id);
    }
  }
}

// Refines every open block by one step; finished blocks are emitted.
void denoise_step(DecodeBackend& be, const ModelConfig& cfg, std::vector<Seq>& seqs) {
  std::vector<DecodeBackend::Denoise> items;
  std::vector<Seq*> members;
  for (auto& s : seqs) {
    if (!s.block) continue;
    items.push_back({s.cache, &*s.block, &s.req->diffusion});
    members.push_back(&s);
  }
  if (items.empty()) return;
  std::vector<int32_t> pred;
  std::vector<float> conf;
  be.denoise(items, pred, conf);
  size_t off = 0;
  for (Seq* s : members) {
    BlockState& b = *s->block;
    const size_t S = b.tokens.size();
    commit_confident({&pred[off], S}, {&conf[off], S}, b, s->req->diffusion, cfg.mask_token_id);
    off += S;
    s->res.denoiser_forwards++;
    if (s->req->trace) s->trace.push_back(b.tokens);
    if (b.masked(cfg.mask_token_id) > 0) continue;
    s->res.committed_tokens += static_cast<int>(S);
    if (s->req->trace) s->res.trace.push_back(std::move(s->trace)), s->trace.clear();
    const std::vector<int32_t> tokens = std::move(b.tokens);
    s->block.reset();
    emit(*s, tokens, cfg.eos_token_id);
    if (!s->done) s->extend = tokens;
  }
}

}  // namespace

std::vector<GenerateResult> decode_batch(DecodeBackend& be, const ModelConfig& cfg,
                                         std::span<const GenerateRequest> requests) {
  for (const auto& r : requests) {
    validate(r, cfg);
    if (r.mode == Mode::mock_ar) throw Error("mode: mock_ar runs on the actor engine only, not on this backend");
  }
  std::vector<Seq> seqs(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    Seq& s = seqs[i];
    s.req = &requests[i];
    s.res.prompt_tokens = static_cast<int>(requests[i].prompt.size());
    s.cache = be.new_cache();
    s.extend = requests[i].prompt;
  }
  // A sequence's output never depends on the schedule (batch invariance), so a
  // simple one serves: a context step, then every open block to completion.
  const auto any = [&](auto pred) { return std::any_of(seqs.begin(), seqs.end(), pred); };
  const auto block_open = [](const Seq& s) { return s.block.has_value(); };
  const auto live = [](const Seq& s) { return !s.done; };
  do {
    context_step(be, cfg, seqs);
    while (any(block_open)) denoise_step(be, cfg, seqs);
  } while (any(live));
  std::vector<GenerateResult> out;
  for (auto& s : seqs) {
    be.free_cache(s.cache);
    out.push_back(std::move(s.res));
  }
  return out;
}

CpuDecodeBackend::CpuDecodeBackend(const ModelConfig& config, const ModelWeights& weights)
    : config_(config), context_(cpu_context_compute(config, weights)) {
  if (weights.denoiser) denoiser_ = cpu_denoiser_compute(config, weights);
}

CpuDecodeBackend::~CpuDecodeBackend() = default;

int CpuDecodeBackend::new_cache() {
  size_t i = 0;
  while (i < caches_.size() && caches_[i]) ++i;
  if (i == caches_.size()) caches_.emplace_back();
  caches_[i] = std::make_unique<SequenceCache>(config_);
  return static_cast<int>(i);
}

void CpuDecodeBackend::free_cache(int cache) { caches_.at(cache).reset(); }

void CpuDecodeBackend::extend(std::span<const Extend> items, std::vector<int32_t>& picked) {
  std::vector<ContextCompute::Item> towers;
  for (const auto& it : items)
    towers.push_back({static_cast<uint64_t>(it.cache), it.tokens, caches_.at(it.cache).get(), it.pick, it.temperature,
                      it.seed, it.stream});
  context_->extend(towers, picked);
}

void CpuDecodeBackend::denoise(std::span<const Denoise> items, std::vector<int32_t>& pred, std::vector<float>& conf) {
  if (!denoiser_) throw Error("mode: diffusion needs the denoiser tower, which is not loaded");
  std::vector<BlockJob> jobs(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    jobs[i].job_id = i + 1;
    jobs[i].seed = view_of(*caches_.at(items[i].cache));
    jobs[i].block = *items[i].block;
    jobs[i].params = *items[i].params;
  }
  denoiser_->step(jobs, pred, conf);
}

}  // namespace tt
