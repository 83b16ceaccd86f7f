// MoE and dense MLP mixers. Routed experts run as one GEMM pair per expert
// over the rows routed to it; each row then sums its experts in ascending
// expert order (fp32) and adds the shared expert, so a row's result does not
// depend on which other rows share the batch.
#include <algorithm>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/moe_router.hpp"
#include "model/tower.hpp"

namespace tt {
namespace {

void relu_squared(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    float r = x[i] > 0.0f ? x[i] : 0.0f;
    x[i] = r * r;
  }
}

}  // namespace

void Tower::mlp(const MlpWeights& w, const float* u, int rows, float* out) {
  const int H = config_.hidden_size;
  const int I = w.up.out();
  f_.resize(static_cast<size_t>(rows) * I);
  cpu::gemm(u, rows, H, w.up.w, f_.data(), I);
  relu_squared(f_.data(), f_.size());
  cpu::gemm(f_.data(), rows, I, w.down.w, out, H);
}

void Tower::moe_layer(const MoeWeights& w, const float* u, int rows, float* out) {
  const ModelConfig& c = config_;
  const int H = c.hidden_size, E = c.n_routed_experts, top_k = c.num_experts_per_tok;
  const cpu::RouterShape shape{E, top_k, c.routed_scaling_factor, c.norm_topk_prob};
  experts_.resize(static_cast<size_t>(rows) * top_k);
  expert_w_.resize(experts_.size());
  cpu::moe_route(u, rows, H, w.gate_w.data(), w.gate_bias.data(), shape, experts_.data(), expert_w_.data());

  // Output of expert experts_[r*top_k + s] for row r lands in routed_[(r*top_k + s) * H].
  routed_.resize(experts_.size() * H);
  std::vector<int> members;
  for (int e = 0; e < E; ++e) {
    members.clear();
    for (size_t i = 0; i < experts_.size(); ++i)
      if (experts_[i] == e) members.push_back(static_cast<int>(i));
    if (members.empty()) continue;
    const int n = static_cast<int>(members.size());
    gathered_.resize(static_cast<size_t>(n) * H);
    for (int j = 0; j < n; ++j)
      std::copy_n(u + static_cast<size_t>(members[j] / top_k) * H, H, &gathered_[static_cast<size_t>(j) * H]);
    expert_out_.resize(static_cast<size_t>(n) * H);
    mlp(w.experts[e], gathered_.data(), n, expert_out_.data());
    for (int j = 0; j < n; ++j)
      std::copy_n(&expert_out_[static_cast<size_t>(j) * H], H, &routed_[static_cast<size_t>(members[j]) * H]);
  }
  // Weighted sum in ascending expert order (the router returns experts sorted).
  for (int r = 0; r < rows; ++r) {
    float* o = out + static_cast<size_t>(r) * H;
    std::fill_n(o, H, 0.0f);
    for (int s = 0; s < top_k; ++s) {
      const float wt = expert_w_[static_cast<size_t>(r) * top_k + s];
      const float* x = &routed_[(static_cast<size_t>(r) * top_k + s) * H];
      for (int j = 0; j < H; ++j) o[j] += wt * x[j];
    }
  }
  if (w.shared) {
    expert_out_.resize(static_cast<size_t>(rows) * H);
    mlp(*w.shared, u, rows, expert_out_.data());
    for (size_t i = 0; i < static_cast<size_t>(rows) * H; ++i) out[i] += expert_out_[i];
  }
}

}  // namespace tt
