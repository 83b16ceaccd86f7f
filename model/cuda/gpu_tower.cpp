// The NemotronH block loop on the device (see gpu_tower.hpp); mirrors
// model/tower.cpp, tower_mamba.cpp, tower_attention.cpp and tower_moe.cpp.
#include "model/cuda/gpu_tower.hpp"

#include <algorithm>
#include <string>

#include "kernels/cuda/attention.hpp"
#include "kernels/cuda/conv1d.hpp"
#include "kernels/cuda/moe.hpp"
#include "kernels/cuda/norm.hpp"
#include "kernels/cuda/sampling.hpp"
#include "kernels/cuda/ssm_scan.hpp"
#include "kernels/cuda/tower_ops.hpp"
#include "model/decoding.hpp"
#include "model/error.hpp"

namespace tt::gpu {
namespace {

// Grows a workspace to at least n elements (contents are not kept).
template <class T>
T* room(cuda::DeviceBuffer<T>& b, size_t n) {
  if (b.size() < n) b = cuda::DeviceBuffer<T>(std::max(n, b.size() * 3 / 2));
  return b.get();
}

// dst[r, :width] = src[r, col : col + width] for r < n (src has ld columns), stream-ordered.
void copy_columns(const float* src, int n, int ld, int col, int width, float* dst, cudaStream_t s) {
  if (n == 0) return;
  cuda::check(cudaMemcpy2DAsync(dst, width * sizeof(float), src + col, ld * sizeof(float), width * sizeof(float), n,
                                cudaMemcpyDeviceToDevice, s),
              "copy columns");
}

void copy_d2d(float* dst, const float* src, size_t n, cudaStream_t s) {
  cuda::check(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, s), "copy");
}

int count_rows(std::span<const TowerItem> items) {
  int rows = 0;
  for (const auto& it : items) rows += static_cast<int>(it.tokens.size());
  return rows;
}

}  // namespace

Tower::Tower(const ModelConfig& config, const TowerWeights& weights, cudaStream_t stream)
    : config_(config), weights_(weights), stream_(stream), blas_(stream), slots_(config) {}

void Tower::forward(std::span<const TowerItem> items) {
  const int H = config_.hidden_size;
  const float eps = config_.layer_norm_epsilon;
  std::vector<int32_t> ids;
  for (const auto& it : items) {
    if ((it.cache == nullptr) == (it.seed == nullptr))
      throw Error("tower forward: each item needs exactly one of cache or seed");
    // The kernels would read a host seed's pointers as device addresses: an illegal access
    // that poisons the context for every later call.
    if (it.seed && it.seed->device < 0) throw Error("gpu tower: the seed is in host memory (upload it first)");
    if (it.seed && (static_cast<int>(it.seed->k.size()) != slots_.attention ||
                    static_cast<int>(it.seed->conv.size()) != slots_.mamba))
      throw Error("gpu tower: the seed belongs to another model");
    for (int32_t tok : it.tokens) {
      if (tok < 0 || tok >= weights_.vocab)
        throw Error("token id " + std::to_string(tok) + " is outside the vocabulary (" +
                    std::to_string(weights_.vocab) + ")");
      ids.push_back(tok);
    }
    if (it.cache) it.cache->reserve(it.cache->length() + static_cast<int>(it.tokens.size()), stream_);
  }
  rows_ = static_cast<int>(ids.size());
  const size_t n = static_cast<size_t>(rows_) * H;
  room(h_, n), room(u_, n), room(m_, n), room(hidden_, n);
  int32_t* d_ids = room(ids_, ids.size());
  if (rows_ == 0) return;
  cuda::check(cudaMemcpyAsync(d_ids, ids.data(), ids.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream_),
              "upload ids");
  cuda::embed_lookup(weights_.embed, weights_.embed_bf16, d_ids, rows_, H, h_.get(), stream_);

  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    const LayerWeights& lw = weights_.layers[i];
    norm_rows(lw, static_cast<int>(i), items);
    switch (lw.kind) {
      case LayerKind::mamba: mamba_layer(lw.mamba, slots_.slot[i], items); break;
      case LayerKind::attention: attention_layer(lw.attn, slots_.slot[i], items); break;
      case LayerKind::moe: moe_layer(lw.moe); break;
      case LayerKind::mlp: mlp(lw.mlp, u_.get(), rows_, m_.get(), false); break;
    }
    // h += (gate ·) mixer(u), per item (each has its own gate).
    int r0 = 0;
    for (const auto& it : items) {
      const int rows = static_cast<int>(it.tokens.size());
      const float* gate = it.modulation ? it.modulation + (i * 3 + 2) * static_cast<size_t>(H) : nullptr;
      cuda::residual_add(h_.get() + static_cast<size_t>(r0) * H, m_.get() + static_cast<size_t>(r0) * H, gate, rows,
                         H, stream_);
      r0 += rows;
    }
  }
  for (const auto& it : items)
    if (it.cache) it.cache->set_length(it.cache->length() + static_cast<int>(it.tokens.size()));
  cuda::rms_norm(h_.get(), weights_.norm_f, hidden_.get(), rows_, H, eps, stream_);
}

