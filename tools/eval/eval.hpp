// `twotower eval`: the quality and speed figures of a model card, measured
// with the C++ engine on held-out text: AR perplexity, and for each gamma the
// tokens committed per denoiser forward and the quality of diffusion relative
// to AR greedy decoding on the same prompts.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::eval {

struct EvalOptions {
  std::string model_dir;
  std::string heldout_path;  // one paragraph per line, blank line between documents
  int max_documents = 200;   // documents scored for perplexity
  int window = 256;          // tokens scored per document (from its start)
  int prompts = 128;         // generation prompts (held-out paragraph openings, spread over documents)
  int prompt_tokens = 24;    // tokens of each paragraph used as the prompt (after <s>)
  int max_tokens = 64;       // generated tokens per prompt
  std::vector<float> gammas{0.5f, 0.7f, 0.8f, 0.9f, 0.95f};
  int block_size = 16;
  int steps = 16;
  int batch = 16;            // prompts per engine.generate call
};

nlohmann::json run_eval(const EvalOptions& options);

}  // namespace tt::eval
