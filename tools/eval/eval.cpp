// Held-out evaluation with the C++ engine.
#include "tools/eval/eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include "model/engine.hpp"
#include "model/error.hpp"
#include "tools/eval/bootstrap.hpp"

namespace tt::eval {
namespace {

using nlohmann::json;

struct Document {
  std::vector<std::string> paragraphs;
};

std::vector<Document> read_documents(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open held-out text");
  std::vector<Document> docs(1);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (!docs.back().paragraphs.empty()) docs.emplace_back();
    } else {
      docs.back().paragraphs.push_back(line);
    }
  }
  if (docs.back().paragraphs.empty()) docs.pop_back();
  if (docs.empty()) throw Error(path + ": no text");
  return docs;
}

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? "\n" : "") + parts[i];
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Fraction of adjacent token pairs that occurred earlier in the same continuation.
double repeated_bigram_rate(const std::vector<int32_t>& t) {
  if (t.size() < 2) return 0.0;
  std::set<std::pair<int32_t, int32_t>> seen;
  int repeats = 0;
  for (size_t i = 1; i < t.size(); ++i) repeats += !seen.insert({t[i - 1], t[i]}).second;
  return static_cast<double>(repeats) / static_cast<double>(t.size() - 1);
}

struct RunStats {
  std::vector<std::vector<int32_t>> outputs;
  long tokens = 0, denoiser_forwards = 0, context_forwards = 0, committed = 0;
  std::vector<double> committed_of, denoiser_forwards_of;  // per prompt, for the intervals
  double seconds = 0;
};

RunStats run(Engine& engine, const std::vector<std::vector<int32_t>>& prompts, Mode mode, float gamma,
             const EvalOptions& o) {
  RunStats st;
  for (size_t b = 0; b < prompts.size(); b += o.batch) {
    std::vector<GenerateRequest> reqs;
    for (size_t i = b; i < std::min(prompts.size(), b + o.batch); ++i) {
      GenerateRequest r;
      r.prompt = prompts[i];
      r.mode = mode;
      r.max_tokens = o.max_tokens;
      r.diffusion.gamma = gamma;
      r.diffusion.block_size = o.block_size;
      r.diffusion.steps = o.steps;
      reqs.push_back(r);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto res = engine.generate(reqs);
    st.seconds += seconds_since(t0);
    for (auto& r : res) {
      st.tokens += static_cast<long>(r.tokens.size());
      st.denoiser_forwards += r.denoiser_forwards;
      st.context_forwards += r.context_forwards;
      st.committed += r.committed_tokens;
      st.committed_of.push_back(static_cast<double>(r.committed_tokens));
      st.denoiser_forwards_of.push_back(static_cast<double>(r.denoiser_forwards));
      st.outputs.push_back(std::move(r.tokens));
    }
  }
  return st;
}

// Log-likelihood of continuations under the context tower, per prompt and in all.
struct Scores {
  std::vector<double> logprob_of, tokens_of;  // per prompt
  long count = 0;
  double mean = 0;  // per token, over all prompts
  // Mean log-likelihood per token over the prompts of a (re)sample.
  double mean_over(const std::vector<size_t>& sample) const {
    double lp = 0, n = 0;
    for (size_t i : sample) lp += logprob_of[i], n += tokens_of[i];
    return n > 0 ? lp / n : 0.0;
  }
};

// `token_logprobs`, when given, receives every token's log-probability.
Scores score(Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
             const std::vector<std::vector<int32_t>>& conts, std::vector<double>* token_logprobs = nullptr) {
  Scores s;
  double sum = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    double lp = 0;
    if (!conts[i].empty()) {
      const ScoreResult r = engine.score(prompts[i], conts[i]);
      lp = r.logprob;
      if (token_logprobs) token_logprobs->insert(token_logprobs->end(), r.token_logprobs.begin(), r.token_logprobs.end());
    }
    s.logprob_of.push_back(lp);
    s.tokens_of.push_back(static_cast<double>(conts[i].size()));
    sum += lp;
    s.count += static_cast<long>(conts[i].size());
  }
  s.mean = s.count ? sum / static_cast<double>(s.count) : 0.0;
  return s;
}

double ratio_over(const std::vector<double>& num, const std::vector<double>& den, const std::vector<size_t>& sample) {
  double a = 0, b = 0;
  for (size_t i : sample) a += num[i], b += den[i];
  return a / std::max(1.0, b);
}

json interval(const Interval& i) { return json::array({i.lo, i.hi}); }

}  // namespace

