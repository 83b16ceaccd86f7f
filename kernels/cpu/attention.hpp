// Grouped-query attention without positional encoding (NemotronH), fp32.
// Keys/values come in two segments: `ctx` (cached positions, all visible to
// every query) and `new` (the n_q positions being computed now). Query i sees
// all of ctx and, in `new`, positions 0..i when causal or all when not.
// That covers causal prefill (ctx empty), cached extension, the denoiser's
// block attention over [context K/V ; block K/V] (causal = false) and mock-AR.
#pragma once

namespace tt::cpu {

struct AttentionShape {
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads; query head h uses kv head h / (n_heads / n_kv_heads)
  int head_dim = 0;
};

// q:     [n_q, n_heads * head_dim]
// k_ctx, v_ctx: [n_ctx, n_kv_heads * head_dim] (may be null when n_ctx == 0)
// k_new, v_new: [n_q, n_kv_heads * head_dim]
// out:   [n_q, n_heads * head_dim]
// Scale 1/sqrt(head_dim); softmax in fp32 with max subtraction; keys are
// reduced in position order (ctx then new) for every query, whatever n_q, so
// a query's output is bit-identical for any batch, ctx/new split or thread
// count that gives it the same visible keys. Parallel over (query, kv head).
// out must not alias the inputs.
void attention(const float* q, int n_q, const float* k_ctx, const float* v_ctx, int n_ctx,
               const float* k_new, const float* v_new, bool causal, const AttentionShape& shape,
               float* out);

}  // namespace tt::cpu
