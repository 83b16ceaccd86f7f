// The in-process engine: runs a batch of requests to completion, one batched
// denoiser forward per refinement step across all active blocks and one
// batched context forward per round across all sequences that extend.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/decoding.hpp"
#include "model/model.hpp"

namespace tt {

enum class Mode : uint8_t { diffusion, ar, mock_ar };

const char* mode_name(Mode m);
Mode parse_mode(const std::string& s);  // throws tt::Error on unknown names

struct GenerateRequest {
  std::vector<int32_t> prompt;
  Mode mode = Mode::diffusion;
  int max_tokens = 64;
  DiffusionParams diffusion;  // gamma, block size, steps, temperature, seed (all modes use temperature/seed)
  bool trace = false;         // record every block's tokens after every step
};

enum class FinishReason : uint8_t { length, stop };

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (EOS included when it ended the sequence)
  FinishReason finish = FinishReason::length;
  int prompt_tokens = 0;
  int denoiser_forwards = 0;  // denoiser forwards this sequence took part in
  int context_forwards = 0;   // context forwards this sequence took part in
  double seconds = 0;         // from the start of generate() to this sequence's end
  // trace[block][step] = the block's tokens after that step (when requested).
  std::vector<std::vector<std::vector<int32_t>>> trace;
};

struct ScoreResult {
  double logprob = 0;
  std::vector<double> token_logprobs;
};

// Checks a request against the model; throws tt::Error naming the parameter.
void validate(const GenerateRequest& request, const ModelConfig& config);

class Engine {
public:
  explicit Engine(const Model& model);
  ~Engine();

  std::vector<GenerateResult> generate(std::span<const GenerateRequest> requests);
  GenerateResult generate(const GenerateRequest& request);
  ScoreResult score(std::span<const int32_t> prompt, std::span<const int32_t> continuation);

  const Model& model() const { return model_; }

private:
  struct Impl;
  const Model& model_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tt
