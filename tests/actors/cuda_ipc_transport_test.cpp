// CUDA IPC cache handles without a GPU: when the transport is chosen or may
// be forced, the handle of a device region, the region's layout as a view,
// and what a denoiser's ReplicaStore does with cuda_ipc handles (refused
// without a GPU or from another node; otherwise the importer's view, here a
// region held in host memory standing in for the mapped device allocation).
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "actors/cache_transport.hpp"
#include "model/device_region.hpp"
#include "tests/actors/fake_cache.hpp"

namespace tt::actors {
namespace {

using test::FakeCache;

TEST(CudaIpc, ChosenOnOneNodeWhenBothSidesAreOnGpus) {
  const Peer gpu_ctx{"n1", 1, 0}, gpu_den{"n1", 2, 1}, cpu_den{"n1", 3}, far_gpu{"n2", 4, 0};
  EXPECT_EQ(choose_transport(gpu_ctx, gpu_den), msg::cache_transport::cuda_ipc);
  EXPECT_EQ(choose_transport(gpu_ctx, cpu_den), msg::cache_transport::shared_memory);
  EXPECT_EQ(choose_transport(Peer{"n1", 5}, gpu_den), msg::cache_transport::shared_memory);
  EXPECT_EQ(choose_transport(gpu_ctx, far_gpu), msg::cache_transport::inline_bytes);
  EXPECT_EQ(choose_transport(gpu_ctx, gpu_ctx), msg::cache_transport::in_process);

  TransportPolicy p{};
  ASSERT_TRUE(parse_transport_policy("cuda-ipc", p));
  EXPECT_EQ(p, TransportPolicy::cuda_ipc);
  msg::cache_transport t{};
  std::string error;
  EXPECT_TRUE(choose_transport(gpu_ctx, gpu_den, p, t, error));
  EXPECT_EQ(t, msg::cache_transport::cuda_ipc);
  EXPECT_FALSE(choose_transport(gpu_ctx, cpu_den, p, t, error));
  EXPECT_NE(error.find("the denoiser does not run on a GPU"), std::string::npos) << error;
  EXPECT_FALSE(choose_transport(Peer{"n1", 5}, gpu_den, p, t, error));
  EXPECT_NE(error.find("the context does not run on a GPU"), std::string::npos) << error;
  EXPECT_FALSE(choose_transport(gpu_ctx, far_gpu, p, t, error));
  EXPECT_NE(error.find("on node n2"), std::string::npos) << error;
  EXPECT_FALSE(choose_transport(gpu_ctx, gpu_ctx, p, t, error));
  EXPECT_NE(error.find("in this process"), std::string::npos) << error;
  // A GPU pair can still be told to use the host transports.
  EXPECT_TRUE(choose_transport(gpu_ctx, gpu_den, TransportPolicy::shared_memory, t, error));
  EXPECT_EQ(t, msg::cache_transport::shared_memory);
}

// FakeCache's rows and state laid out as a device cache region: Mamba first, then per
// layer `capacity` K rows and `capacity` V rows.
struct HostRegion {
  std::vector<uint8_t> bytes;
  DeviceRegion region;
  HostRegion(const FakeCache& c, int capacity) {
    const size_t row = c.shape.kv_row_floats * sizeof(float);
    const size_t mamba = c.shape.mamba_bytes();
    region.device = 0;
    region.ipc.fill(0x42);
    region.mamba_offset = 0;
    region.kv_offset = mamba;
    region.v_offset = capacity * row;
    region.kv_layer_stride = 2 * capacity * row;
    region.bytes = mamba + c.shape.attention_layers * region.kv_layer_stride;
    region.length = c.length;
    bytes.resize(region.bytes);
    uint8_t* at = bytes.data();
    for (uint32_t l = 0; l < c.shape.mamba_layers; ++l) {
      std::memcpy(at, c.conv[l].data(), c.conv[l].size() * sizeof(float));
      at += c.conv[l].size() * sizeof(float);
      std::memcpy(at, c.ssm[l].data(), c.ssm[l].size() * sizeof(float));
      at += c.ssm[l].size() * sizeof(float);
    }
    for (uint32_t l = 0; l < c.shape.attention_layers; ++l) {
      std::memcpy(bytes.data() + region.kv_offset + l * region.kv_layer_stride, c.k[l].data(), c.length * row);
      std::memcpy(bytes.data() + region.kv_offset + l * region.kv_layer_stride + region.v_offset, c.v[l].data(),
                  c.length * row);
    }
  }
};

// Hands out views of HostRegions by their ipc bytes; records drops.
struct HostImporter : DeviceCacheReader {
  std::map<std::array<uint8_t, 64>, const HostRegion*> regions;
  CacheShape shape;
  std::vector<uint64_t> dropped;
  int device() const override { return 0; }
  bool receive(uint64_t, int, int, CacheChannel&, CacheView&, std::string& error) override {
    return error = "not here", false;
  }
  bool map_region(uint64_t, const DeviceRegion& r, CacheView& out, std::string& error) override {
    auto it = regions.find(r.ipc);
    if (it == regions.end()) return error = "cannot map: unknown handle", false;
    const uint8_t* base = it->second->bytes.data();
    out = CacheView{};
    out.length = r.length;
    out.device = 0;
    for (uint32_t l = 0; l < shape.attention_layers; ++l) {
      out.k.push_back(reinterpret_cast<const float*>(base + r.kv_offset + l * r.kv_layer_stride));
      out.v.push_back(reinterpret_cast<const float*>(base + r.kv_offset + l * r.kv_layer_stride + r.v_offset));
    }
    const size_t per_layer = (shape.conv_floats + shape.ssm_floats) * sizeof(float);
    for (uint32_t l = 0; l < shape.mamba_layers; ++l) {
      out.conv.push_back(reinterpret_cast<const float*>(base + r.mamba_offset + l * per_layer));
      out.ssm.push_back(out.conv.back() + shape.conv_floats);
    }
    return true;
  }
  void drop(uint64_t sequence) override { dropped.push_back(sequence); }
};

TEST(CudaIpc, ReplicaStoreViewsTheRegionTheHandleNames) {
  FakeCache cache;
  cache.grow(5);
  const HostRegion host(cache, 8);
  const Peer owner{"n1", 1, 0}, lessee{"n1", 2, 0};
  const auto h = region_handle(host.region, cache.shape, owner, 6);
  EXPECT_EQ(h.transport, msg::cache_transport::cuda_ipc);
  EXPECT_EQ(h.epoch, 5u);
  EXPECT_EQ(msg::check_cache_handle(h), std::nullopt);
  EXPECT_TRUE(h.kv_delta.empty() && h.mamba_state.empty());

  auto importer = std::make_unique<HostImporter>();
  importer->shape = cache.shape;
  importer->regions[host.region.ipc] = &host;
  HostImporter* imp = importer.get();
  ReplicaStore replicas(lessee, cache.shape, std::move(importer));
  EXPECT_EQ(replicas.device(), 0);
  CacheView w;
  std::string error;
  ASSERT_TRUE(replicas.apply(h, w, error)) << error;
  test::expect_same(cache, w);
  EXPECT_TRUE(replicas.has(6));
  replicas.drop(6);
  EXPECT_FALSE(replicas.has(6));
  EXPECT_EQ(imp->dropped, std::vector<uint64_t>{6});

  auto unknown = h;
  unknown.ipc_handle.assign(64, 0x01);
  EXPECT_FALSE(replicas.apply(unknown, w, error));
  EXPECT_NE(error.find("cannot map"), std::string::npos) << error;
  auto far = h;
  far.owner_node = "n9";
  EXPECT_FALSE(replicas.apply(far, w, error));
  EXPECT_NE(error.find("from node n9: CUDA IPC works within one node"), std::string::npos) << error;
}

TEST(Nccl, ChosenAcrossNodesWhenBothSidesAreOnGpusWithNccl) {
  const Peer ctx{"n1", 1, 0, true}, den{"n2", 2, 1, true}, den_no_nccl{"n2", 3, 1}, cpu_den{"n2", 4};
  EXPECT_EQ(choose_transport(ctx, den), msg::cache_transport::nccl);
  EXPECT_EQ(choose_transport(ctx, den_no_nccl), msg::cache_transport::inline_bytes);
  EXPECT_EQ(choose_transport(ctx, cpu_den), msg::cache_transport::inline_bytes);
  EXPECT_EQ(choose_transport(Peer{"n1", 1, 0}, den), msg::cache_transport::inline_bytes);
  EXPECT_EQ(choose_transport(ctx, Peer{"n1", 5, 1, true}), msg::cache_transport::cuda_ipc);  // same node
  TransportPolicy p{};
  ASSERT_TRUE(parse_transport_policy("nccl", p));
  msg::cache_transport t{};
  std::string error;
  EXPECT_TRUE(choose_transport(ctx, den, p, t, error));
  EXPECT_EQ(t, msg::cache_transport::nccl);
  EXPECT_TRUE(choose_transport(ctx, Peer{"n1", 5, 1, true}, p, t, error));  // forced on one node: allowed
  EXPECT_FALSE(choose_transport(ctx, den_no_nccl, p, t, error));
  EXPECT_NE(error.find("the denoiser does not run on a GPU with NCCL"), std::string::npos) << error;
  EXPECT_FALSE(choose_transport(ctx, ctx, p, t, error));
  EXPECT_NE(error.find("in this process"), std::string::npos) << error;
  EXPECT_FALSE(parse_transport_policy("NCCL", p));
}

TEST(Nccl, HandleCarriesOnlyTheDeltaBoundsAndADenoiserNeedsAChannel) {
  FakeCache cache;
  cache.grow(6);
  const Peer owner{"n1", 1, 0, true};
  auto h = nccl_handle(6, 0, cache.shape, owner, 9, 4);
  EXPECT_EQ(h.transport, msg::cache_transport::nccl);
  EXPECT_EQ(h.delta_from_epoch, 4u);
  EXPECT_EQ(h.device, 0);
  EXPECT_EQ(msg::check_cache_handle(h), std::nullopt);
  EXPECT_EQ(nccl_handle(6, 0, cache.shape, owner, 9, 7).delta_from_epoch, 0u);  // lessee ahead: start over
  CacheView w;
  std::string error;
  ReplicaStore cpu(Peer{"n2", 2}, cache.shape);
  EXPECT_FALSE(cpu.apply(h, w, error));
  EXPECT_NE(error.find("does not run on a GPU"), std::string::npos) << error;
  auto reader = std::make_unique<HostImporter>();
  reader->shape = cache.shape;
  ReplicaStore gpu(Peer{"n2", 2, 0, true}, cache.shape, std::move(reader));
  EXPECT_FALSE(gpu.apply(h, w, error));
  EXPECT_NE(error.find("no NCCL channel to its owner was joined"), std::string::npos) << error;
}

// Records aborts; moves nothing (the transfers themselves need two GPUs: tests/model/cuda/channel_test.cpp).
struct AbortRecorder : CacheChannel {
  bool* aborted;
  explicit AbortRecorder(bool* a) : aborted(a) {}
  void send(std::span<const DeviceSpan>) override {}
  void receive(std::span<const DeviceSpan>) override {}
  void abort() override { *aborted = true; }
};

TEST(Nccl, ARefusedHandleEndsTheChannelItsBytesWouldHaveDesynchronized) {
  FakeCache cache;
  auto reader = std::make_unique<HostImporter>();
  reader->shape = cache.shape;
  ReplicaStore replicas(Peer{"n2", 2, 0, true}, cache.shape, std::move(reader));
  bool aborted = false;
  replicas.set_channel(std::make_unique<AbortRecorder>(&aborted));
  auto h = nccl_handle(6, 0, cache.shape, Peer{"n1", 1, 0, true}, 9, 0);
  h.mamba_bytes += 4;  // does not fit this denoiser's model
  CacheView w;
  std::string error;
  EXPECT_FALSE(replicas.apply(h, w, error));
  EXPECT_TRUE(aborted);
  h.mamba_bytes -= 4;
  EXPECT_FALSE(replicas.apply(h, w, error));
  EXPECT_NE(error.find("no NCCL channel"), std::string::npos) << error;
  // Handles of other transports leave a channel alone.
  bool other = false;
  replicas.set_channel(std::make_unique<AbortRecorder>(&other));
  cache.grow(2);
  auto bytes = make_handle(cache.view(), cache.shape, Peer{"n1", 1}, 3, msg::cache_transport::inline_bytes, 0);
  bytes.kv_delta.pop_back();
  EXPECT_FALSE(replicas.apply(bytes, w, error));
  EXPECT_FALSE(other);
}

TEST(CudaIpc, ADenoiserWithoutAGpuRefusesTheHandle) {
  FakeCache cache;
  cache.grow(2);
  const HostRegion host(cache, 4);
  ReplicaStore replicas(Peer{"n1", 2}, cache.shape);
  EXPECT_EQ(replicas.device(), -1);
  CacheView w;
  std::string error;
  EXPECT_FALSE(replicas.apply(region_handle(host.region, cache.shape, Peer{"n1", 1, 0}, 3), w, error));
  EXPECT_NE(error.find("does not run on a GPU"), std::string::npos) << error;
}

TEST(CudaIpc, RegionViewFollowsTheLayoutForAModel) {
  ModelConfig c;
  c.hybrid_override_pattern = "M*EM*";
  c.num_hidden_layers = 5;
  c.layers = parse_layer_pattern(c.hybrid_override_pattern, "test");
  c.hidden_size = 32;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.conv_kernel = 4;
  c.mamba_num_heads = 4;
  c.mamba_head_dim = 8;
  c.n_groups = 1;
  c.ssm_state_size = 16;
  DeviceRegion r;
  r.device = 2;
  r.length = 3;
  r.mamba_offset = 0;
  r.kv_offset = 8192;
  r.v_offset = 1000;
  r.kv_layer_stride = 4000;
  const auto* base = reinterpret_cast<const uint8_t*>(uintptr_t{1} << 20);
  const CacheView v = region_view(base, r, c);
  auto off = [&](const float* p) { return reinterpret_cast<const uint8_t*>(p) - base; };
  ASSERT_EQ(v.k.size(), 2u);
  ASSERT_EQ(v.conv.size(), 2u);
  EXPECT_EQ(v.length, 3);
  EXPECT_EQ(v.device, 2);
  EXPECT_EQ(off(v.k[1]), 8192 + 4000);
  EXPECT_EQ(off(v.v[1]), 8192 + 4000 + 1000);
  const long conv = 3L * c.conv_dim() * 4, ssm = 4L * 8 * 16 * 4;
  EXPECT_EQ(off(v.ssm[0]), conv);
  EXPECT_EQ(off(v.conv[1]), conv + ssm);
  EXPECT_EQ(off(v.ssm[1]), 2 * conv + ssm);
}

}  // namespace
}  // namespace tt::actors
