// A loaded TwoTower model directory: config.json, the safetensors checkpoint
// and tokenizer.json.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "model/config.hpp"
#include "model/safetensors.hpp"
#include "model/tokenizer.hpp"
#include "model/weights.hpp"

namespace tt {

struct Model {
  std::string dir;
  ModelConfig config;
  std::optional<Tokenizer> tokenizer;  // absent when the directory has no tokenizer.json
  ModelWeights weights;
  double load_seconds = 0;

  // Throws tt::Error naming the file/tensor at fault.
  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& options = {});
};

// Where the embedded default model lives: $TWOTOWER_MODEL, else the first of
// <source>/models/default and <source>/tests/data/tiny-random that exists.
std::string default_model_dir();

}  // namespace tt
