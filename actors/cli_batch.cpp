// `twotower batch`: offline batch inference. Reads one JSON request per line
// (JSONL), runs them through the in-process engine in batches, and writes one
// JSON result per line in input order. A bad line gets an error object of its
// own; the other lines still run.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "actors/cli_args.hpp"
#include "actors/cli_result.hpp"
#include "actors/commands.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/engine.hpp"
#include "model/error.hpp"

namespace tt::cli {
namespace {

constexpr const char* kBatchHelp =
    "usage: twotower batch --input FILE.jsonl [--output FILE.jsonl] [--model DIR] [--batch 32]\n"
    "                      [--mode diffusion|ar|mock-ar] [--gamma 0.8] [--block-size 16] [--steps 16]\n"
    "                      [--max-tokens 64] [--temperature 0] [--seed 0] [--threads N] [--ignore-eos]\n"
    "Each input line is a JSON object with \"prompt\" (text) or \"prompt_ids\" (token ids) and,\n"
    "optionally, per-request \"max_tokens\", \"mode\", \"gamma\", \"block_size\", \"steps\",\n"
    "\"temperature\", \"seed\", \"ignore_eos\" (the options give the defaults; with ignore_eos an EOS\n"
    "does not end the sequence, which then has exactly max_tokens tokens). Each output line holds the fields of\n"
    "`generate --json` plus \"index\" (the input line, from 0), or {\"index\", \"error\"} for a bad line.\n"
    "Exit status 0 when every line succeeded, 1 when some failed.\n";

struct Line {
  std::optional<GenerateRequest> request;
  std::string error;
};

template <class T>
T field(const nlohmann::json& j, const char* name, T fallback) {
  if (!j.contains(name)) return fallback;
  const auto& v = j.at(name);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw Error(std::string("\"") + name + "\" must be a string");
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) throw Error(std::string("\"") + name + "\" must be an integer");
  } else {
    if (!v.is_number()) throw Error(std::string("\"") + name + "\" must be a number");
  }
  return v.get<T>();
}

GenerateRequest parse_line(const std::string& text, const GenerateRequest& defaults, const Model& model) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw Error("not valid JSON");
  }
  if (!j.is_object()) throw Error("a line must be a JSON object");
  static const std::set<std::string> known{"prompt", "prompt_ids", "max_tokens", "mode", "gamma",
                                           "block_size", "steps", "temperature", "seed", "ignore_eos"};
  for (const auto& [key, value] : j.items())
    if (!known.count(key)) throw Error("unknown field \"" + key + "\"");
  if (j.contains("prompt") == j.contains("prompt_ids")) throw Error("give exactly one of \"prompt\" and \"prompt_ids\"");
  GenerateRequest r = defaults;
  if (j.contains("prompt")) {
    const auto prompt = field<std::string>(j, "prompt", "");
    if (prompt.empty()) throw Error("\"prompt\" is empty");
    if (!model.tokenizer) throw Error(model.dir + ": no tokenizer.json; use \"prompt_ids\"");
    r.prompt = model.tokenizer->encode(prompt, true);
  } else {
    const auto& ids = j.at("prompt_ids");
    if (!ids.is_array() || ids.empty()) throw Error("\"prompt_ids\" must be a non-empty array of token ids");
    r.prompt.clear();
    for (const auto& id : ids) {
      if (!id.is_number_integer()) throw Error("\"prompt_ids\" must hold integers");
      const auto v = id.get<int64_t>();
      if (v < 0 || v >= model.config.vocab_size)
        throw Error("\"prompt_ids\": token id " + std::to_string(v) + " is outside the vocabulary");
      r.prompt.push_back(static_cast<int32_t>(v));
    }
  }
  if (j.contains("mode")) r.mode = parse_mode(field<std::string>(j, "mode", ""));
  const auto max_tokens = field<int64_t>(j, "max_tokens", r.max_tokens);
  if (max_tokens < 1 || max_tokens > kMaxTokensCap) throw Error("\"max_tokens\" is out of range");
  r.max_tokens = static_cast<int>(max_tokens);
  r.diffusion.gamma = static_cast<float>(field<double>(j, "gamma", r.diffusion.gamma));
  if (!(r.diffusion.gamma > 0.0f && r.diffusion.gamma <= 1.0f)) throw Error("\"gamma\" must be in (0, 1]");
  const auto block = field<int64_t>(j, "block_size", r.diffusion.block_size);
  const auto steps = field<int64_t>(j, "steps", r.diffusion.steps);
  if (block < 1 || block > 4096) throw Error("\"block_size\" must be in [1, 4096]");
  if (steps < 1 || steps > 4096) throw Error("\"steps\" must be in [1, 4096]");
  r.diffusion.block_size = static_cast<int>(block);
  r.diffusion.steps = static_cast<int>(steps);
  r.diffusion.temperature = static_cast<float>(field<double>(j, "temperature", r.diffusion.temperature));
  if (!(r.diffusion.temperature >= 0.0f)) throw Error("\"temperature\" must be >= 0");
  const auto seed = field<int64_t>(j, "seed", static_cast<int64_t>(r.diffusion.seed));
  if (seed < 0) throw Error("\"seed\" must be >= 0");
  r.diffusion.seed = static_cast<uint64_t>(seed);
  if (j.contains("ignore_eos")) {
    if (!j.at("ignore_eos").is_boolean()) throw Error("\"ignore_eos\" must be a boolean");
    r.ignore_eos = j.at("ignore_eos").get<bool>();
  }
  validate(r, model.config);
  return r;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("--input " + path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string s; std::getline(in, s);) lines.push_back(s);
  return lines;
}

}  // namespace

