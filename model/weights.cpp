// Loading and shape-checking tower weights by their released names.
#include "model/weights.hpp"

#include "kernels/cpu/thread_pool.hpp"
#include "model/error.hpp"

namespace tt {
namespace {

using Shape = std::vector<int64_t>;

class Loader {
public:
  Loader(const ModelConfig& c, const Checkpoint& ck) : c_(c), ck_(ck) {}

  std::vector<float> vec(const std::string& name, const Shape& shape) const {
    ck_.get(name, shape);
    return ck_.read_f32(name);
  }

  Linear linear(const std::string& name, int out, int in, size_t& bytes) const {
    const TensorView& t = ck_.get(name + ".weight", {out, in});
    Linear l;
    switch (t.dtype) {
      case DType::bf16:
        l.w = cpu::pack_weight_bf16(reinterpret_cast<const uint16_t*>(t.data), out, in);
        break;
      case DType::f32:
        l.w = cpu::pack_weight_f32(reinterpret_cast<const float*>(t.data), out, in);
        break;
      case DType::f16:
      case DType::f64: {
        std::vector<float> tmp(static_cast<size_t>(t.numel()));
        convert_to_f32(t, tmp.data());
        l.w = cpu::pack_weight_f32(tmp.data(), out, in);
        break;
      }
      case DType::i64:
      case DType::i32:
      case DType::i16:
      case DType::i8:
      case DType::u8:
      case DType::boolean:
        throw Error(t.file + ": tensor '" + t.name + "' has dtype " + dtype_name(t.dtype) +
                    ", expected F32, F16 or BF16");
    }
    bytes += l.w.bytes();
    return l;
  }

  Linear linear_bias(const std::string& name, int out, int in, size_t& bytes) const {
    Linear l = linear(name, out, in, bytes);
    l.bias = vec(name + ".bias", {out});
    return l;
  }

  MlpWeights mlp(const std::string& prefix, int width, size_t& bytes) const {
    const int H = c_.hidden_size;
    return MlpWeights{linear(prefix + ".up_proj", width, H, bytes),
                      linear(prefix + ".down_proj", H, width, bytes)};
  }

  TowerWeights tower(const std::string& prefix, const std::string& head, size_t& bytes) const {
    const int H = c_.hidden_size;
    TowerWeights t;
    const TensorView& emb = ck_.get(prefix + ".embeddings.weight", {c_.vocab_size, H});
    if (emb.dtype != DType::f32 && emb.dtype != DType::bf16 && emb.dtype != DType::f16)
      throw Error(emb.file + ": tensor '" + emb.name + "' has dtype " + dtype_name(emb.dtype) +
                  ", expected F32, F16 or BF16");
    t.embed = Embedding{&emb, c_.vocab_size, H};
    t.layers.resize(c_.layers.size());
    // Layers are independent: load them in parallel (packing dominates start-up).
    std::vector<size_t> layer_bytes(c_.layers.size(), 0);
    std::vector<std::string> errors(c_.layers.size());
    cpu::ThreadPool::global().parallel_for(static_cast<int64_t>(c_.layers.size()), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        try {
          t.layers[i] = layer(prefix + ".layers." + std::to_string(i), c_.layers[i], layer_bytes[i]);
        } catch (const std::exception& ex) {
          errors[i] = ex.what();
        }
      }
    });
    for (size_t i = 0; i < errors.size(); ++i) {
      if (!errors[i].empty()) throw Error(errors[i]);
      bytes += layer_bytes[i];
    }
    t.norm_f = vec(prefix + ".norm_f.weight", {H});
    t.head = linear(head, c_.vocab_size, H, bytes);
    return t;
  }