// u = norm(h), with per-item adaLN modulation before (M, *) or after (E, -) the norm.
void Tower::norm_rows(const LayerWeights& lw, int layer, std::span<const TowerItem> items) {
  const int H = config_.hidden_size;
  const float eps = config_.layer_norm_epsilon;
  const bool modulate_first = lw.kind == LayerKind::mamba || lw.kind == LayerKind::attention;
  int r0 = 0;
  for (const auto& it : items) {
    const int rows = static_cast<int>(it.tokens.size());
    const float* h = h_.get() + static_cast<size_t>(r0) * H;
    float* u = u_.get() + static_cast<size_t>(r0) * H;
    if (it.modulation == nullptr) {
      cuda::rms_norm(h, lw.norm, u, rows, H, eps, stream_);
    } else {
      const float* mod = it.modulation + static_cast<size_t>(layer) * 3 * H;
      if (modulate_first) {
        cuda::modulate(h, mod, mod + H, u, rows, H, stream_);
        cuda::rms_norm(u, lw.norm, u, rows, H, eps, stream_);
      } else {
        cuda::rms_norm(h, lw.norm, u, rows, H, eps, stream_);
        cuda::modulate(u, mod, mod + H, u, rows, H, stream_);
      }
    }
    r0 += rows;
  }
}

