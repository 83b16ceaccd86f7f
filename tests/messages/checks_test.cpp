// Pure checks at the wire boundary: the hello version check, cache handle
// consistency, and decoding a generate_request for the engine.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "messages/cache_handle.hpp"
#include "messages/engine_bridge.hpp"
#include "messages/protocol.hpp"

namespace {

using namespace tt::msg;

TEST(Hello, SameVersionIsAccepted) {
  const hello h = make_hello("denoiser", "node-b", 42);
  EXPECT_EQ(h.protocol_version, protocol_version);
  EXPECT_EQ(check_hello(h), std::nullopt);
  EXPECT_EQ(answer_hello(h), (hello_ack{true, ""}));
}

TEST(Hello, OtherVersionIsRefusedNamingBoth) {
  hello h = make_hello("denoiser", "node-b", 42);
  h.protocol_version = protocol_version + 1;
  const auto problem = check_hello(h);
  ASSERT_TRUE(problem);
  const std::string theirs = "speaks version " + std::to_string(protocol_version + 1);
  const std::string ours = "this build speaks version " + std::to_string(protocol_version);
  EXPECT_NE(problem->find(theirs), std::string::npos) << *problem;
  EXPECT_NE(problem->find(ours), std::string::npos) << *problem;
  EXPECT_NE(problem->find("denoiser on node-b (pid 42)"), std::string::npos) << *problem;
  const hello_ack ack = answer_hello(h);
  EXPECT_FALSE(ack.accepted);
  EXPECT_EQ(ack.reason, *problem);

  h.protocol_version = 0;  // a default-constructed hello
  EXPECT_TRUE(check_hello(h));
}

cache_handle shm_handle() {
  cache_handle h;
  h.owner_node = "node-a";
  h.owner_pid = 7;
  h.sequence_id = 3;
  h.epoch = 100;
  h.attention_layers = 2;
  h.kv_row_bytes = 64;
  h.mamba_layers = 4;
  h.mamba_bytes = 4 * 1000;
  h.transport = cache_transport::shared_memory;
  h.shm_name = "/tt-7-kv";
  h.region_kv_offset = 0;
  h.region_v_offset = 1024 * 64;                  // capacity 1024 rows
  h.region_kv_layer_stride = 2 * 1024 * 64;
  h.region_mamba_offset = 2 * h.region_kv_layer_stride;
  h.region_bytes = h.region_mamba_offset + 2 * h.mamba_bytes;  // double-buffered
  return h;
}

TEST(CacheHandle, SharedMemoryCarriesNoBytes) {
  cache_handle h = shm_handle();
  EXPECT_EQ(check_cache_handle(h), std::nullopt);
  h.kv_delta = bytes(16);
  const auto problem = check_cache_handle(h);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("shared_memory transport carries bytes"), std::string::npos) << *problem;
}

TEST(CacheHandle, SharedMemoryExtentsStayInsideTheObject) {
  cache_handle h = shm_handle();
  h.region_bytes = h.region_mamba_offset + h.mamba_bytes - 1;  // Mamba state one byte short
  EXPECT_TRUE(check_cache_handle(h));
  h = shm_handle();
  h.region_kv_offset = h.region_bytes - h.region_kv_layer_stride;  // last layer's V rows past the end
  EXPECT_TRUE(check_cache_handle(h));
  h = shm_handle();
  h.region_v_offset = 99 * 64;  // V rows would overlap the 100 K rows
  EXPECT_TRUE(check_cache_handle(h));
  h = shm_handle();
  h.region_kv_layer_stride = ~0ull;  // overflow must not wrap around into "fits"
  EXPECT_TRUE(check_cache_handle(h));
  h = shm_handle();
  h.shm_name.clear();
  EXPECT_TRUE(check_cache_handle(h));
}

TEST(CacheHandle, CudaIpcNamesADeviceAllocationAndStaysInsideIt) {
  cache_handle h = shm_handle();
  h.transport = cache_transport::cuda_ipc;
  h.shm_name.clear();
  h.device = 1;
  h.ipc_handle = bytes(64, 0x11);
  EXPECT_EQ(check_cache_handle(h), std::nullopt);
  auto refused = [](cache_handle bad, const std::string& why) {
    const auto problem = check_cache_handle(bad);
    ASSERT_TRUE(problem) << why;
    EXPECT_NE(problem->find(why), std::string::npos) << *problem;
  };
  cache_handle bad = h;
  bad.ipc_handle.pop_back();
  refused(bad, "cuda_ipc handle has 63 bytes, expected 64");
  bad = h;
  bad.device = -1;
  refused(bad, "cuda_ipc transport without a device");
  bad = h;
  bad.mamba_state = bytes(4);
  refused(bad, "cuda_ipc transport carries bytes");
  bad = h;
  bad.region_bytes = h.region_mamba_offset + h.mamba_bytes - 1;
  refused(bad, "Mamba state ends past the region");
  bad = h;
  bad.epoch = 1025;  // more rows than the capacity the layout leaves
  refused(bad, "V rows overlap K rows");
}

