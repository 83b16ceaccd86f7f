// The GPU DenoiserCompute (what `twotower denoiser --device N` steps with)
// against the CPU one on the default model: the (token, confidence) pairs of
// diffusion blocks at several masked fractions and of a mock-AR next-token
// job, with the seed received as a host view (as from a context actor; two
// contexts, alternating between the jobs); the same jobs seeded from device
// memory (a CUDA IPC mapping) give the same pairs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_denoiser.hpp"
#include "model/decoding.hpp"
#include "model/error.hpp"
#include "model/denoiser_compute.hpp"
#include "model/tower.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

TEST(GpuDenoiserCompute, PairsMatchTheCpuCompute) {
  TT_REQUIRE_GPU();
  const std::string dir = std::string(TWOTOWER_TEST_SOURCE) + "/models/default";
  const ModelConfig config = load_config(dir + "/config.json");
  auto ck = std::make_shared<const Checkpoint>(Checkpoint::open(dir));
  const ModelWeights weights = load_weights(config, ck);
  auto cpu = cpu_denoiser_compute(config, weights);
  auto gpu = gpu::denoiser_compute(config, *ck, 0);

  // Two contexts, alternating between the jobs: a job that reads another job's seed shows.
  Tower ctx(config, *weights.context);
  SequenceCache cache(config), other(config);
  const std::vector<int32_t> prompt = {1, 300, 301, 302, 303, 304, 17, 900, 12, 40}, other_prompt = {1, 52, 3000, 61};
  const TowerItem contexts[] = {{prompt, &cache, nullptr, nullptr, true}, {other_prompt, &other, nullptr, nullptr, true}};
  std::vector<float> hidden;
  for (const TowerItem& item : contexts) ctx.forward({&item, 1}, hidden);
  const SequenceCache* host_seeds[] = {&cache, &other};

  std::vector<BlockJob> jobs;
  for (int masked : {16, 9, 3}) {
    BlockJob j;
    j.job_id = jobs.size() + 1;
    j.sequence_id = j.job_id;
    j.seed = view_of(*host_seeds[jobs.size() % 2]);
    j.block = new_block(0, 16, config.mask_token_id);
    for (int p = masked; p < 16; ++p) j.block.tokens[p] = 100 + p;  // committed tail
    j.params.temperature = masked == 3 ? 0.7f : 0.0f;
    j.params.seed = 5;
    jobs.push_back(j);
  }
  BlockJob next;  // mock-AR: the last prompt token at its position, seed = state before it
  next.job_id = 9;
  next.kind = JobKind::next_token;
  next.seed = view_of(*host_seeds[jobs.size() % 2]);
  next.block.tokens = {77};
  next.token_index = 3;
  jobs.push_back(next);

  std::vector<int32_t> cp, gp;
  std::vector<float> cc, gc;
  for (const auto& j : jobs) cpu->admit(j), gpu->admit(j);
  cpu->step(jobs, cp, cc);
  gpu->step(jobs, gp, gc);
  ASSERT_EQ(gp.size(), cp.size());
  size_t compared = 0, same = 0, r = 0;
  float worst = 0;
  for (const auto& j : jobs) {
    for (size_t p = 0; p < j.block.tokens.size(); ++p, ++r) {
      const bool counts = j.kind == JobKind::next_token ? p + 1 == j.block.tokens.size()
                                                        : j.block.tokens[p] == config.mask_token_id;
      if (!counts) continue;
      ++compared;
      same += gp[r] == cp[r];
      if (j.kind == JobKind::diffusion_block && gp[r] == cp[r]) worst = std::max(worst, std::fabs(gc[r] - cc[r]));
    }
  }
  std::printf("[gpu-denoiser] %zu of %zu picks equal the CPU's; worst confidence difference %.4f\n", same, compared,
              worst);
  EXPECT_GE(static_cast<double>(same) / compared, 0.9);
  EXPECT_LT(worst, 0.05f);
  for (const auto& j : jobs) gpu->retire(j.job_id);

  // Seeds in device memory, as a CUDA IPC mapping hands them over: read in place, same pairs.
  gpu::SequenceCache on_device(config), other_on_device(config);
  on_device.upload(cache);
  other_on_device.upload(other);
  const gpu::SequenceCache* device_seeds[] = {&on_device, &other_on_device};
  std::vector<BlockJob> device_jobs = jobs;
  for (size_t i = 0; i < device_jobs.size(); ++i) {
    BlockJob& j = device_jobs[i];
    j.job_id += 100;
    j.seed = device_seeds[i % 2]->view();  // device 0, the same context as the host seed
    gpu->admit(j);
  }
  std::vector<int32_t> dp;
  std::vector<float> dc;
  gpu->step(device_jobs, dp, dc);
  EXPECT_EQ(dp, gp);
  EXPECT_EQ(dc, gc);
  for (const auto& j : device_jobs) gpu->retire(j.job_id);
  EXPECT_THROW(cpu->admit(device_jobs[0]), Error);
  device_jobs[0].seed.device = 1;  // mapped for another device than the denoiser's
  EXPECT_THROW(gpu->admit(device_jobs[0]), Error);
}

TEST(GpuDenoiserCompute, AMissingDeviceIsAClearError) {
  const std::string dir = std::string(TWOTOWER_TEST_SOURCE) + "/tests/data/tiny-random";
  const ModelConfig config = load_config(dir + "/config.json");
  const Checkpoint ck = Checkpoint::open(dir);
  EXPECT_THROW(gpu::denoiser_compute(config, ck, 4096), std::exception);
}

}  // namespace
}  // namespace tt