json run_eval(const EvalOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  auto model = Model::load(o.model_dir);
  if (!model->tokenizer) throw Error(o.model_dir + ": eval needs tokenizer.json");
  const Tokenizer& tok = *model->tokenizer;
  const int eos = model->config.eos_token_id;
  Engine engine(*model);
  auto docs = read_documents(o.heldout_path);

  // 1. Held-out perplexity of the context tower (AR), first `window` tokens of each document.
  double lp = 0;
  long scored = 0;
  int n_docs = 0;
  for (const auto& d : docs) {
    if (n_docs >= o.max_documents) break;
    std::vector<int32_t> ids = tok.encode(join(d.paragraphs), true);
    ids.push_back(eos);
    if (ids.size() < 2) continue;
    if (static_cast<int>(ids.size()) > o.window) ids.resize(o.window);
    std::vector<int32_t> prompt(ids.begin(), ids.begin() + 1), cont(ids.begin() + 1, ids.end());
    lp += engine.score(prompt, cont).logprob;
    scored += static_cast<long>(cont.size());
    ++n_docs;
  }
  std::cerr << "eval: perplexity over " << scored << " tokens of " << n_docs << " documents\n";

  // 2. Prompts: openings of held-out paragraphs long enough to have a continuation, spread over
  // the documents (round k takes each document's k-th such paragraph), not the first documents'.
  std::vector<std::vector<std::vector<int32_t>>> eligible(docs.size());
  for (size_t d = 0; d < docs.size(); ++d)
    for (const auto& p : docs[d].paragraphs) {
      auto ids = tok.encode(p, true);
      if (static_cast<int>(ids.size()) >= o.prompt_tokens + 1 + 16) eligible[d].push_back(std::move(ids));
    }
  std::vector<std::vector<int32_t>> prompts, references;
  std::vector<std::string> prompt_texts;
  std::vector<size_t> document_of;  // per prompt: its document, numbered in order of first use
  std::vector<size_t> number_of(docs.size(), docs.size());
  size_t documents_used = 0;
  for (size_t round = 0, added = 1; added && static_cast<int>(prompts.size()) < o.prompts; ++round) {
    added = 0;
    for (size_t d = 0; d < docs.size() && static_cast<int>(prompts.size()) < o.prompts; ++d) {
      if (round >= eligible[d].size()) continue;
      const auto& ids = eligible[d][round];
      prompts.emplace_back(ids.begin(), ids.begin() + 1 + o.prompt_tokens);
      references.emplace_back(ids.begin() + 1 + o.prompt_tokens, ids.end());
      prompt_texts.push_back(tok.decode(prompts.back(), true));
      if (number_of[d] == docs.size()) number_of[d] = documents_used++;
      document_of.push_back(number_of[d]);
      ++added;
    }
  }
  if (prompts.empty()) throw Error(o.heldout_path + ": no paragraph is long enough for a prompt");

  json out;
  out["model"] = o.model_dir;
  out["heldout"] = o.heldout_path;
  out["perplexity"] = {{"documents", n_docs}, {"tokens", scored}, {"window", o.window},
                       {"mean_logprob", lp / static_cast<double>(scored)},
                       {"perplexity", std::exp(-lp / static_cast<double>(scored))}};
  const Scores ref_scores = score(engine, prompts, references);
  const double ref_lp = ref_scores.mean;
  const long ref_count = ref_scores.count;

  RunStats ar = run(engine, prompts, Mode::ar, 1.0f, o);
  std::vector<double> ar_token_lp;
  const Scores ar_scores = score(engine, prompts, ar.outputs, &ar_token_lp);
  const double ar_lp = ar_scores.mean;
  // The context tower's own confidence in its greedy tokens: a denoiser that predicted the next
  // token exactly as well could pass gamma on about this share of positions and no more.
  json confident = json::object();
  for (float g : o.gammas) {
    long above = 0;
    for (double l : ar_token_lp) above += std::exp(l) > g;
    char key[16];
    std::snprintf(key, sizeof key, "%.2f", g);
    confident[key] = ar_token_lp.empty() ? 0.0 : static_cast<double>(above) / static_cast<double>(ar_token_lp.size());
  }
  double ar_rep = 0;
  for (const auto& t : ar.outputs) ar_rep += repeated_bigram_rate(t);
  out["prompts"] = {{"count", prompts.size()}, {"documents", documents_used}, {"prompt_tokens", o.prompt_tokens},
                    {"max_tokens", o.max_tokens}, {"document", document_of},
                    {"examples", std::vector<std::string>(prompt_texts.begin(), prompt_texts.begin() + std::min<size_t>(3, prompt_texts.size()))}};
  out["reference_continuation"] = {{"mean_logprob", ref_lp}, {"perplexity", std::exp(-ref_lp)}, {"tokens", ref_count}};
  out["ar"] = {{"tokens", ar.tokens}, {"context_forwards", ar.context_forwards}, {"seconds", ar.seconds},
               {"tokens_per_second", ar.tokens / ar.seconds}, {"mean_logprob", ar_lp},
               {"perplexity", std::exp(-ar_lp)}, {"repeated_bigram_rate", ar_rep / static_cast<double>(prompts.size())},
               {"confidence_above_gamma", confident},
               {"per_prompt", {{"logprob", ar_scores.logprob_of}, {"tokens", ar_scores.tokens_of}}},
               {"sample", tok.decode(ar.outputs.front(), true)}};

  json per_gamma = json::array();
  for (float g : o.gammas) {
    RunStats d = run(engine, prompts, Mode::diffusion, g, o);
    const Scores d_scores = score(engine, prompts, d.outputs);
    const double d_lp = d_scores.mean;
    // Over documents (a document's prompts are resampled together), paired: a resample draws the
    // same prompts for diffusion and for AR.
    const Interval tpf_ci = bootstrap95(document_of, [&](const std::vector<size_t>& s) {
      return ratio_over(d.committed_of, d.denoiser_forwards_of, s);
    });
    const Interval quality_ci = bootstrap95(document_of, [&](const std::vector<size_t>& s) {
      return std::exp(d_scores.mean_over(s) - ar_scores.mean_over(s));
    });
    long agree = 0, ar_total = 0;
    double rep = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto& a = ar.outputs[i];
      const auto& b = d.outputs[i];
      ar_total += static_cast<long>(a.size());
      for (size_t k = 0; k < a.size() && k < b.size(); ++k) agree += a[k] == b[k];
      rep += repeated_bigram_rate(b);
    }
    per_gamma.push_back({{"gamma", g},
                         {"tokens", d.tokens},
                         {"denoiser_forwards", d.denoiser_forwards},
                         {"context_forwards", d.context_forwards},
                         {"committed_tokens", d.committed},
                         {"tokens_per_denoiser_forward", static_cast<double>(d.committed) / std::max(1L, d.denoiser_forwards)},
                         {"tokens_per_denoiser_forward_ci95", interval(tpf_ci)},
                         {"output_tokens_per_denoiser_forward", static_cast<double>(d.tokens) / std::max(1L, d.denoiser_forwards)},
                         {"seconds", d.seconds},
                         {"tokens_per_second", d.tokens / d.seconds},
                         {"speed_vs_ar", (d.tokens / d.seconds) / (ar.tokens / ar.seconds)},
                         {"mean_logprob", d_lp},
                         {"perplexity", std::exp(-d_lp)},
                         {"quality_vs_ar", std::exp(d_lp - ar_lp)},
                         {"quality_vs_ar_ci95", interval(quality_ci)},
                         {"agreement_with_ar", static_cast<double>(agree) / std::max(1L, ar_total)},
                         {"repeated_bigram_rate", rep / static_cast<double>(prompts.size())},
                         // For paired comparisons of two models on the same prompts (model_card.py).
                         {"per_prompt", {{"committed", d.committed_of}, {"denoiser_forwards", d.denoiser_forwards_of},
                                         {"logprob", d_scores.logprob_of}, {"tokens", d_scores.tokens_of}}},
                         {"sample", tok.decode(d.outputs.front(), true)}});
    std::cerr << "eval: gamma " << g << " done\n";
  }
  out["diffusion"] = per_gamma;
  out["quality_measure"] =
      "quality_vs_ar = exp(mean log-likelihood per token of the diffusion continuation - that of the AR greedy "
      "continuation), both scored by the context tower (= AR perplexity / diffusion perplexity); agreement_with_ar = "
      "fraction of AR greedy's positions where diffusion produced the same token; repeated_bigram_rate guards "
      "against degenerate repetition that the likelihood alone would reward; *_ci95 = 95% percentile bootstrap "
      "interval over documents (a resample draws held-out documents with replacement and takes all their prompts; "
      "1000 resamples, paired with AR); per_prompt holds each prompt's figures in prompt order, prompts.document "
      "each prompt's document";
  out["block_size"] = o.block_size;
  out["steps"] = o.steps;
  out["seconds"] = seconds_since(start);
  return out;
}

}  // namespace tt::eval