  LayerWeights layer(const std::string& p, LayerKind kind, size_t& bytes) const {
    const int H = c_.hidden_size;
    LayerWeights l;
    l.kind = kind;
    l.norm = vec(p + ".norm.weight", {H});
    const std::string m = p + ".mixer";
    switch (kind) {
      case LayerKind::mamba: {
        const int nh = c_.mamba_num_heads, C = c_.conv_dim(), K = c_.conv_kernel;
        l.mamba.in_proj = linear(m + ".in_proj", c_.in_proj_dim(), H, bytes);
        l.mamba.out_proj = linear(m + ".out_proj", H, c_.d_inner(), bytes);
        l.mamba.conv_w = vec(m + ".conv1d.weight", {C, 1, K});
        l.mamba.conv_b = c_.use_conv_bias ? vec(m + ".conv1d.bias", {C}) : std::vector<float>(C, 0.0f);
        l.mamba.dt_bias = vec(m + ".dt_bias", {nh});
        l.mamba.A_log = vec(m + ".A_log", {nh});
        l.mamba.D = vec(m + ".D", {nh});
        l.mamba.norm_w = vec(m + ".norm.weight", {c_.d_inner()});
        break;
      }
      case LayerKind::attention: {
        const int q = c_.num_attention_heads * c_.head_dim;
        const int kv = c_.num_key_value_heads * c_.head_dim;
        l.attn.q = linear(m + ".q_proj", q, H, bytes);
        l.attn.k = linear(m + ".k_proj", kv, H, bytes);
        l.attn.v = linear(m + ".v_proj", kv, H, bytes);
        l.attn.o = linear(m + ".o_proj", H, q, bytes);
        break;
      }
      case LayerKind::mlp:
        l.mlp = mlp(m, c_.intermediate_size, bytes);
        break;
      case LayerKind::moe: {
        const int E = c_.n_routed_experts;
        l.moe.gate_w = vec(m + ".gate.weight", {E, H});
        l.moe.gate_bias = vec(m + ".gate.e_score_correction_bias", {E});
        l.moe.experts.reserve(E);
        for (int e = 0; e < E; ++e)
          l.moe.experts.push_back(mlp(m + ".experts." + std::to_string(e), c_.moe_intermediate_size, bytes));
        if (c_.n_shared_experts == 1)
          l.moe.shared = mlp(m + ".shared_experts", c_.moe_shared_expert_intermediate_size, bytes);
        break;
      }
    }
    return l;
  }

  TimeWeights time(size_t& bytes) const {
    const int H = c_.hidden_size;
    TimeWeights t;
    t.mlp0 = linear_bias("t_embedder.mlp.0", H, t.frequency_dim, bytes);
    t.mlp2 = linear_bias("t_embedder.mlp.2", H, H, bytes);
    t.block = linear_bias("t_block.1", 3 * H, H, bytes);
    for (int i = 0; i < c_.num_hidden_layers; ++i) {
      const std::string name = "scale_shift_tables." + std::to_string(i);
      t.tables.push_back(vec(name, {3, H}));
    }
    return t;
  }

private:
  const ModelConfig& c_;
  const Checkpoint& ck_;
};

}  // namespace

void Embedding::lookup(int token, float* out) const {
  if (token < 0 || token >= rows) throw Error("token id " + std::to_string(token) + " is outside the vocabulary (" + std::to_string(rows) + ")");
  widen_to_f32(table->dtype, table->data + static_cast<size_t>(token) * dim * dtype_size(table->dtype),
               dim, out);
}

TimeWeights load_time_weights(const ModelConfig& config, const Checkpoint& checkpoint) {
  size_t bytes = 0;
  return Loader(config, checkpoint).time(bytes);
}

ModelWeights load_weights(const ModelConfig& config, std::shared_ptr<const Checkpoint> checkpoint,
                          const LoadOptions& options) {
  ModelWeights w;
  w.checkpoint = checkpoint;
  Loader loader(config, *checkpoint);
  if (options.context) w.context = loader.tower("context_tower", "context_lm_head", w.packed_bytes);
  if (options.denoiser) {
    w.denoiser = loader.tower("denoiser_tower", "lm_head", w.packed_bytes);
    w.time = loader.time(w.packed_bytes);
  }
  return w;
}

}  // namespace tt