void Tower::mamba_layer(const MambaWeights& w, int slot, std::span<const TowerItem> items) {
  const ModelConfig& c = config_;
  const int H = c.hidden_size, P = c.in_proj_dim(), Di = c.d_inner(), C = c.conv_dim();
  const int nh = c.mamba_num_heads, K = c.conv_kernel, GN = c.n_groups * c.ssm_state_size;
  const cuda::SsmShape shape{nh, c.mamba_head_dim, c.n_groups, c.ssm_state_size};
  const size_t conv_state = static_cast<size_t>(K - 1) * C;
  const size_t ssm_state = static_cast<size_t>(nh) * c.mamba_head_dim * c.ssm_state_size;
  int max_n = 0;
  for (const auto& it : items) max_n = std::max(max_n, static_cast<int>(it.tokens.size()));

  float* proj = room(proj_, static_cast<size_t>(rows_) * P);
  cuda::gemm(blas_, u_.get(), rows_, H, w.in_proj, proj, P);
  float* gated = room(a_, static_cast<size_t>(rows_) * Di);
  float* raw = room(b_, static_cast<size_t>(max_n) * C);
  float* conv = room(c_, static_cast<size_t>(max_n) * C);
  float* split = room(d_, static_cast<size_t>(max_n) * (Di + 2 * GN + nh));
  float* y = room(e_, static_cast<size_t>(max_n) * Di);
  int r0 = 0;
  for (const auto& it : items) {
    const int n = static_cast<int>(it.tokens.size());
    const float* p = proj + static_cast<size_t>(r0) * P;
    float* hist;
    float* ssm;
    if (it.cache) {
      hist = it.cache->conv(slot);
      ssm = it.cache->ssm(slot);
    } else {  // the seed is read-only and reused by every step of the block
      hist = room(seed_conv_, conv_state);
      ssm = room(seed_ssm_, ssm_state);
      copy_d2d(hist, it.seed->conv[slot], conv_state, stream_);
      copy_d2d(ssm, it.seed->ssm[slot], ssm_state, stream_);
    }
    copy_columns(p, n, P, Di, C, raw, stream_);
    cuda::causal_conv1d_silu(raw, n, C, hist, K, w.conv_w, w.conv_b, conv, stream_);
    if (it.cache) cuda::conv1d_update_history(raw, n, C, K, hist, stream_);
    float* x = split;
    float* Bm = x + static_cast<size_t>(n) * Di;
    float* Cm = Bm + static_cast<size_t>(n) * GN;
    float* dt = Cm + static_cast<size_t>(n) * GN;
    copy_columns(conv, n, C, 0, Di, x, stream_);
    copy_columns(conv, n, C, Di, GN, Bm, stream_);
    copy_columns(conv, n, C, Di + GN, GN, Cm, stream_);
    copy_columns(p, n, P, Di + C, nh, dt, stream_);
    // Short spans (decode, a 16-token block) take the exact recurrence; prefill the chunked scan.
    if (n <= 64)
      cuda::ssm_scan_recurrent(x, dt, Bm, Cm, n, w.A_log, w.D, w.dt_bias, shape, ssm, y, stream_);
    else
      cuda::ssm_scan_chunked(x, dt, Bm, Cm, n, w.A_log, w.D, w.dt_bias, shape, ssm, y, 64, stream_);
    copy_columns(p, n, P, 0, Di, conv, stream_);  // z
    cuda::gated_group_rms_norm(y, conv, w.norm_w, gated + static_cast<size_t>(r0) * Di, n, Di, Di / c.n_groups,
                               c.layer_norm_epsilon, stream_);
    r0 += n;
  }
  cuda::gemm(blas_, gated, rows_, Di, w.out_proj, m_.get(), H);
}

void Tower::attention_layer(const AttentionWeights& w, int slot, std::span<const TowerItem> items) {
  const ModelConfig& c = config_;
  const int H = c.hidden_size;
  const int qd = c.num_attention_heads * c.head_dim, kvd = c.num_key_value_heads * c.head_dim;
  const cuda::AttentionShape shape{c.num_attention_heads, c.num_key_value_heads, c.head_dim};
  float* q = room(a_, static_cast<size_t>(rows_) * qd);
  float* k = room(b_, static_cast<size_t>(rows_) * kvd);
  float* v = room(c_, static_cast<size_t>(rows_) * kvd);
  float* o = room(d_, static_cast<size_t>(rows_) * qd);
  cuda::gemm(blas_, u_.get(), rows_, H, w.q, q, qd);
  cuda::gemm(blas_, u_.get(), rows_, H, w.k, k, kvd);
  cuda::gemm(blas_, u_.get(), rows_, H, w.v, v, kvd);
  int r0 = 0;
  for (const auto& it : items) {
    const int n = static_cast<int>(it.tokens.size());
    const size_t qo = static_cast<size_t>(r0) * qd, ko = static_cast<size_t>(r0) * kvd;
    if (it.cache) {
      const int n_ctx = it.cache->length();
      float* kc = it.cache->k(slot);
      float* vc = it.cache->v(slot);
      cuda::attention(q + qo, n, kc, vc, n_ctx, k + ko, v + ko, true, shape, o + qo, stream_);
      copy_d2d(kc + static_cast<size_t>(n_ctx) * kvd, k + ko, static_cast<size_t>(n) * kvd, stream_);
      copy_d2d(vc + static_cast<size_t>(n_ctx) * kvd, v + ko, static_cast<size_t>(n) * kvd, stream_);
    } else {
      cuda::attention(q + qo, n, it.seed->k[slot], it.seed->v[slot], it.seed->length, k + ko, v + ko, it.causal,
                      shape, o + qo, stream_);
    }
    r0 += n;
  }
  cuda::gemm(blas_, o, rows_, qd, w.o, m_.get(), H);
}

