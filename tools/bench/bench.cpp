// `twotower bench`: runs the sections side by side in one process so that
// AR and diffusion are compared on the same machine state.
#include "tools/bench/bench.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/engine.hpp"
#include "model/error.hpp"
#include "tools/bench/gemm_bench.hpp"
#include "tools/bench/layer_stack.hpp"

namespace tt::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Varied openings (code, maths, prose, chat) so the batch does not repeat one prompt.
constexpr const char* kPrompts[] = {
    "The capital of France is Paris, and the capital of Germany is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "Question: what is 17 times 23? Answer: Let us compute step by step.",
    "Once upon a time, in a small village by the sea, there lived an old",
    "The mitochondria is the powerhouse of the cell because it produces",
    "SELECT name, COUNT(*) FROM orders GROUP BY name HAVING",
    "In 1969, Neil Armstrong became the first person to walk on the",
    "To install the package, run pip install and then import it with",
    "The quick brown fox jumps over the lazy dog. The lazy dog then",
    "Photosynthesis converts sunlight, water and carbon dioxide into",
    "Dear hiring manager, I am writing to apply for the position of",
    "for (int i = 0; i < n; ++i) { sum += a[i] *",
    "The theorem states that for every prime p greater than two,",
    "Recipe: preheat the oven to 200 degrees, then mix the flour with",
    "User: Can you explain how a transformer works?\nAssistant:",
    "The stock market fell sharply on Monday after the central bank",
    "A haiku about autumn leaves falling slowly on a quiet",
    "The derivative of x squared plus three x is equal to",
    "Shakespeare wrote Hamlet, Macbeth and many other plays, including",
    "import numpy as np\nx = np.linspace(0, 1, 100)\ny =",
    "The best way to learn a new language is to practise every",
    "Water boils at 100 degrees Celsius at sea level, but on a mountain",
    "Translate to German: The weather is nice today. German:",
    "The Pythagorean theorem relates the sides of a right triangle:",
    "My favourite book as a child was about a dragon who",
    "const express = require('express');\nconst app = express();\napp.",
    "The three primary colours of light are red, green and",
    "Summary of the meeting: the team agreed to postpone the launch",
    "In computer science, a hash table maps keys to values using",
    "The Great Wall of China was built over many centuries to",
    "Step 1: gather the ingredients. Step 2: chop the onions. Step 3:",
    "If a train leaves the station at 3 pm travelling at 60 km/h,",
};

struct RunStats {
  json j;
  double tokens_per_second = 0;
};

RunStats run_batch(Engine& engine, const std::vector<std::vector<int32_t>>& prompts, int b, Mode mode,
                   const BenchOptions& o) {
  std::vector<GenerateRequest> reqs(b);
  for (int i = 0; i < b; ++i) {
    reqs[i].prompt = prompts[i];
    reqs[i].mode = mode;
    reqs[i].max_tokens = o.max_tokens;
    reqs[i].diffusion.gamma = o.gamma;
    reqs[i].diffusion.block_size = o.block_size;
    reqs[i].diffusion.steps = o.steps;
    reqs[i].diffusion.temperature = 0;
  }
  const auto t0 = Clock::now();
  const auto res = engine.generate(reqs);
  const double s = since(t0);
  int64_t tokens = 0, den = 0;
  int den_max = 0, ctx_max = 0, eos = 0;
  for (const auto& r : res) {
    tokens += static_cast<int64_t>(r.tokens.size());
    den += r.denoiser_forwards;
    // Every sequence starts together, so the batch ran as many forwards as its longest member.
    den_max = std::max(den_max, r.denoiser_forwards);
    ctx_max = std::max(ctx_max, r.context_forwards);
    eos += r.finish == FinishReason::stop;
  }
  RunStats st;
  st.tokens_per_second = tokens / s;
  st.j = {{"tokens", tokens}, {"seconds", s}, {"tokens_per_second", st.tokens_per_second},
          {"context_forwards", ctx_max}, {"stopped_at_eos", eos}};
  if (mode != Mode::ar) {
    st.j["denoiser_forwards"] = den_max;
    st.j["tokens_per_denoiser_forward"] = den > 0 ? static_cast<double>(tokens) / den : 0.0;
  }
  return st;
}

}  // namespace

