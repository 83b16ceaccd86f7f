// One value of every wire type with every field set to a non-default value,
// and the portable name each type must be registered under.
#pragma once

#include <cstdint>
#include <vector>

#include "messages/block.hpp"
#include "messages/bytes.hpp"
#include "messages/control.hpp"
#include "messages/protocol.hpp"
#include "messages/request.hpp"
#include "messages/response.hpp"

namespace tt::msg::test {

inline bytes some_tokens() { return pack_int32(std::vector<int32_t>{1, -2, 300000, 7, 0x7fffffff}); }

inline cache_handle sample_cache_handle() {
  cache_handle h;
  h.owner_node = "node-a";
  h.owner_pid = 4242;
  h.sequence_id = 77;
  h.epoch = 48;
  h.attention_layers = 3;
  h.kv_row_bytes = 256;
  h.mamba_layers = 5;
  h.mamba_bytes = 40960;
  h.transport = cache_transport::inline_bytes;
  h.in_process_token = 0xdeadbeefcafef00dull;
  h.shm_name = "/tt-4242-kv";
  h.region_bytes = 1ull << 34;  // beyond 32 bits on purpose
  h.region_kv_offset = 4096;
  h.region_kv_layer_stride = 1 << 20;
  h.region_v_offset = 1 << 19;
  h.region_mamba_offset = 3ull << 32;
  h.delta_from_epoch = 32;
  h.kv_delta = bytes(3 * 2 * 16 * 256, 0xab);
  h.mamba_state = bytes(40960, 0x5c);
  h.device = 3;
  h.ipc_handle = bytes(64, 0x3d);
  return h;
}

// Calls f(sample, "tt.<name>") once per wire struct.
template <class F>
void for_each_sample(F&& f) {
  f(hello{7, "denoiser", "node-b", 1234567}, "tt.hello");
  f(hello_ack{true, "fine"}, "tt.hello_ack");
  f(generate_request{0x1122334455667788ull, some_tokens(), request_mode::mock_ar, 256, 0.75f, 32,
                     12, 0.6f, 0xfeedfacecafebeefull, 1760000000123, true, true},
    "tt.generate_request");
  f(score_request{9, some_tokens(), pack_int32(std::vector<int32_t>{5, 6}), -5}, "tt.score_request");
  f(cancel_request{99}, "tt.cancel_request");
  f(token_chunk{11, some_tokens(), 4096, true, finish_reason::stop, 17, 9, 4100}, "tt.token_chunk");
  f(token_chunks{{token_chunk{11, some_tokens(), 4096, true, finish_reason::stop, 17, 9, 4100},
                  token_chunk{12, some_tokens(), 3, false, finish_reason::running, 1, 2, 0}}},
    "tt.token_chunks");
  f(score_result{12, -42.125, pack_float64(std::vector<double>{-1.5, -0.25})}, "tt.score_result");
  f(request_error{13, error_code::peer_down, "denoiser on node-b went away"}, "tt.request_error");
  f(sample_cache_handle(), "tt.cache_handle");
  f(denoise_block{21, sample_cache_handle(), 3, 0.9f, 16, 8, 0.25f, 31337, some_tokens(), true,
                  job_kind::next_token, 1234},
    "tt.denoise_block");
  f(block_committed{21, 77, 3, some_tokens(), pack_float32(std::vector<float>{0.5f, 0.99f}), 6},
    "tt.block_committed");
  f(release_handle{77, 48}, "tt.release_handle");
  f(register_denoiser{"node-c", 555, 64, 2, true}, "tt.register_denoiser");
  f(nccl_join{std::string(256, 'a')}, "tt.nccl_join");
  f(load_report{3, 14}, "tt.load_report");
  const transport_stats ts{cache_transport::shared_memory, 1, 2, 3, 4, 5, 6, 7, 8, 1ull << 40};
  f(ts, "tt.transport_stats");
  f(context_stats{{ts, transport_stats{cache_transport::inline_bytes, 9, 8, 7, 6, 5, 4, 3, 2, 1}}},
    "tt.context_stats");
}

}  // namespace tt::msg::test