void Tower::mlp(const MlpWeights& w, const float* u, int rows, float* out, bool accumulate) {
  const int H = config_.hidden_size, I = w.up.n;
  float* f = room(f_, static_cast<size_t>(rows) * I);
  cuda::gemm(blas_, u, rows, H, w.up, f, I);
  cuda::relu_squared(f, static_cast<long long>(rows) * I, stream_);
  cuda::gemm(blas_, f, rows, I, w.down, out, H, accumulate);
}

void Tower::moe_layer(const MoeWeights& w) {
  const ModelConfig& c = config_;
  const int H = c.hidden_size, top_k = c.num_experts_per_tok;
  const cuda::RouterShape shape{c.n_routed_experts, top_k, c.routed_scaling_factor, c.norm_topk_prob};
  int* experts = room(experts_, static_cast<size_t>(rows_) * top_k);
  float* weights = room(route_w_, static_cast<size_t>(rows_) * top_k);
  cuda::moe_route(u_.get(), rows_, H, w.gate_w, w.gate_bias, shape, experts, weights, stream_);
  cuda::moe_experts(u_.get(), rows_, H, experts, weights, top_k, w.experts, m_.get(), stream_);
  // The shared expert is added after the routed sum, as on the CPU.
  if (w.shared) mlp(*w.shared, u_.get(), rows_, m_.get(), true);
}

void Tower::head_rows(std::span<const int> rows) {
  const int H = config_.hidden_size, V = weights_.head.n;
  for (int r : rows)
    if (r < 0 || r >= rows_) throw Error("tower logits: row " + std::to_string(r) + " is outside the last forward");
  std::vector<int32_t> idx(rows.begin(), rows.end());
  int32_t* d_idx = room(picked_, std::max<size_t>(idx.size(), 1));
  cuda::check(cudaMemcpyAsync(d_idx, idx.data(), idx.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream_),
              "upload rows");
  float* g = room(gathered_, rows.size() * static_cast<size_t>(H));
  cuda::gather_rows(hidden_.get(), d_idx, static_cast<int>(rows.size()), H, g, stream_);
  cuda::gemm(blas_, g, static_cast<int>(rows.size()), H, weights_.head, room(logits_, rows.size() * static_cast<size_t>(V)), V);
}

std::vector<float> Tower::logits(std::span<const int> rows) {
  const int V = weights_.head.n;
  std::vector<float> out(rows.size() * static_cast<size_t>(V));
  if (rows.empty()) return out;
  head_rows(rows);
  cuda::check(cudaMemcpyAsync(out.data(), logits_.get(), out.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_),
              "download logits");
  cuda::check(cudaStreamSynchronize(stream_), "logits");
  return out;
}

std::vector<float> Tower::hidden_host() const {
  std::vector<float> out(static_cast<size_t>(rows_) * config_.hidden_size);
  cuda::check(cudaMemcpyAsync(out.data(), hidden_.get(), out.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_),
              "download hidden");
  cuda::check(cudaStreamSynchronize(stream_), "hidden");
  return out;
}

