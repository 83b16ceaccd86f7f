// Loading a model directory.
#include "model/model.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "model/error.hpp"

#ifndef TWOTOWER_SOURCE_DIR
#define TWOTOWER_SOURCE_DIR "."
#endif

namespace tt {

std::unique_ptr<Model> Model::load(const std::string& dir, const LoadOptions& options) {
  namespace fs = std::filesystem;
  const auto start = std::chrono::steady_clock::now();
  if (!fs::exists(dir)) throw Error(dir + ": model directory does not exist");
  if (!fs::is_directory(dir)) throw Error(dir + ": is not a directory (--model takes a model directory)");
  auto m = std::make_unique<Model>();
  m->dir = dir;
  m->config = load_config((fs::path(dir) / "config.json").string());
  const fs::path tok = fs::path(dir) / "tokenizer.json";
  if (fs::exists(tok)) {
    m->tokenizer = Tokenizer::load(tok.string());
    if (m->tokenizer->vocab_size() > m->config.vocab_size)
      throw Error(tok.string() + ": tokenizer has " + std::to_string(m->tokenizer->vocab_size()) +
                  " tokens but config.json vocab_size is " + std::to_string(m->config.vocab_size));
  }
  auto checkpoint = std::make_shared<const Checkpoint>(Checkpoint::open(dir));
  m->weights = load_weights(m->config, checkpoint, options);
  m->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

std::string default_model_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("TWOTOWER_MODEL"); env != nullptr && *env != '\0') return env;
  for (const char* rel : {"models/default", "tests/data/tiny-random"}) {
    fs::path p = fs::path(TWOTOWER_SOURCE_DIR) / rel;
    if (fs::exists(p / "config.json")) return p.string();
  }
  return (fs::path(TWOTOWER_SOURCE_DIR) / "models/default").string();
}

}  // namespace tt
