// `twotower generate` and `twotower score`: the in-process engine from the command line.
#include <chrono>
#include <cmath>
#include <set>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "actors/cli_args.hpp"
#include "actors/cli_result.hpp"
#include "actors/cluster_config.hpp"
#include "actors/commands.hpp"
#include "actors/remote_generate.hpp"
#include "actors/tls.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/batch_decode.hpp"
#include "model/engine.hpp"
#include "model/error.hpp"
#ifdef TWOTOWER_HAVE_CUDA
#include "model/cuda/gpu_backend.hpp"
#endif

namespace tt::cli {
namespace {

constexpr const char* kGenerateHelp =
    "usage: twotower generate [--model DIR] (--prompt TEXT | --prompt-ids 1,2,3)\n"
    "                         [--mode diffusion|ar|mock-ar] [--gamma 0.8] [--block-size 16]\n"
    "                         [--steps 16] [--max-tokens 64] [--temperature 0] [--seed 0]\n"
    "                         [--threads N] [--json] [--ignore-eos]  (EOS does not stop: max-tokens tokens)\n"
    "                         [--connect HOST:PORT [--timeout-ms 300000] [TLS options]]  (ask a context actor)\n"
    "                         [--device N | --device N,M]  (CUDA: both towers on N, or context on N and\n"
    "                                                       denoiser on M; AR and diffusion)\n";
constexpr const char* kScoreHelp =
    "usage: twotower score [--model DIR] (--prompt TEXT | --prompt-ids IDS)\n"
    "                      (--continuation TEXT | --continuation-ids IDS) [--threads N] [--json]\n"
    "                      [--connect HOST:PORT [--timeout-ms 60000] [TLS options]]  (ask a context actor)\n";

// The options of a subcommand plus the TLS ones.
std::set<std::string> with_tls(std::set<std::string> options) {
  options.insert(actors::kTlsOptions.begin(), actors::kTlsOptions.end());
  return options;
}

// TLS options only make sense with --connect.
actors::TlsFiles client_tls(const Args& a) {
  auto tls = actors::tls_from_args(a);
  if (tls.enabled() && !a.has("connect")) throw Error("--tls-cert needs --connect");
  return tls;
}

void apply_threads(const Args& a) {
  if (a.has("threads")) cpu::ThreadPool::set_global_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
}

std::vector<int32_t> tokens_of(const Model& m, const Args& a, const std::string& text_opt,
                               const std::string& ids_opt, bool special) {
  if (a.has(text_opt) == a.has(ids_opt))
    throw Error("give exactly one of --" + text_opt + " and --" + ids_opt);
  if (a.has(ids_opt)) return parse_id_list(*a.str(ids_opt), ids_opt);
  if (!m.tokenizer) throw Error(m.dir + ": no tokenizer.json; pass --" + ids_opt + " instead");
  const std::string text = *a.str(text_opt);
  if (text.empty()) throw Error("--" + text_opt + ": empty text");
  return m.tokenizer->encode(text, special);
}

// --device: the GPU backend (model/cuda) runs the decoding loop of model/batch_decode.
GenerateResult generate_on_device(const Model& m, const std::string& devices, const GenerateRequest& req) {
#ifdef TWOTOWER_HAVE_CUDA
  gpu::Placement placement = gpu::parse_devices(devices);
  placement.denoiser = req.mode != Mode::ar;
  gpu::Backend backend(m.config, *m.weights.checkpoint, placement);
  std::fprintf(stderr, "%s\n", backend.describe().c_str());
  return decode_batch(backend, m.config, {&req, 1}).front();
#else
  (void)m, (void)req;
  throw Error("--device " + devices + ": this build has no CUDA (configure with -DTWOTOWER_CUDA=ON where nvcc is installed)");
#endif
}

std::string text_of(const Model& m, const std::vector<int32_t>& ids) {
  return m.tokenizer ? m.tokenizer->decode(ids, true) : std::string();
}

}  // namespace

int run_generate(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kGenerateHelp, stdout), 0;
  Args a(argv,
         with_tls({"model", "prompt", "prompt-ids", "mode", "gamma", "block-size", "steps", "max-tokens",
                   "temperature", "seed", "threads", "connect", "timeout-ms", "device"}),
         {"json", "ignore-eos"});
  const auto tls = client_tls(a);
  GenerateRequest req = generate_options(a);
  if (!a.has("prompt") && !a.has("prompt-ids")) throw Error("--prompt is required");
  apply_threads(a);

  if (a.has("timeout-ms") && !a.has("connect")) throw Error("--timeout-ms needs --connect");
  LoadOptions load;
  load.denoiser = req.mode != Mode::ar;
  if (a.has("device") && a.has("connect")) throw Error("give at most one of --device and --connect");
  // With --connect the tokenizer is all we need here; with --device the towers go to the GPU.
  if (a.has("connect") || a.has("device")) load.context = load.denoiser = false;
  auto model = Model::load(a.str("model", default_model_dir()), load);
  req.prompt = tokens_of(*model, a, "prompt", "prompt-ids", true);
  GenerateResult r;
  if (a.has("connect")) {
    const auto [host, port] = actors::parse_host_port(*a.str("connect"), "connect");
    const auto timeout = std::chrono::milliseconds(a.integer("timeout-ms", 300000, 1, 86400000));
    r = actors::generate_remote(host, port, req, timeout, tls);
  } else if (a.has("device")) {
    r = generate_on_device(*model, *a.str("device"), req);
  } else {
    Engine engine(*model);
    r = engine.generate(req);
  }

  if (a.flag("json")) {
    std::cout << result_json(*model, req, r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << text_of(*model, r.tokens) << "\n";
  }
  return 0;
}

int run_score(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kScoreHelp, stdout), 0;
  Args a(argv,
         with_tls({"model", "prompt", "prompt-ids", "continuation", "continuation-ids", "threads", "connect",
                   "timeout-ms"}),
         {"json"});
  if (!a.has("prompt") && !a.has("prompt-ids")) throw Error("--prompt is required");
  if (!a.has("continuation") && !a.has("continuation-ids")) throw Error("--continuation is required");
  if (a.has("timeout-ms") && !a.has("connect")) throw Error("--timeout-ms needs --connect");
  const auto tls = client_tls(a);
  apply_threads(a);
  LoadOptions load;
  load.denoiser = false;
  if (a.has("connect")) load.context = false;  // the tokenizer is all we need here
  auto model = Model::load(a.str("model", default_model_dir()), load);
  const auto prompt = tokens_of(*model, a, "prompt", "prompt-ids", true);
  const auto cont = tokens_of(*model, a, "continuation", "continuation-ids", false);
  ScoreResult s;
  if (a.has("connect")) {
    const auto [host, port] = actors::parse_host_port(*a.str("connect"), "connect");
    const auto timeout = std::chrono::milliseconds(a.integer("timeout-ms", 60000, 1, 86400000));
    s = actors::score_remote(host, port, prompt, cont, timeout, tls);
  } else {
    Engine engine(*model);
    s = engine.score(prompt, cont);
  }
  if (a.flag("json")) {
    nlohmann::json j;
    j["logprob"] = s.logprob;
    j["tokens"] = cont.size();
    j["token_ids"] = cont;
    j["token_logprobs"] = s.token_logprobs;
    j["perplexity"] = std::exp(-s.logprob / static_cast<double>(cont.size()));
    std::cout << j.dump() << "\n";
  } else {
    std::printf("%.6f\n", s.logprob);
  }
  return 0;
}

}  // namespace tt::cli
