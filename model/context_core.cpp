// The context side's sequence state machine and batched context forwards.
#include "model/context_core.hpp"
#include "model/mock_compute.hpp"

#include <chrono>
#include <cmath>

#include "kernels/cpu/sampling.hpp"
#include "model/error.hpp"

namespace tt {

struct ContextCore::Seq {
  Seq(uint64_t i, const GenerateRequest& r, const ModelConfig& c) : id(i), req(r), cache(c) {}
  uint64_t id;
  GenerateRequest req;
  GenerateResult res;
  SequenceCache cache;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool done = false;
  bool started = false;        // its first work (prefill or first job) ran
  bool dispatch_now = false;   // mock-AR with a one-token prompt: nothing to prefill
  bool job_out = false;        // a denoiser holds a job reading this cache
  bool cancelled = false;      // kept only until that job comes back
  int next_block = 0;          // diffusion: index of the next block
  int32_t last = -1;           // mock-AR: last committed token (not yet in the cache)
  std::vector<int32_t> extend; // tokens the next step() appends to the cache
};

ContextCore::ContextCore(const Model& model, bool external_denoisers)
    : model_(model), external_denoisers_(external_denoisers), mock_(MockCompute::installed()) {
  const auto& installed = installed_context_compute();
  compute_ = installed ? installed() : cpu_context_compute(model.config, model.weights);
}

ContextCore::~ContextCore() = default;

uint64_t ContextCore::submit(const GenerateRequest& request) {
  validate(request, model_.config);
  if (request.mode != Mode::ar && !model_.weights.denoiser && !external_denoisers_)
    throw Error(std::string("mode: ") + mode_name(request.mode) + " needs the denoiser tower, which is not loaded");
  const uint64_t id = next_sequence_++;
  auto s = std::make_unique<Seq>(id, request, model_.config);
  s->res.prompt_tokens = static_cast<int>(request.prompt.size());
  switch (request.mode) {
    case Mode::ar:
    case Mode::diffusion: s->extend = request.prompt; break;
    case Mode::mock_ar:
      s->extend.assign(request.prompt.begin(), request.prompt.end() - 1);
      s->last = request.prompt.back();
      s->dispatch_now = s->extend.empty();
      break;
  }
  seqs_.emplace(id, std::move(s));
  return id;
}

void ContextCore::cancel(uint64_t sequence_id) {
  auto it = seqs_.find(sequence_id);
  if (it == seqs_.end()) return;
  Seq& s = *it->second;
  if (!s.job_out) {
    erase(it);
    return;
  }
  // A denoiser is still reading this cache: free it when the job comes back.
  s.cancelled = true;
  s.done = true;
  s.extend.clear();
}

bool ContextCore::has_work() const {
  for (const auto& [id, s] : seqs_)
    if (!s->done && (!s->extend.empty() || s->dispatch_now)) return true;
  return false;
}

const GenerateResult& ContextCore::result(uint64_t sequence_id) const {
  auto it = seqs_.find(sequence_id);
  if (it == seqs_.end() || it->second->cancelled) throw Error("unknown sequence " + std::to_string(sequence_id));
  return it->second->res;
}

void ContextCore::release(uint64_t sequence_id) {
  auto it = seqs_.find(sequence_id);
  if (it != seqs_.end()) erase(it);
}

void ContextCore::erase(std::map<uint64_t, std::unique_ptr<Seq>>::iterator it) {
  compute_->forget(it->first);
  seqs_.erase(it);
}

size_t ContextCore::live_sequences() const {
  size_t n = 0;
  for (const auto& [id, s] : seqs_) n += !s->cancelled;
  return n;
}

size_t ContextCore::waiting_sequences() const {
  size_t n = 0;
  for (const auto& [id, s] : seqs_) n += !s->started && !s->cancelled;
  return n;
}

size_t ContextCore::cache_bytes() const {
  if (!mock_ && compute_->device() >= 0) return compute_->device_cache_bytes();
  size_t n = 0;
  for (const auto& [id, s] : seqs_) n += s->cache.bytes();
  return n;
}

void ContextCore::emit(Seq& s, const std::vector<int32_t>& tokens, ContextEvents& ev) {
  ev.token_updates.push_back(s.id);
  const int32_t eos = s.req.ignore_eos ? -1 : model_.config.eos_token_id;
  if (!append_tokens(s.res, tokens, s.req.max_tokens, eos)) return;
  s.done = true;
  s.res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.start).count();
  s.extend.clear();
  ev.finished.push_back(s.id);
}

void ContextCore::dispatch(Seq& s, ContextEvents& ev) {
  BlockJob job;
  job.job_id = next_job_++;
  job.sequence_id = s.id;
  if (sync_on_dispatch_ && !mock_) compute_->sync_host(s.id, s.cache);
  job.seed = view_of(s.cache);
  job.params = s.req.diffusion;
  job.trace = s.req.trace;
  s.job_out = true;
  switch (s.req.mode) {
    case Mode::diffusion:
      job.kind = JobKind::diffusion_block;
      job.block = new_block(s.next_block++, s.req.diffusion.block_size, model_.config.mask_token_id);
      break;
    case Mode::mock_ar:
      job.kind = JobKind::next_token;
      job.block.tokens = {s.last};
      job.token_index = static_cast<int>(s.res.tokens.size());
      break;
    case Mode::ar: throw Error("internal: AR sequences never leave the context side");
  }
  ev.jobs.push_back(std::move(job));
}

