// GPU DenoiserCompute (see gpu_denoiser.hpp).
#include "model/cuda/gpu_denoiser.hpp"

#include <map>
#include <tuple>

#include "model/cuda/gpu_backend.hpp"
#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_tower.hpp"
#include "model/cuda/gpu_weights.hpp"
#include "model/decoding.hpp"
#include "model/error.hpp"
#include "model/weights.hpp"

namespace tt::gpu {
namespace {

class GpuDenoiserCompute : public DenoiserCompute {
public:
  GpuDenoiserCompute(const ModelConfig& config, const Checkpoint& checkpoint, int device)
      : config_(config), tower_(config, checkpoint, device, DeviceTower::Kind::denoiser) {}
  ~GpuDenoiserCompute() override {
    cuda::DeviceScope on(tower_.device(), std::nothrow);  // the seeds are freed on their device
    seeds_.clear();
  }

  void admit(const BlockJob& job) override {
    cuda::DeviceScope on(tower_.device());
    if (job.seed.device >= 0) {  // a CUDA IPC mapping (model/device_region.hpp): read in place
      if (job.seed.device != tower_.device())
        throw Error("denoiser on device " + std::to_string(tower_.device()) + " got a seed mapped on device " +
                    std::to_string(job.seed.device));
      views_[job.job_id] = job.seed;
      return;
    }
    auto seed = std::make_unique<SequenceCache>(config_, job.seed.length);
    seed->upload(job.seed);
    views_[job.job_id] = seed->view();
    seeds_[job.job_id] = std::move(seed);
  }

  void retire(uint64_t job_id) override {
    views_.erase(job_id);
    cuda::DeviceScope on(tower_.device(), std::nothrow);  // the calling thread may have another device current
    seeds_.erase(job_id);
  }

  void step(std::span<const BlockJob> jobs, std::vector<int32_t>& pred, std::vector<float>& conf) override {
    cuda::DeviceScope on(tower_.device());
    std::vector<CacheView> seeds;
    for (const BlockJob& j : jobs) seeds.push_back(views_.at(j.job_id));
    denoiser_step(tower_.tower(), tower_.modulation(), config_, jobs, seeds, pred, conf);
  }

private:
  const ModelConfig& config_;
  DeviceTower tower_;
  std::map<uint64_t, CacheView> views_;                        // per admitted job
  std::map<uint64_t, std::unique_ptr<SequenceCache>> seeds_;  // uploaded host seeds; freed before the tower
};

}  // namespace

void denoiser_step(Tower& tower, Modulation& modulation, const ModelConfig& config, std::span<const BlockJob> jobs,
                   std::span<const CacheView> seeds, std::vector<int32_t>& pred, std::vector<float>& conf) {
  const int32_t mask = config.mask_token_id;
  std::vector<TowerItem> items;
  std::vector<int> first(jobs.size());
  int rows = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const BlockJob& j = jobs[i];
    const bool diffusion = j.kind == JobKind::diffusion_block;
    items.push_back(TowerItem{j.block.tokens, nullptr, &seeds[i], diffusion ? modulation.get(j.block.t(mask)) : nullptr,
                              !diffusion});
    first[i] = rows;
    rows += static_cast<int>(j.block.tokens.size());
  }
  tower.forward(items);
  pred.assign(rows, mask);
  conf.assign(rows, 0.0f);
  // One pick per (kind, sampling) group: diffusion rows exclude the mask id, next-token rows do not.
  std::map<std::tuple<bool, float, uint64_t>, std::pair<std::vector<int>, std::vector<uint64_t>>> groups;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const BlockJob& j = jobs[i];
    const bool greedy = j.params.temperature <= 0;
    auto& [rs, streams] =
        groups[{j.kind == JobKind::diffusion_block, greedy ? 0.0f : j.params.temperature, greedy ? 0 : j.params.seed}];
    const int n = static_cast<int>(j.block.tokens.size());
    if (j.kind == JobKind::diffusion_block) {
      for (int p = 0; p < n; ++p) {
        rs.push_back(first[i] + p);
        streams.push_back(diffusion_stream(j.block.block_index, j.block.step, p));
      }
    } else {
      rs.push_back(first[i] + n - 1);
      streams.push_back(ar_stream(j.token_index));
    }
  }
  std::vector<int32_t> tokens;
  std::vector<float> c;
  for (const auto& [key, group] : groups) {
    const auto& [diffusion, temperature, seed] = key;
    tower.pick(group.first, diffusion ? mask : -1, temperature, seed, group.second, tokens, c);
    for (size_t k = 0; k < group.first.size(); ++k) pred[group.first[k]] = tokens[k], conf[group.first[k]] = c[k];
  }
}

std::unique_ptr<DenoiserCompute> denoiser_compute(const ModelConfig& config, const Checkpoint& checkpoint, int device) {
  return std::make_unique<GpuDenoiserCompute>(config, checkpoint, device);
}

}  // namespace tt::gpu
