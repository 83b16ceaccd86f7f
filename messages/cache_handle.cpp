// Consistency checks of cache handles: a lessee never maps or copies memory a
// malformed handle names.
#include "messages/cache_handle.hpp"

namespace tt::msg {
namespace {

std::optional<uint64_t> mul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<uint64_t> add(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::string prefix(const cache_handle& h) {
  return "cache handle of sequence " + std::to_string(h.sequence_id) + " at epoch " +
         std::to_string(h.epoch) + " from " + h.owner_node + " (pid " +
         std::to_string(h.owner_pid) + "): ";
}

std::optional<std::string> check_shape(const cache_handle& h) {
  if (h.attention_layers > 0 && h.kv_row_bytes == 0) return "kv_row_bytes is 0";
  if ((h.mamba_layers == 0) != (h.mamba_bytes == 0))
    return std::to_string(h.mamba_layers) + " Mamba layers but mamba_bytes is " +
           std::to_string(h.mamba_bytes);
  if (h.mamba_layers > 0 && h.mamba_bytes % h.mamba_layers != 0)
    return "mamba_bytes " + std::to_string(h.mamba_bytes) + " is not divisible by " +
           std::to_string(h.mamba_layers) + " Mamba layers";
  return std::nullopt;
}

// The region layout of shared_memory and cuda_ipc handles lies inside region_bytes.
std::optional<std::string> check_region(const cache_handle& h) {
  const auto rows = mul(h.epoch, h.kv_row_bytes);
  if (!rows) return "K/V extent overflows";
  if (h.attention_layers > 0) {
    if (h.region_v_offset < *rows) return "V rows overlap K rows (region_v_offset too small)";
    const auto layer = add(h.region_v_offset, *rows);
    if (!layer || h.region_kv_layer_stride < *layer)
      return "attention layers overlap (region_kv_layer_stride too small)";
    const auto before_last = mul(h.attention_layers - 1, h.region_kv_layer_stride);
    const auto start = before_last ? add(h.region_kv_offset, *before_last) : std::nullopt;
    const auto end = start ? add(*start, *layer) : std::nullopt;
    if (!end || *end > h.region_bytes)
      return "K/V rows end past the region (" + std::to_string(h.region_bytes) + " bytes)";
  }
  const auto mamba_end = add(h.region_mamba_offset, h.mamba_bytes);
  if (!mamba_end || *mamba_end > h.region_bytes)
    return "Mamba state ends past the region (" + std::to_string(h.region_bytes) + " bytes)";
  return std::nullopt;
}

std::optional<std::string> check_inline_bytes(const cache_handle& h) {
  if (h.delta_from_epoch > h.epoch)
    return "delta_from_epoch " + std::to_string(h.delta_from_epoch) + " is after epoch";
  const auto want = kv_delta_bytes(h.attention_layers, h.kv_row_bytes, h.delta_from_epoch, h.epoch);
  if (!want) return "K/V delta size overflows";
  if (h.kv_delta.size() != *want)
    return "kv_delta has " + std::to_string(h.kv_delta.size()) + " bytes, rows [" +
           std::to_string(h.delta_from_epoch) + ", " + std::to_string(h.epoch) + ") need " +
           std::to_string(*want);
  if (h.mamba_state.size() != h.mamba_bytes)
    return "mamba_state has " + std::to_string(h.mamba_state.size()) + " bytes, expected " +
           std::to_string(h.mamba_bytes);
  return std::nullopt;
}

std::optional<std::string> check_transport(const cache_handle& h) {
  const bool carries_bytes = !h.kv_delta.empty() || !h.mamba_state.empty();
  switch (h.transport) {
    case cache_transport::in_process:
      if (h.in_process_token == 0) return "in_process transport without in_process_token";
      if (carries_bytes) return "in_process transport carries bytes";
      return std::nullopt;
    case cache_transport::shared_memory:
      if (carries_bytes) return "shared_memory transport carries bytes";
      if (h.shm_name.empty()) return "shared_memory transport without shm_name";
      return check_region(h);
    case cache_transport::cuda_ipc:
      if (carries_bytes) return "cuda_ipc transport carries bytes";
      if (h.device < 0) return "cuda_ipc transport without a device";
      if (h.ipc_handle.size() != 64)
        return "cuda_ipc handle has " + std::to_string(h.ipc_handle.size()) + " bytes, expected 64";
      return check_region(h);
    case cache_transport::inline_bytes:
      return check_inline_bytes(h);
    case cache_transport::nccl:
      if (carries_bytes) return "nccl transport carries bytes";
      if (h.device < 0) return "nccl transport without a device";
      if (h.delta_from_epoch > h.epoch)
        return "delta_from_epoch " + std::to_string(h.delta_from_epoch) + " is after epoch";
      if (!kv_delta_bytes(h.attention_layers, h.kv_row_bytes, h.delta_from_epoch, h.epoch))
        return "K/V delta size overflows";
      return std::nullopt;
  }
  return "unknown transport " + to_string(h.transport);
}

}  // namespace

std::string to_string(cache_transport t) {
  switch (t) {
    case cache_transport::in_process: return "in_process";
    case cache_transport::shared_memory: return "shared_memory";
    case cache_transport::inline_bytes: return "inline_bytes";
    case cache_transport::cuda_ipc: return "cuda_ipc";
    case cache_transport::nccl: return "nccl";
  }
  return "cache_transport(" + std::to_string(static_cast<int>(t)) + ")";
}

bool is_known(cache_transport t) {
  switch (t) {
    case cache_transport::in_process:
    case cache_transport::shared_memory:
    case cache_transport::inline_bytes:
    case cache_transport::cuda_ipc:
    case cache_transport::nccl: return true;
  }
  return false;
}

std::optional<uint64_t> kv_delta_bytes(uint32_t attention_layers, uint32_t kv_row_bytes,
                                       uint64_t from_epoch, uint64_t to_epoch) {
  if (from_epoch > to_epoch) return std::nullopt;
  // K and V: two rows per token and layer.
  const auto per_token = mul(2ull * attention_layers, kv_row_bytes);
  if (!per_token) return std::nullopt;
  return mul(*per_token, to_epoch - from_epoch);
}

std::optional<std::string> check_cache_handle(const cache_handle& h) {
  auto problem = check_shape(h);
  if (!problem) problem = check_transport(h);
  if (problem) return prefix(h) + *problem;
  return std::nullopt;
}

}  // namespace tt::msg
