// CUDA IPC cache regions: a device cache's region shows its own buffers, it
// is exported again only after the cache grew, and a second process (this test
// binary re-run with TT_REGION set) maps it through the denoiser's importer and
// reads the same K/V rows and Mamba state the owner holds.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "kernels/cuda/ipc.hpp"
#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_cache_reader.hpp"
#include "model/tower.hpp"
#include "model/weights.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

std::string model_dir() { return std::string(TWOTOWER_TEST_SOURCE) + "/models/default"; }

// A host cache after a short prompt through the CPU context tower.
SequenceCache prompt_cache(const ModelConfig& config, int tokens) {
  auto ck = std::make_shared<const Checkpoint>(Checkpoint::open(model_dir()));
  const ModelWeights weights = load_weights(config, ck);
  Tower ctx(config, *weights.context);
  SequenceCache cache(config);
  std::vector<int32_t> prompt;
  for (int i = 0; i < tokens; ++i) prompt.push_back(i == 0 ? 1 : 300 + i);
  TowerItem item{prompt, &cache, nullptr, nullptr, true};
  std::vector<float> hidden;
  ctx.forward({&item, 1}, hidden);
  return cache;
}

// K rows of every attention slot and the whole Mamba state, summed in one fixed order.
double checksum(const CacheView& v, const ModelConfig& config, bool device) {
  const size_t row = static_cast<size_t>(config.num_key_value_heads) * config.head_dim;
  const size_t conv = static_cast<size_t>(config.conv_kernel - 1) * config.conv_dim();
  const size_t ssm = static_cast<size_t>(config.mamba_num_heads) * config.mamba_head_dim * config.ssm_state_size;
  double sum = 0;
  auto add = [&](const float* p, size_t n) {
    std::vector<float> host(n);
    if (device) cuda::check(cudaMemcpy(host.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost), "D2H");
    else std::copy(p, p + n, host.begin());
    for (float x : host) sum += x;
  };
  for (size_t s = 0; s < v.k.size(); ++s) add(v.k[s], v.length * row), add(v.v[s], v.length * row);
  for (size_t s = 0; s < v.conv.size(); ++s) add(v.conv[s], conv), add(v.ssm[s], ssm);
  return sum;
}

std::string to_text(const DeviceRegion& r) {
  cuda::IpcHandle h;
  h.bytes = r.ipc;
  std::ostringstream o;
  o << r.device << ' ' << r.bytes << ' ' << r.kv_offset << ' ' << r.kv_layer_stride << ' ' << r.v_offset << ' '
    << r.mamba_offset << ' ' << r.length << ' ' << h.to_hex();
  return o.str();
}

DeviceRegion from_text(const std::string& text) {
  DeviceRegion r;
  std::istringstream in(text);
  std::string hex;
  in >> r.device >> r.bytes >> r.kv_offset >> r.kv_layer_stride >> r.v_offset >> r.mamba_offset >> r.length >> hex;
  r.ipc = cuda::IpcHandle::from_hex(hex).bytes;
  return r;
}

TEST(GpuRegion, ViewOfTheRegionIsTheCachesOwnBuffers) {
  TT_REQUIRE_GPU();
  const ModelConfig config = load_config(model_dir() + "/config.json");
  gpu::SequenceCache cache(config);
  cache.upload(prompt_cache(config, 12));
  const DeviceRegion r = cache.region(0);
  ASSERT_GT(cache.mamba_slots(), 0);
  const CacheView v = region_view(cache.conv(0), r, config);  // the region starts with Mamba slot 0
  const gpu::CacheView own = cache.view();
  EXPECT_EQ(v.length, 12);
  EXPECT_EQ(v.k, own.k);
  EXPECT_EQ(v.v, own.v);
  EXPECT_EQ(v.conv, own.conv);
  EXPECT_EQ(v.ssm, own.ssm);
  EXPECT_EQ(cache.region(0).ipc, r.ipc);  // exported once per allocation
  cache.reserve(cache.capacity() + 1);
  EXPECT_NE(cache.region(0).ipc, r.ipc);  // grown: a new allocation, exported anew
  EXPECT_EQ(cache.download().kv(0).k, prompt_cache(config, 12).kv(0).k);  // growth kept the rows
}

// Runs only as the child of ASecondProcessReadsTheRegion: prints the checksum it reads.
TEST(GpuRegion, Child) {
  const char* text = std::getenv("TT_REGION");
  if (text == nullptr) GTEST_SKIP() << "only run as a child process";
  const ModelConfig config = load_config(model_dir() + "/config.json");
  auto importer = gpu::device_cache_reader(config, 0);
  CacheView v;
  std::string error;
  ASSERT_TRUE(importer->map_region(7, from_text(text), v, error)) << error;
  EXPECT_EQ(v.device, 0);
  ASSERT_TRUE(importer->map_region(7, from_text(text), v, error)) << error;  // the same mapping again
  std::printf("REGION_SUM=%.17g\n", checksum(v, config, true));
  // An all-zero handle names no allocation (flipped bytes of a real one may fall in unused
  // bytes and still open it).
  DeviceRegion bad = from_text(text);
  bad.ipc.fill(0);
  EXPECT_FALSE(importer->map_region(8, bad, v, error));
  std::printf("BAD_HANDLE_ERROR=%s\n", error.c_str());
}

TEST(GpuRegion, ASecondProcessReadsTheRegion) {
  TT_REQUIRE_GPU();
  const ModelConfig config = load_config(model_dir() + "/config.json");
  const SequenceCache host = prompt_cache(config, 20);
  gpu::SequenceCache cache(config, 16);
  cache.upload(host);  // grows past 16 rows: the region is the second allocation
  char want[64];
  std::snprintf(want, sizeof want, "REGION_SUM=%.17g", checksum(view_of(host), config, false));
  int status = 0;
  const std::string out = test::run_self("TT_REGION='" + to_text(cache.region(0)) + "'", "GpuRegion.Child", status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find(want), std::string::npos) << out;
  EXPECT_NE(out.find("BAD_HANDLE_ERROR=cannot map"), std::string::npos) << out;
}

}  // namespace
}  // namespace tt
