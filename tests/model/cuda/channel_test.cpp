// The NCCL transport's two ends without actors (needs two GPUs: NCCL refuses two
// ranks on one device): a GPU context on device 0 sends a sequence's K/V delta
// and Mamba state over a channel into a denoiser's mirror on device 1, block
// after block; the mirror equals the context's cache exactly. A delta that
// does not fit the mirror is refused but still taken off the channel, which
// stays in step for the next transfer.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "model/context_compute.hpp"
#include "model/cuda/gpu_cache_reader.hpp"
#include "model/cuda/gpu_channel.hpp"
#include "model/cuda/gpu_context.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

std::vector<float> to_host(const float* device, size_t n) {
  std::vector<float> h(n);
  cuda::check(cudaMemcpy(h.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost), "D2H");
  return h;
}

// The mirror's view equals the host copy of the context's cache, float for float.
void expect_equal(const CacheView& mirror, const SequenceCache& host, const ModelConfig& config) {
  ASSERT_EQ(mirror.length, host.length());
  const size_t rows = static_cast<size_t>(host.length()) * config.num_key_value_heads * config.head_dim;
  for (int s = 0; s < host.attention_slots(); ++s) {
    EXPECT_EQ(to_host(mirror.k[s], rows), host.kv(s).k) << "K slot " << s;
    EXPECT_EQ(to_host(mirror.v[s], rows), host.kv(s).v) << "V slot " << s;
  }
  for (int s = 0; s < host.mamba_slots(); ++s) {
    EXPECT_EQ(to_host(mirror.conv[s], host.mamba(s).conv.size()), host.mamba(s).conv) << "conv slot " << s;
    EXPECT_EQ(to_host(mirror.ssm[s], host.mamba(s).ssm.size()), host.mamba(s).ssm) << "SSM slot " << s;
  }
}

TEST(GpuChannel, ContextRowsReachTheDenoisersMirror) {
  TT_REQUIRE_GPU();
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two GPUs (NCCL refuses two ranks on one device)";
  std::string why;
  const auto timeout = std::chrono::seconds(20);
  const ChannelFactory f0 = gpu::channel_factory(0, timeout, why), f1 = gpu::channel_factory(1, timeout, why);
  if (!f0 || !f1) GTEST_SKIP() << "no NCCL: " << why;
  const std::string id = f0.new_id();
  std::unique_ptr<CacheChannel> denoiser_end;
  std::thread joiner([&] { denoiser_end = f1.join(id, 1); });
  std::unique_ptr<CacheChannel> context_end = f0.join(id, 0);
  joiner.join();
  ASSERT_TRUE(context_end && denoiser_end);

  const std::string dir = std::string(TWOTOWER_TEST_SOURCE) + "/models/default";
  const ModelConfig config = load_config(dir + "/config.json");
  auto ck = std::make_shared<const Checkpoint>(Checkpoint::open(dir));
  auto context = gpu::context_compute(config, *ck, 0);
  auto reader = gpu::device_cache_reader(config, 1);
  SequenceCache host(config);
  std::vector<int32_t> picked;
  // One block: the sender posts from its own thread (the first transfer connects and needs both sides).
  auto transfer = [&](int from, int to, CacheView& view, std::string& error) {
    bool sent = false;
    std::thread sender([&] { sent = context->send_rows(1, from, *context_end); });
    const bool ok = reader->receive(1, from, to, *denoiser_end, view, error);
    sender.join();
    EXPECT_TRUE(sent);
    return ok;
  };
  int from = 0;
  for (const std::vector<int32_t>& tokens :
       {std::vector<int32_t>{1, 300, 301, 302, 303, 304, 17, 900, 12, 40}, std::vector<int32_t>(16, 77)}) {
    context->extend(std::vector<ContextCompute::Item>{{1, tokens, &host, false}}, picked);
    CacheView view;
    std::string error;
    ASSERT_TRUE(transfer(from, host.length(), view, error)) << error;
    EXPECT_EQ(view.device, 1);
    context->sync_host(1, host);
    expect_equal(view, host, config);
    from = host.length();
  }
  CacheView view;
  std::string error;
  EXPECT_FALSE(transfer(5, host.length(), view, error));  // the mirror holds 26 rows, not 5
  EXPECT_NE(error.find("carries rows from 5"), std::string::npos) << error;
  ASSERT_TRUE(transfer(0, host.length(), view, error)) << error;  // in step: from row 0 again
  expect_equal(view, host, config);
}

}  // namespace
}  // namespace tt
