#include "actors/cli_result.hpp"

namespace tt::cli {

nlohmann::json result_json(const Model& model, const GenerateRequest& req, const GenerateResult& r) {
  const int n = static_cast<int>(r.tokens.size());
  const int forwards = req.mode == Mode::ar ? r.context_forwards : r.denoiser_forwards;
  nlohmann::json j;
  j["text"] = model.tokenizer ? model.tokenizer->decode(r.tokens, true) : std::string();
  j["token_ids"] = r.tokens;
  j["mode"] = mode_name(req.mode);
  j["model"] = model.dir;
  j["prompt_tokens"] = r.prompt_tokens;
  j["generated_tokens"] = n;
  j["finish_reason"] = r.finish == FinishReason::stop ? "stop" : "length";
  j["denoiser_forwards"] = r.denoiser_forwards;
  j["context_forwards"] = r.context_forwards;
  if (req.mode == Mode::diffusion) j["committed_tokens"] = r.committed_tokens;
  j["tokens_per_forward"] = forwards > 0 ? static_cast<double>(n) / forwards : 0.0;
  j["seconds"] = r.seconds;
  j["tokens_per_second"] = r.seconds > 0 ? n / r.seconds : 0.0;
  j["load_seconds"] = model.load_seconds;
  if (req.mode == Mode::diffusion) {
    j["gamma"] = req.diffusion.gamma;
    j["block_size"] = req.diffusion.block_size;
    j["steps"] = req.diffusion.steps;
  }
  j["temperature"] = req.diffusion.temperature;
  j["seed"] = req.diffusion.seed;
  return j;
}

}  // namespace tt::cli