int run_batch(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kBatchHelp, stdout), 0;
  Args a(argv,
         {"model", "input", "output", "batch", "mode", "gamma", "block-size", "steps", "max-tokens",
          "temperature", "seed", "threads"},
         {"ignore-eos"});
  if (!a.has("input")) throw Error("--input is required");
  const GenerateRequest defaults = generate_options(a);
  const auto batch = static_cast<size_t>(a.integer("batch", 32, 1, 4096));
  if (a.has("threads")) cpu::ThreadPool::set_global_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));

  const auto texts = read_lines(*a.str("input"));
  std::ofstream file;
  if (a.has("output")) {
    file.open(*a.str("output"));
    if (!file) throw Error("--output " + *a.str("output") + ": cannot open for writing");
  }
  std::ostream& out = a.has("output") ? file : std::cout;

  // Decide what to load from the raw lines: the denoiser only when some line may need it.
  LoadOptions load;
  load.denoiser = defaults.mode != Mode::ar;
  for (const auto& t : texts)
    if (t.find("\"mode\"") != std::string::npos) load.denoiser = true;
  auto model = Model::load(a.str("model", default_model_dir()), load);

  std::vector<Line> lines(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      lines[i].request = parse_line(texts[i], defaults, *model);
      if (lines[i].request->mode != Mode::ar && !model->weights.denoiser)
        throw Error(model->dir + ": this mode needs the denoiser tower");
    } catch (const Error& e) {
      lines[i].request.reset();
      lines[i].error = e.what();
    }
  }

  Engine engine(*model);
  size_t failed = 0;
  for (size_t b = 0; b < lines.size(); b += batch) {
    const size_t e = std::min(lines.size(), b + batch);
    std::vector<GenerateRequest> reqs;
    for (size_t i = b; i < e; ++i)
      if (lines[i].request) reqs.push_back(*lines[i].request);
    const auto results = engine.generate(reqs);
    size_t next = 0;
    for (size_t i = b; i < e; ++i) {
      nlohmann::json j;
      if (lines[i].request) {
        j = result_json(*model, *lines[i].request, results[next++]);
      } else {
        j["error"] = lines[i].error;
        ++failed;
      }
      j["index"] = i;
      out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    out.flush();
  }
  if (failed) std::fprintf(stderr, "twotower batch: %zu of %zu lines failed (see their \"error\")\n", failed, lines.size());
  return failed ? 1 : 0;
}

}  // namespace tt::cli
