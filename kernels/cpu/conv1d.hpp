// Causal depthwise conv1d with history, followed by SiLU (Mamba-2 xBC conv).
#pragma once

namespace tt::cpu {

// x:       [T, C] new raw inputs (time-major)
// history: [K-1, C] the K-1 raw inputs before x, oldest first (zeros at start)
// w:       [C, K] (checkpoint conv1d.weight [C, 1, K]); k = K-1 multiplies the newest input
// bias:    [C]
// out[t, c] = silu(bias[c] + sum_{j=0..K-1} w[c, j] * in[t - (K-1) + j, c])
//   where in[-1..-(K-1)] come from history. out must not alias x or history.
// Each output depends only on its K inputs (taps summed oldest first), so
// running x in pieces with conv1d_update_history in between is bit-identical.
void causal_conv1d_silu(const float* x, int T, int C, const float* history, int K,
                        const float* w, const float* bias, float* out);

// new_history = last K-1 rows of [history ; x]  (new_history may alias history).
void conv1d_update_history(const float* x, int T, int C, int K, float* history);

}  // namespace tt::cpu