CacheView ContextCore::host_seed(uint64_t sequence_id) {
  auto it = seqs_.find(sequence_id);
  if (it == seqs_.end()) throw Error("internal: host_seed of unknown sequence " + std::to_string(sequence_id));
  if (!mock_) compute_->sync_host(sequence_id, it->second->cache);
  return view_of(it->second->cache);
}

bool ContextCore::export_region(uint64_t sequence_id, DeviceRegion& out) {
  return !mock_ && seqs_.count(sequence_id) != 0 && compute_->export_region(sequence_id, out);
}

bool ContextCore::send_rows(uint64_t sequence_id, int from, CacheChannel& channel) {
  return !mock_ && seqs_.count(sequence_id) != 0 && compute_->send_rows(sequence_id, from, channel);
}

int ContextCore::device() const { return mock_ ? -1 : compute_->device(); }

ContextEvents ContextCore::step() {
  ContextEvents ev;
  const int V = model_.config.vocab_size;
  std::vector<ContextCompute::Item> items;
  std::vector<Seq*> members;
  int rows = 0;
  for (auto& [id, sp] : seqs_) {
    Seq& s = *sp;
    if (s.done) continue;
    const bool first = !s.started && (s.dispatch_now || !s.extend.empty());
    if (first) {
      s.started = true;
      ev.started.push_back(s.id);
    }
    if (s.dispatch_now) {
      s.dispatch_now = false;
      dispatch(s, ev);
    }
    if (s.extend.empty()) continue;
    const DiffusionParams& d = s.req.diffusion;
    const bool pick = s.req.mode == Mode::ar;
    items.push_back({s.id, s.extend, &s.cache, pick, d.temperature, d.seed,
                     ar_stream(static_cast<int>(s.res.tokens.size()))});
    members.push_back(&s);
    rows += static_cast<int>(s.extend.size());
  }
  if (items.empty()) return ev;
  ev.context_batch = static_cast<int>(items.size());
  std::vector<int32_t> picked;
  if (mock_) {  // capacity experiments: the profile's time, caches grown without math
    double held = 0;
    for (Seq* s : members) held += s->cache.length();
    mock_->context_forward(rows, static_cast<double>(members.size()), held);
    for (Seq* s : members) MockCompute::extend(s->cache, static_cast<int>(s->extend.size()), model_.config);
    logits_.assign(V, 0.0f);  // every AR pick sees the same flat logits
    for (const auto& it : items)
      if (it.pick) picked.push_back(choose_token(logits_, it.temperature, it.seed, it.stream));
  } else {
    compute_->extend(items, picked);
  }
  size_t k = 0;
  for (Seq* s : members) {
    s->extend.clear();
    s->res.context_forwards++;
    switch (s->req.mode) {
      case Mode::ar: {
        const int32_t tok = picked.at(k++);
        emit(*s, {tok}, ev);
        if (!s->done) s->extend = {tok};
        break;
      }
      case Mode::diffusion:
      case Mode::mock_ar: dispatch(*s, ev); break;
    }
  }
  return ev;
}

ContextEvents ContextCore::on_result(const JobResult& r) {
  ContextEvents ev;
  auto it = seqs_.find(r.sequence_id);
  if (it == seqs_.end()) return ev;
  Seq& s = *it->second;
  s.job_out = false;
  if (s.cancelled) {
    erase(it);
    return ev;
  }
  if (s.done) return ev;
  s.res.denoiser_forwards += r.steps;
  s.res.committed_tokens += static_cast<int>(r.tokens.size());
  switch (s.req.mode) {
    case Mode::diffusion:
      if (s.req.trace) s.res.trace.push_back(r.trace);
      emit(s, r.tokens, ev);
      if (!s.done) s.extend = r.tokens;
      break;
    case Mode::mock_ar:
      emit(s, r.tokens, ev);
      if (!s.done) {
        s.extend = {s.last};
        s.last = r.tokens.front();
      }
      break;
    case Mode::ar: throw Error("internal: a denoiser result for an AR sequence");
  }
  return ev;
}

ScoreResult ContextCore::score(std::span<const int32_t> prompt, std::span<const int32_t> continuation) {
  const ModelConfig& cfg = model_.config;
  if (prompt.empty()) throw Error("prompt: empty prompt (scoring needs at least one prompt token)");
  if (continuation.empty()) throw Error("continuation: empty continuation (nothing to score)");
  for (auto [name, ids] : {std::pair{"prompt", prompt}, {"continuation", continuation}})
    for (int32_t t : ids)
      if (t < 0 || t >= cfg.vocab_size)
        throw Error(std::string(name) + ": token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                    std::to_string(cfg.vocab_size) + ")");
  std::vector<int32_t> all(prompt.begin(), prompt.end());
  all.insert(all.end(), continuation.begin(), continuation.end());
  std::vector<int> rows;
  for (size_t i = 0; i < continuation.size(); ++i) rows.push_back(static_cast<int>(prompt.size() + i) - 1);
  compute_->score_logits(all, rows, logits_);
  ScoreResult out;
  std::vector<float> logp(cfg.vocab_size);
  for (size_t i = 0; i < continuation.size(); ++i) {
    cpu::log_softmax(&logits_[i * cfg.vocab_size], cfg.vocab_size, logp.data());
    if (std::isnan(logp[continuation[i]])) check_finite_logit(logp[continuation[i]]);
    out.token_logprobs.push_back(logp[continuation[i]]);
    out.logprob += logp[continuation[i]];
  }
  return out;
}

}  // namespace tt
