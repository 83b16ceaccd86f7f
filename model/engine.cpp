// The in-process engine's batch loop.
#include "model/engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "kernels/cpu/sampling.hpp"
#include "model/error.hpp"
#include "model/time_conditioning.hpp"
#include "model/tower.hpp"

namespace tt {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::diffusion: return "diffusion";
    case Mode::ar: return "ar";
    case Mode::mock_ar: return "mock-ar";
  }
  return "?";
}

Mode parse_mode(const std::string& s) {
  if (s == "diffusion") return Mode::diffusion;
  if (s == "ar") return Mode::ar;
  if (s == "mock-ar" || s == "mock_ar") return Mode::mock_ar;
  throw Error("mode: unknown mode '" + s + "' (expected diffusion, ar or mock-ar)");
}

void validate(const GenerateRequest& r, const ModelConfig& c) {
  if (r.prompt.empty()) throw Error("prompt: empty prompt (at least one token is needed)");
  for (int32_t t : r.prompt)
    if (t < 0 || t >= c.vocab_size)
      throw Error("prompt: token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                  std::to_string(c.vocab_size) + ")");
  const int limit = c.max_position_embeddings > 0 ? c.max_position_embeddings : (1 << 20);
  if (r.max_tokens < 1) throw Error("max-tokens: must be at least 1 (got " + std::to_string(r.max_tokens) + ")");
  if (static_cast<int64_t>(r.prompt.size()) + r.max_tokens > limit)
    throw Error("max-tokens: prompt (" + std::to_string(r.prompt.size()) + " tokens) + max-tokens (" +
                std::to_string(r.max_tokens) + ") exceeds the model's context limit of " + std::to_string(limit));
  const DiffusionParams& d = r.diffusion;
  if (!(d.temperature >= 0.0f) || !std::isfinite(d.temperature))
    throw Error("temperature: must be a finite number >= 0");
  if (r.mode != Mode::diffusion) return;
  if (!(d.gamma > 0.0f && d.gamma <= 1.0f)) throw Error("gamma: must be in (0, 1] (got " + std::to_string(d.gamma) + ")");
  if (d.block_size < 1 || d.block_size > 4096)
    throw Error("block-size: must be in [1, 4096] (got " + std::to_string(d.block_size) + ")");
  if (d.steps < 1 || d.steps > 4096) throw Error("steps: must be in [1, 4096] (got " + std::to_string(d.steps) + ")");
}

struct Engine::Impl {
  explicit Impl(const Model& m)
      : model(m),
        context(m.config, m.weights.context.value()),
        denoiser(m.weights.denoiser ? std::make_unique<Tower>(m.config, *m.weights.denoiser) : nullptr),
        modulation(m.weights.time ? std::make_unique<ModulationCache>(m.config, *m.weights.time) : nullptr) {}

  const Model& model;
  Tower context;
  std::unique_ptr<Tower> denoiser;
  std::unique_ptr<ModulationCache> modulation;
  std::vector<float> hidden, logits;
};

Engine::Engine(const Model& model) : model_(model) {
  if (!model.weights.context) throw Error(model.dir + ": engine needs the context tower");
  impl_ = std::make_unique<Impl>(model);
}

Engine::~Engine() = default;

namespace {

struct Seq {
  const GenerateRequest* req;
  GenerateResult* res;
  SequenceCache cache;
  bool done = false;
  BlockState block;              // diffusion: the block being refined
  int32_t last = -1;             // mock-AR: last committed token (not yet in the cache)
  std::vector<int32_t> extend;   // tokens the next context round appends
  Seq(const GenerateRequest* q, GenerateResult* r, const ModelConfig& c) : req(q), res(r), cache(c) {}
};

}  // namespace