// One prompt per sequence: the tokenized texts above (cycled), or, without a
// usable tokenizer, 16 pseudo-random ids per sequence.
std::vector<std::vector<int32_t>> make_prompts(const Model& m, int count) {
  const int V = m.config.vocab_size;
  constexpr int kTexts = static_cast<int>(std::size(kPrompts));
  std::vector<std::vector<int32_t>> out;
  bool ok = m.tokenizer.has_value();
  for (int i = 0; ok && i < count; ++i) {
    auto ids = m.tokenizer->encode(kPrompts[i % kTexts], true);
    if (i >= kTexts) ids.insert(ids.end() - 1, static_cast<int32_t>(4 + i % std::max(1, V - 4)));  // keep them distinct
    ok = ids.size() >= 2 && std::all_of(ids.begin(), ids.end(), [V](int32_t t) { return t >= 0 && t < V; });
    out.push_back(std::move(ids));
  }
  if (ok) return out;
  out.clear();
  for (int i = 0; i < count; ++i) {
    std::vector<int32_t> ids;
    for (int j = 0; j < 16; ++j) {
      const uint32_t h = (static_cast<uint32_t>(i) * 2654435761u) ^ (static_cast<uint32_t>(j + 1) * 40503u);
      ids.push_back(static_cast<int32_t>(4 + (h ^ (h >> 13)) % static_cast<uint32_t>(std::max(1, V - 4))));
    }
    out.push_back(std::move(ids));
  }
  return out;
}

json machine_info() {
  json j;
  j["threads"] = cpu::ThreadPool::global().size();
  j["hardware_concurrency"] = std::thread::hardware_concurrency();
  std::string model = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  j["cpu_model"] = model;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  j["memory_bytes"] = pages > 0 && page > 0 ? static_cast<double>(pages) * page : 0.0;
  j["gemm_isa"] = cpu::gemm_isa();
  return j;
}

json run_model_bench(const BenchOptions& o) {
  auto model = Model::load(o.model_dir);
  std::fprintf(stderr, "bench: loaded %s in %.2f s\n", model->dir.c_str(), model->load_seconds);
  Engine engine(*model);
  const int max_b = o.batches.empty() ? 1 : *std::max_element(o.batches.begin(), o.batches.end());
  const auto prompts = make_prompts(*model, max_b);

  json out;
  out["dir"] = model->dir;
  out["layers"] = model->config.hybrid_override_pattern;
  out["hidden"] = model->config.hidden_size;
  out["vocab"] = model->config.vocab_size;
  out["load_seconds"] = model->load_seconds;
  out["max_tokens"] = o.max_tokens;
  out["diffusion"] = {{"gamma", o.gamma}, {"block_size", o.block_size}, {"steps", o.steps}, {"temperature", 0}};
  out["prompts"] = model->tokenizer ? "varied English/code texts, tokenized" : "pseudo-random ids, 16 per sequence";
  out["note"] =
      "each figure is one Engine::generate call over the whole batch, prefill included; on random weights "
      "diffusion commits about 1 token per denoiser forward, so its ratio to AR is below 1 there";

  // Warm-up: thread start-up, first-touch of workspaces.
  {
    GenerateRequest w;
    w.prompt = prompts[0];
    w.max_tokens = 2;
    w.mode = Mode::ar;
    engine.generate(w);
    w.mode = Mode::diffusion;
    engine.generate(w);
  }
  json batches = json::array();
  for (int b : o.batches) {
    std::fprintf(stderr, "bench: model at batch %d...\n", b);
    double prompt_tokens = 0;
    for (int i = 0; i < b; ++i) prompt_tokens += static_cast<double>(prompts[i].size());
    const RunStats ar = run_batch(engine, prompts, b, Mode::ar, o);
    const RunStats diff = run_batch(engine, prompts, b, Mode::diffusion, o);
    batches.push_back({{"batch", b},
                       {"prompt_tokens_mean", prompt_tokens / b},
                       {"ar", ar.j},
                       {"diffusion", diff.j},
                       {"ratio_diffusion_vs_ar", diff.tokens_per_second / ar.tokens_per_second}});
  }
  out["batches"] = std::move(batches);
  return out;
}

json run_bench(const BenchOptions& o) {
  const auto t0 = Clock::now();
  json out;
  out["machine"] = machine_info();
  out["options"] = {{"quick", o.quick},
                    {"batches", o.batches},
                    {"max_tokens", o.max_tokens},
                    {"gamma", o.gamma},
                    {"context_tokens", o.context_tokens},
                    {"gemm_seconds_per_case", o.gemm_seconds_per_case}};
  out["model"] = run_model_bench(o);

  std::fprintf(stderr, "bench: GEMM...\n");
  out["gemm"] = run_gemm_bench(o.gemm_seconds_per_case);

  LayerStackOptions ls;
  ls.batches = o.batches;
  ls.context_tokens = o.context_tokens;
  ls.block_size = o.block_size;
  ls.seconds_per_measurement = o.stack_seconds_per_measurement;
  out["layer_stack"] = run_layer_stack_bench(ls);
  out["total_seconds"] = since(t0);
  return out;
}

}  // namespace tt::bench