void Tower::pick(std::span<const int> rows, int32_t mask_id, float temperature, uint64_t seed,
                 std::span<const uint64_t> streams, std::vector<int32_t>& tokens, std::vector<float>& confidence) {
  const int n = static_cast<int>(rows.size());
  tokens.resize(n);
  confidence.resize(n);
  if (n == 0) return;
  if (temperature > 0 && streams.size() != rows.size()) throw Error("tower pick: one RNG stream per row is needed");
  head_rows(rows);
  const uint64_t* d_streams = nullptr;
  if (temperature > 0) {
    uint64_t* s = room(streams_, rows.size());
    cuda::check(cudaMemcpyAsync(s, streams.data(), rows.size() * sizeof(uint64_t), cudaMemcpyHostToDevice, stream_),
                "upload streams");
    d_streams = s;
  }
  // picked_ holds the row indices until head_rows is done with them; tokens go to ids_.
  int32_t* d_tok = room(ids_, rows.size());
  float* d_conf = room(conf_, rows.size());
  cuda::pick_tokens(logits_.get(), n, weights_.head.n, mask_id, temperature, seed, d_streams, d_tok, d_conf, stream_);
  cuda::check(cudaMemcpyAsync(tokens.data(), d_tok, n * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_), "download");
  cuda::check(cudaMemcpyAsync(confidence.data(), d_conf, n * sizeof(float), cudaMemcpyDeviceToHost, stream_),
              "download");
  cuda::check(cudaStreamSynchronize(stream_), "pick");
  // pick_tokens marks a non-finite log-probability with a NaN confidence (an exp() of a
  // finite one is finite): the CPU's error.
  for (float c : confidence) check_finite_logit(c);
}

std::vector<int32_t> pick_rows(Tower& tower, std::span<const RowPick> picks) {
  std::map<std::pair<float, uint64_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < picks.size(); ++i) {
    const bool greedy = picks[i].temperature <= 0;
    groups[{greedy ? 0.0f : picks[i].temperature, greedy ? 0 : picks[i].seed}].push_back(i);
  }
  std::vector<int32_t> out(picks.size()), tokens;
  std::vector<float> conf;
  for (const auto& [key, members] : groups) {
    std::vector<int> rows;
    std::vector<uint64_t> streams;
    for (size_t i : members) rows.push_back(picks[i].row), streams.push_back(picks[i].stream);
    tower.pick(rows, -1, key.first, key.second, streams, tokens, conf);
    for (size_t k = 0; k < members.size(); ++k) out[members[k]] = tokens[k];
  }
  return out;
}

const float* Modulation::get(float t) {
  auto it = memo_.find(t);
  if (it == memo_.end()) it = memo_.emplace(t, cuda::DeviceBuffer<float>(host_.get(t))).first;
  return it->second.get();
}

void check_device(int device) {
  const int n = cuda::device_count();
  if (device < 0 || device >= n)
    throw Error("--device: device " + std::to_string(device) + " does not exist (" + std::to_string(n) +
                " CUDA device(s) visible)");
}

DeviceTower::DeviceTower(const ModelConfig& config, const Checkpoint& checkpoint, int device, Kind kind)
    : device_(device) {
  check_device(device);
  cuda::DeviceScope on(device_);
  const bool denoiser = kind == Kind::denoiser;
  weights_ = upload_tower(config, checkpoint, denoiser ? "denoiser_tower" : "context_tower",
                          denoiser ? "lm_head" : "context_lm_head");
  if (denoiser) {
    time_ = load_time_weights(config, checkpoint);
    modulation_ = std::make_unique<Modulation>(config, time_);
  }
  // The stream comes last and goes again when the Tower cannot be made (cublasCreate):
  // a constructor that throws runs no destructor.
  cuda::check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  try {
    tower_ = std::make_unique<Tower>(config, weights_, stream_);
  } catch (...) {
    cudaStreamDestroy(stream_);
    throw;
  }
}

DeviceTower::~DeviceTower() {
  // Everything is freed on this tower's device, whatever the calling thread has current.
  cuda::DeviceScope on(device_, std::nothrow);
  tower_.reset();
  modulation_.reset();
  weights_.storage.clear();
  if (stream_) cudaStreamDestroy(stream_);
}

}  // namespace tt::gpu
