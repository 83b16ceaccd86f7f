// tt_gpu_decode_bench: AR vs diffusion on the GPU backend for a real model
// (default: models/default), with the CPU backend on the same requests as the
// reference point. Prints JSON: per mode and batch, generated tokens/s,
// tokens per denoiser forward, and the GPU/CPU speed ratio.
// Usage: tt_gpu_decode_bench [--model DIR] [--device N[,M]] [--tokens 64] [--quick]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/batch_decode.hpp"
#include "model/cuda/gpu_backend.hpp"
#include "model/weights.hpp"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<tt::GenerateRequest> requests(tt::Mode mode, int batch, int tokens, int vocab) {
  std::vector<tt::GenerateRequest> rs(batch);
  for (int i = 0; i < batch; ++i) {
    rs[i].mode = mode;
    rs[i].prompt = {1};
    for (int j = 0; j < 24; ++j) rs[i].prompt.push_back(4 + (i * 131 + j * 17) % (vocab - 4));
    rs[i].max_tokens = tokens;
    rs[i].diffusion.gamma = 0.8f;
  }
  return rs;
}

json run(tt::DecodeBackend& be, const tt::ModelConfig& cfg, tt::Mode mode, int batch, int tokens) {
  const auto rs = requests(mode, batch, tokens, cfg.vocab_size);
  tt::decode_batch(be, cfg, rs);  // warm-up (allocations, cuBLAS heuristics)
  const auto t0 = Clock::now();
  const auto out = tt::decode_batch(be, cfg, rs);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  long generated = 0, committed = 0, forwards = 0;
  for (const auto& r : out) generated += r.tokens.size(), committed += r.committed_tokens, forwards += r.denoiser_forwards;
  json j = {{"mode", tt::mode_name(mode)}, {"batch", batch}, {"seconds", s}, {"tokens_per_s", generated / s}};
  if (mode == tt::Mode::diffusion) j["tokens_per_denoiser_forward"] = forwards ? double(committed) / forwards : 0.0;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = std::string(TWOTOWER_SOURCE_DIR) + "/models/default", devices = "0";
  int tokens = 64;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--model") == 0 && i + 1 < argc) dir = argv[++i];
    else if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) devices = argv[++i];
    else if (std::strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) tokens = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else return std::fprintf(stderr, "usage: tt_gpu_decode_bench [--model DIR] [--device N[,M]] [--tokens 64] [--quick]\n"), 2;
  }
  try {
    const tt::ModelConfig cfg = tt::load_config(dir + "/config.json");
    auto ck = std::make_shared<const tt::Checkpoint>(tt::Checkpoint::open(dir));
    const tt::ModelWeights cpu_weights = tt::load_weights(cfg, ck);
    tt::CpuDecodeBackend cpu(cfg, cpu_weights);
    tt::gpu::Backend gpu(cfg, *ck, tt::gpu::parse_devices(devices));
    json out = {{"model", dir}, {"placement", gpu.describe()}, {"runs", json::array()}};
    const std::vector<int> batches = quick ? std::vector<int>{1, 8} : std::vector<int>{1, 8, 32};
    for (tt::Mode mode : {tt::Mode::ar, tt::Mode::diffusion})
      for (int b : batches) {
        json g = run(gpu, cfg, mode, b, tokens);
        json c = run(cpu, cfg, mode, b, tokens);
        g["cpu_tokens_per_s"] = c["tokens_per_s"];
        g["gpu_over_cpu"] = g["tokens_per_s"].get<double>() / c["tokens_per_s"].get<double>();
        out["runs"].push_back(g);
        std::fprintf(stderr, "%s batch %d: %.0f tok/s (CPU %.0f)\n", tt::mode_name(mode), b,
                     g["tokens_per_s"].get<double>(), c["tokens_per_s"].get<double>());
      }
    std::cout << out.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tt_gpu_decode_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
