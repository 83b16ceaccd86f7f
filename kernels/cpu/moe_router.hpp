// NemotronH MoE router: sigmoid scores + correction bias for selection,
// unbiased scores for weights, normalised, times the routed scaling factor.
// Computed in fp64 like the TwoTower reference (mcore --moe-router-dtype fp64).
#pragma once

namespace tt::cpu {

struct RouterShape {
  int n_experts = 0;
  int top_k = 0;
  float scaling = 1.0f;   // routed_scaling_factor
  bool normalize = true;  // norm_topk_prob
};

// x: [T, H]; gate_w: [n_experts, H]; bias: [n_experts] (e_score_correction_bias).
// For each token: s = sigmoid(x · gate_wᵀ) in fp64; choose the top_k experts by
// s + bias (ties: lower expert index first); w = s[chosen] / (sum + 1e-20) when
// normalize; w *= scaling; written to experts[T, top_k] in ascending expert
// order and weights[T, top_k] (fp32) aligned with them.
void moe_route(const float* x, int T, int H, const float* gate_w, const float* bias,
               const RouterShape& shape, int* experts, float* weights);

}  // namespace tt::cpu