std::vector<GenerateResult> Engine::generate(std::span<const GenerateRequest> requests) {
  const ModelConfig& cfg = model_.config;
  for (const auto& r : requests) {
    validate(r, cfg);
    if (r.mode != Mode::ar && !impl_->denoiser)
      throw Error(std::string("mode: ") + mode_name(r.mode) + " needs the denoiser tower, which is not loaded");
  }
  const auto start = std::chrono::steady_clock::now();
  const int V = cfg.vocab_size, eos = cfg.eos_token_id, mask = cfg.mask_token_id;
  std::vector<GenerateResult> results(requests.size());
  std::vector<std::unique_ptr<Seq>> seqs;
  for (size_t i = 0; i < requests.size(); ++i) {
    seqs.push_back(std::make_unique<Seq>(&requests[i], &results[i], cfg));
    results[i].prompt_tokens = static_cast<int>(requests[i].prompt.size());
  }
  auto finish = [&](Seq& s, FinishReason why) {
    s.done = true;
    s.res->finish = why;
    s.res->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Appends tokens to the output; ends the sequence at EOS or max_tokens.
  auto emit = [&](Seq& s, std::span<const int32_t> toks) {
    for (int32_t t : toks) {
      s.res->tokens.push_back(t);
      if (t == eos) return finish(s, FinishReason::stop);
      if (static_cast<int>(s.res->tokens.size()) >= s.req->max_tokens) return finish(s, FinishReason::length);
    }
  };
  auto ar_choose = [&](Seq& s, const float* row) {
    const DiffusionParams& d = s.req->diffusion;
    return choose_token({row, static_cast<size_t>(V)}, d.temperature, d.seed,
                        ar_stream(static_cast<int>(s.res->tokens.size())));
  };

  // Context round: runs every pending extension in one forward; AR sequences
  // then pick their next token from their last row.
  std::vector<TowerItem> items;
  std::vector<Seq*> members;
  std::vector<int> rows;
  auto context_round = [&]() {
    items.clear();
    members.clear();
    rows.clear();
    int r = 0;
    for (auto& sp : seqs) {
      Seq& s = *sp;
      if (s.extend.empty()) continue;
      items.push_back(TowerItem{s.extend, &s.cache, nullptr, nullptr, true});
      members.push_back(&s);
      r += static_cast<int>(s.extend.size());
      if (s.req->mode == Mode::ar) rows.push_back(r - 1);
      s.res->context_forwards++;
    }
    if (items.empty()) return;
    impl_->context.forward(items, impl_->hidden);
    if (!rows.empty()) impl_->context.logits(impl_->hidden, rows, impl_->logits);
    size_t k = 0;
    for (Seq* s : members) {
      s->extend.clear();
      if (s->req->mode != Mode::ar) continue;
      int32_t tok = ar_choose(*s, &impl_->logits[k++ * V]);
      emit(*s, {&tok, 1});
      if (!s->done) s->extend.push_back(tok);
    }
  };

  // Prefill.
  for (auto& sp : seqs) {
    Seq& s = *sp;
    const auto& p = s.req->prompt;
    switch (s.req->mode) {
      case Mode::ar:
      case Mode::diffusion: s.extend = p; break;
      case Mode::mock_ar:
        s.extend.assign(p.begin(), p.end() - 1);
        s.last = p.back();
        break;
    }
    if (s.req->mode == Mode::diffusion) s.block = new_block(0, s.req->diffusion.block_size, mask);
  }
  context_round();

  std::vector<CacheView> views;
  while (std::any_of(seqs.begin(), seqs.end(), [](const auto& s) { return !s->done; })) {
    // Denoiser round: one refinement step of every active block + one mock-AR token each.
    items.clear();
    members.clear();
    views.clear();
    views.reserve(seqs.size());
    for (auto& sp : seqs) {
      Seq& s = *sp;
      if (s.done || s.req->mode == Mode::ar) continue;
      views.push_back(view_of(s.cache));
      if (s.req->mode == Mode::diffusion) {
        const float* mod = impl_->modulation->get(s.block.t(mask)).data();
        items.push_back(TowerItem{s.block.tokens, nullptr, &views.back(), mod, false});
      } else {
        items.push_back(TowerItem{{&s.last, 1}, nullptr, &views.back(), nullptr, true});
      }
      members.push_back(&s);
      s.res->denoiser_forwards++;
    }
    if (!items.empty()) {
      impl_->denoiser->forward(items, impl_->hidden);
      rows.resize(impl_->hidden.size() / cfg.hidden_size);
      for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int>(i);
      impl_->denoiser->logits(impl_->hidden, rows, impl_->logits);
      size_t r = 0;
      for (Seq* s : members) {
        if (s->req->mode == Mode::diffusion) {
          const int S = static_cast<int>(s->block.tokens.size());
          diffusion_step({&impl_->logits[r * V], static_cast<size_t>(S) * V}, V, s->block, s->req->diffusion, mask);
          r += S;
          if (s->req->trace) {
            auto& tr = s->res->trace;
            if (tr.size() <= static_cast<size_t>(s->block.block_index)) tr.resize(s->block.block_index + 1);
            tr[s->block.block_index].push_back(s->block.tokens);
          }
          if (s->block.masked(mask) == 0) {
            emit(*s, s->block.tokens);
            if (!s->done) {
              s->extend = s->block.tokens;
              s->block = new_block(s->block.block_index + 1, s->req->diffusion.block_size, mask);
            }
          }
        } else {
          int32_t tok = ar_choose(*s, &impl_->logits[r * V]);
          r += 1;
          emit(*s, {&tok, 1});
          if (!s->done) {
            s->extend.assign(1, s->last);
            s->last = tok;
          }
        }
      }
    }
    context_round();
  }
  return results;
}

GenerateResult Engine::generate(const GenerateRequest& request) {
  return std::move(generate(std::span<const GenerateRequest>(&request, 1)).front());
}

ScoreResult Engine::score(std::span<const int32_t> prompt, std::span<const int32_t> continuation) {
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
  SequenceCache cache(cfg);
  TowerItem item{all, &cache, nullptr, nullptr, true};
  impl_->context.forward({&item, 1}, impl_->hidden);
  std::vector<int> rows;
  for (size_t i = 0; i < continuation.size(); ++i) rows.push_back(static_cast<int>(prompt.size() + i) - 1);
  impl_->context.logits(impl_->hidden, rows, impl_->logits);
  ScoreResult out;
  std::vector<float> logp(cfg.vocab_size);
  for (size_t i = 0; i < continuation.size(); ++i) {
    cpu::log_softmax(&impl_->logits[i * cfg.vocab_size], cfg.vocab_size, logp.data());
    out.token_logprobs.push_back(logp[continuation[i]]);
    out.logprob += logp[continuation[i]];
  }
  return out;
}

}  // namespace tt