TEST(CacheHandle, NcclCarriesNoBytesAndAnOrderedDelta) {
  cache_handle h = shm_handle();
  h.transport = cache_transport::nccl;
  h.shm_name.clear();
  h.device = 0;
  h.delta_from_epoch = 64;
  EXPECT_EQ(check_cache_handle(h), std::nullopt);
  cache_handle bad = h;
  bad.kv_delta = bytes(8);
  EXPECT_NE(check_cache_handle(bad).value_or("").find("nccl transport carries bytes"), std::string::npos);
  bad = h;
  bad.device = -1;
  EXPECT_NE(check_cache_handle(bad).value_or("").find("nccl transport without a device"), std::string::npos);
  bad = h;
  bad.delta_from_epoch = 101;
  EXPECT_NE(check_cache_handle(bad).value_or("").find("is after epoch"), std::string::npos);
}

TEST(CacheHandle, InlineBytesCarryOnlyTheDelta) {
  cache_handle h = shm_handle();
  h.transport = cache_transport::inline_bytes;
  h.shm_name.clear();
  h.delta_from_epoch = 84;  // the lessee already holds rows [0, 84)
  EXPECT_EQ(kv_delta_bytes(2, 64, 84, 100), 2u * 2 * 16 * 64);
  h.kv_delta = bytes(*kv_delta_bytes(2, 64, 84, 100));
  h.mamba_state = bytes(h.mamba_bytes);
  EXPECT_EQ(check_cache_handle(h), std::nullopt);

  h.kv_delta.pop_back();
  const auto problem = check_cache_handle(h);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("sequence 3 at epoch 100 from node-a (pid 7)"), std::string::npos);
  EXPECT_NE(problem->find("kv_delta has 4095 bytes, rows [84, 100) need 4096"), std::string::npos)
      << *problem;
  h.kv_delta.push_back(0);
  h.delta_from_epoch = 101;
  EXPECT_TRUE(check_cache_handle(h));
  EXPECT_EQ(kv_delta_bytes(2, 64, 101, 100), std::nullopt);
  EXPECT_EQ(kv_delta_bytes(~0u, ~0u, 0, ~0ull), std::nullopt);
}

TEST(CacheHandle, InProcessNeedsAToken) {
  cache_handle h = shm_handle();
  h.transport = cache_transport::in_process;
  EXPECT_TRUE(check_cache_handle(h));
  h.in_process_token = 0x1234;
  EXPECT_EQ(check_cache_handle(h), std::nullopt);
  h.transport = static_cast<cache_transport>(9);  // from a newer peer
  EXPECT_FALSE(is_known(h.transport));
  EXPECT_NE(check_cache_handle(h)->find("unknown transport cache_transport(9)"), std::string::npos);
}

TEST(EngineBridge, DecodesAGenerateRequest) {
  generate_request r{5, pack_int32(std::vector<int32_t>{10, 20}), request_mode::ar, 32, 0.7f, 16,
                     8, 0.5f, 99, 0};
  const auto d = to_engine_request(r);
  ASSERT_TRUE(d) << d.error;
  EXPECT_EQ(d.value.prompt, (std::vector<int32_t>{10, 20}));
  EXPECT_EQ(d.value.mode, tt::Mode::ar);
  EXPECT_EQ(d.value.max_tokens, 32);
  EXPECT_EQ(d.value.diffusion.block_size, 16);
  EXPECT_EQ(d.value.diffusion.steps, 8);
  EXPECT_EQ(d.value.diffusion.seed, 99u);
  EXPECT_FALSE(d.value.ignore_eos);
  r.ignore_eos = true;
  EXPECT_TRUE(to_engine_request(r).value.ignore_eos);
  EXPECT_TRUE(to_wire_request(to_engine_request(r).value, 5, 0).ignore_eos);
  EXPECT_EQ(to_wire(tt::Mode::mock_ar), request_mode::mock_ar);
  EXPECT_EQ(to_wire(tt::FinishReason::stop), finish_reason::stop);

  r.mode = static_cast<request_mode>(7);
  EXPECT_EQ(to_engine_request(r).error, "generate_request.mode: unknown mode request_mode(7)");
  r.mode = request_mode::diffusion;
  r.prompt_tokens.push_back(1);
  EXPECT_NE(to_engine_request(r).error.find("prompt_tokens: 9 bytes"), std::string::npos);
}

}  // namespace
