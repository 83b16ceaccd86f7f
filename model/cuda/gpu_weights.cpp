// Checkpoint tensors -> device memory (see gpu_weights.hpp).
#include "model/cuda/gpu_weights.hpp"

#include <cstring>

#include "kernels/cpu/gemm.hpp"
#include "model/error.hpp"

namespace tt::gpu {
namespace {

using Shape = std::vector<int64_t>;

class Uploader {
public:
  Uploader(const ModelConfig& c, const Checkpoint& ck, TowerWeights& t) : c_(c), ck_(ck), t_(t) {}

  // A device allocation of n bytes owned by the tower.
  uint8_t* alloc(size_t n) {
    t_.storage.emplace_back(n);
    t_.bytes += n;
    return t_.storage.back().get();
  }

  const TensorView& floating(const std::string& name, const Shape& shape) const {
    const TensorView& t = ck_.get(name, shape);
    if (t.dtype != DType::f32 && t.dtype != DType::bf16 && t.dtype != DType::f16 && t.dtype != DType::f64)
      throw Error(t.file + ": tensor '" + t.name + "' has dtype " + dtype_name(t.dtype) +
                  ", expected F32, F16 or BF16");
    return t;
  }

  // Writes a tensor as bf16 at device address dst (as stored when it is BF16).
  void put_bf16(const TensorView& t, uint16_t* dst) const {
    const size_t n = static_cast<size_t>(t.numel());
    if (t.dtype == DType::bf16) {
      cuda::check(cudaMemcpy(dst, t.data, n * 2, cudaMemcpyHostToDevice), "upload weights");
      return;
    }
    std::vector<float> wide(n);
    convert_to_f32(t, wide.data());
    std::vector<uint16_t> narrow(n);
    for (size_t i = 0; i < n; ++i) narrow[i] = cpu::f32_to_bf16(wide[i]);
    cuda::check(cudaMemcpy(dst, narrow.data(), n * 2, cudaMemcpyHostToDevice), "upload weights");
  }

  cuda::DeviceWeight linear(const std::string& name, int out, int in) {
    const TensorView& t = floating(name + ".weight", {out, in});
    auto* dst = reinterpret_cast<uint16_t*>(alloc(static_cast<size_t>(out) * in * 2));
    put_bf16(t, dst);
    return cuda::DeviceWeight{dst, out, in};
  }

  const float* vec(const std::string& name, const Shape& shape) {
    floating(name, shape);
    return upload_f32(ck_.read_f32(name));
  }

  const float* upload_f32(const std::vector<float>& v) {
    auto* dst = reinterpret_cast<float*>(alloc(v.size() * sizeof(float)));
    cuda::check(cudaMemcpy(dst, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice), "upload weights");
    return dst;
  }

  MlpWeights mlp(const std::string& p, int width) {
    return MlpWeights{linear(p + ".up_proj", width, c_.hidden_size), linear(p + ".down_proj", c_.hidden_size, width)};
  }

  // Routed experts stacked: up [E, I, H], down [E, H, I].
  cuda::ExpertWeights experts(const std::string& m) {
    const int E = c_.n_routed_experts, I = c_.moe_intermediate_size, H = c_.hidden_size;
    const size_t per = static_cast<size_t>(I) * H;
    auto* up = reinterpret_cast<uint16_t*>(alloc(per * E * 2));
    auto* down = reinterpret_cast<uint16_t*>(alloc(per * E * 2));
    for (int e = 0; e < E; ++e) {
      const std::string p = m + ".experts." + std::to_string(e);
      put_bf16(floating(p + ".up_proj.weight", {I, H}), up + per * e);
      put_bf16(floating(p + ".down_proj.weight", {H, I}), down + per * e);
    }
    return cuda::ExpertWeights{up, down, E, I};
  }

  LayerWeights layer(const std::string& p, LayerKind kind) {
    const int H = c_.hidden_size;
    LayerWeights l;
    l.kind = kind;
    l.norm = vec(p + ".norm.weight", {H});
    const std::string m = p + ".mixer";
    switch (kind) {
      case LayerKind::mamba: {
        const int nh = c_.mamba_num_heads, C = c_.conv_dim(), K = c_.conv_kernel;
        l.mamba.in_proj = linear(m + ".in_proj", c_.in_proj_dim(), H);
        l.mamba.out_proj = linear(m + ".out_proj", H, c_.d_inner());
        l.mamba.conv_w = vec(m + ".conv1d.weight", {C, 1, K});
        l.mamba.conv_b = c_.use_conv_bias ? vec(m + ".conv1d.bias", {C}) : upload_f32(std::vector<float>(C, 0.0f));
        l.mamba.dt_bias = vec(m + ".dt_bias", {nh});
        l.mamba.A_log = vec(m + ".A_log", {nh});
        l.mamba.D = vec(m + ".D", {nh});
        l.mamba.norm_w = vec(m + ".norm.weight", {c_.d_inner()});
        break;
      }
      case LayerKind::attention: {
        const int q = c_.num_attention_heads * c_.head_dim, kv = c_.num_key_value_heads * c_.head_dim;
        l.attn = AttentionWeights{linear(m + ".q_proj", q, H), linear(m + ".k_proj", kv, H),
                                  linear(m + ".v_proj", kv, H), linear(m + ".o_proj", H, q)};
        break;
      }
      case LayerKind::mlp:
        l.mlp = mlp(m, c_.intermediate_size);
        break;
      case LayerKind::moe: {
        const int E = c_.n_routed_experts;
        l.moe.gate_w = vec(m + ".gate.weight", {E, H});
        l.moe.gate_bias = vec(m + ".gate.e_score_correction_bias", {E});
        l.moe.experts = experts(m);
        if (c_.n_shared_experts == 1) l.moe.shared = mlp(m + ".shared_experts", c_.moe_shared_expert_intermediate_size);
        break;
      }
    }
    return l;
  }

  void embedding(const std::string& name) {
    const int V = c_.vocab_size, H = c_.hidden_size;
    const TensorView& t = floating(name, {V, H});
    t_.vocab = V;
    t_.hidden = H;
    if (t.dtype == DType::bf16) {
      auto* dst = reinterpret_cast<uint16_t*>(alloc(static_cast<size_t>(V) * H * 2));
      put_bf16(t, dst);
      t_.embed = dst;
      t_.embed_bf16 = true;
    } else {  // kept at fp32 so that lookups equal the CPU's widened rows
      std::vector<float> wide(static_cast<size_t>(t.numel()));
      convert_to_f32(t, wide.data());
      t_.embed = upload_f32(wide);
      t_.embed_bf16 = false;
    }
  }

private:
  const ModelConfig& c_;
  const Checkpoint& ck_;
  TowerWeights& t_;
};

}  // namespace

TowerWeights upload_tower(const ModelConfig& config, const Checkpoint& checkpoint, const std::string& prefix,
                          const std::string& head) {
  TowerWeights t;
  Uploader up(config, checkpoint, t);
  up.embedding(prefix + ".embeddings.weight");
  for (size_t i = 0; i < config.layers.size(); ++i)
    t.layers.push_back(up.layer(prefix + ".layers." + std::to_string(i), config.layers[i]));
  t.norm_f = up.vec(prefix + ".norm_f.weight", {config.hidden_size});
  t.head = up.linear(head, config.vocab_size, config.hidden_size);
  // The copies above are pageable cudaMemcpy on the default stream: all landed before a
  // tower stream reads them.
  cuda::sync_default_stream("upload weights");
  return t;
}

}  // namespace tt::gpu
