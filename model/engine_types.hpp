// Requests and results of generation and scoring, shared by the in-process
// engine and the context core that the actors drive.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/decoding.hpp"

namespace tt {

enum class Mode : uint8_t { diffusion, ar, mock_ar };

const char* mode_name(Mode m);
Mode parse_mode(const std::string& s);  // throws tt::Error on unknown names

struct GenerateRequest {
  std::vector<int32_t> prompt;
  Mode mode = Mode::diffusion;
  int max_tokens = 64;
  DiffusionParams diffusion;  // gamma, block size, steps; temperature and seed serve every mode
  bool trace = false;         // record every block's tokens after every step
  bool ignore_eos = false;    // EOS does not end the sequence: exactly max_tokens (load tests)
};

enum class FinishReason : uint8_t { length, stop };

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (EOS included when it ended the sequence)
  FinishReason finish = FinishReason::length;
  int prompt_tokens = 0;
  int denoiser_forwards = 0;  // denoiser forwards this sequence took part in
  int context_forwards = 0;   // context forwards this sequence took part in
  int committed_tokens = 0;   // tokens the denoiser committed (whole blocks, before EOS/length truncation)
  double seconds = 0;         // from submission to this sequence's end
  // trace[block][step] = the block's tokens after that step (when requested).
  std::vector<std::vector<std::vector<int32_t>>> trace;
};

struct ScoreResult {
  double logprob = 0;
  std::vector<double> token_logprobs;
};

// Checks a request against the model; throws tt::Error naming the parameter.
void validate(const GenerateRequest& request, const ModelConfig& config);

// The stop rule: appends `tokens` to result.tokens up to and including the first
// EOS or the max_tokens-th token. Returns true, with result.finish set, when the
// sequence ended (the caller stamps the time and stops extending it).
bool append_tokens(GenerateResult& result, std::span<const int32_t> tokens, int max_tokens, int32_t eos);

}  // namespace tt
