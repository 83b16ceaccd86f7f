// Measures a capacity profile (profiles/*.json, read by simulate, plan and mock
// compute) for a model on this machine: context and denoiser forward seconds
// as a function of batch tokens, per-sequence and per-context-token terms, and
// the histogram of tokens committed per denoiser step at each gamma.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.hpp"

namespace tt::bench {

struct ProfileOptions {
  std::vector<float> gammas = {0.5f, 0.7f, 0.8f, 0.9f, 0.95f};
  double seconds_per_point = 0.3;  // timing per measured batch shape
  int commit_tokens = 128;         // generated per prompt for the commit histograms
  int threads = 0;                 // as set by --threads (reported only)
};

nlohmann::json measure_profile(const Model& model, const ProfileOptions& o);

}  // namespace tt::bench
