// Mamba-2 selective scan: the per-token recurrence (the specification) and
// the chunked SSD formulation, both fp32 and parallel over heads.
#include "kernels/cpu/ssm_scan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/thread_pool.hpp"

namespace tt::cpu {
namespace {

constexpr int kLanes = 16;

float dot(const float* a, const float* b, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] += a[i + l] * b[i + l];
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

float softplus(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }

// Row strides and per-head pointers shared by both scans.
struct HeadView {
  const float* x;   // x_t[h, :] at x + t * x_stride
  const float* dt;  // dt_raw[t, h] at dt + t * n_heads
  const float* B;   // B_t[g, :] at B + t * bc_stride
  const float* C;
  int64_t x_stride, bc_stride, n_heads;
  float A, D, dt_bias;

  HeadView(const float* x_, const float* dt_raw, const float* B_, const float* C_,
           const float* A_log, const float* D_, const float* dt_bias_, const SsmShape& s, int h)
      : x(x_ + static_cast<int64_t>(h) * s.head_dim),
        dt(dt_raw + h),
        B(B_ + static_cast<int64_t>(h / (s.n_heads / s.n_groups)) * s.state),
        C(C_ + static_cast<int64_t>(h / (s.n_heads / s.n_groups)) * s.state),
        x_stride(static_cast<int64_t>(s.n_heads) * s.head_dim),
        bc_stride(static_cast<int64_t>(s.n_groups) * s.state),
        n_heads(s.n_heads),
        A(-std::exp(A_log[h])),
        D(D_[h]),
        dt_bias(dt_bias_[h]) {}

  const float* x_at(int t) const { return x + t * x_stride; }
  const float* B_at(int t) const { return B + t * bc_stride; }
  const float* C_at(int t) const { return C + t * bc_stride; }
  float dt_at(int t) const { return softplus(dt[t * n_heads] + dt_bias); }
};

// The state of one head is scanned in a transposed copy St[n][p], so every
// inner loop runs over head_dim contiguously and y[p] accumulates over n
// sequentially (n = 0, 1, ...) without horizontal reductions.
void transpose(const float* src, int rows, int cols, float* dst) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      dst[static_cast<int64_t>(c) * rows + r] = src[static_cast<int64_t>(r) * cols + c];
}

struct HeadScratch {
  std::vector<float> st, xdt, acc;
  HeadScratch(int P, int N) : st(static_cast<size_t>(P) * N), xdt(P), acc(P) {}
};

void scan_head_recurrent(const HeadView& hv, int T, int P, int N, HeadScratch& sc, float* S,
                         float* y) {
  float* st = sc.st.data();
  float* xdt = sc.xdt.data();
  float* acc = sc.acc.data();
  transpose(S, P, N, st);
  for (int t = 0; t < T; ++t) {
    const float dt = hv.dt_at(t);
    const float decay = std::exp(dt * hv.A);
    const float* xt = hv.x_at(t);
    const float* Bt = hv.B_at(t);
    const float* Ct = hv.C_at(t);
    for (int p = 0; p < P; ++p) {
      xdt[p] = dt * xt[p];
      acc[p] = 0.0f;
    }
    for (int n = 0; n < N; ++n) {
      float* row = st + static_cast<int64_t>(n) * P;
      const float b = Bt[n], c = Ct[n];
      for (int p = 0; p < P; ++p) {
        const float v = row[p] * decay + xdt[p] * b;
        row[p] = v;
        acc[p] += c * v;
      }
    }
    float* yt = y + t * hv.x_stride;
    for (int p = 0; p < P; ++p) yt[p] = acc[p] + hv.D * xt[p];
  }
  transpose(st, N, P, S);
}

// Scratch of one head's chunk: Q = chunk length.
struct ChunkScratch {
  std::vector<float> dt, seg, decay, decay_in, w;
  explicit ChunkScratch(int Q)
      : dt(Q),
        seg(static_cast<size_t>(Q) * Q),
        decay(static_cast<size_t>(Q) * Q),
        decay_in(Q),
        w(static_cast<size_t>(Q) * Q) {}
};

// One chunk [t0, t0 + q) of one head; st = the transposed state before t0 (updated).
//   cum_i       = sum_{k<=i} a_k,  a_k = dt_k * A
//   L[i][j]     = exp(sum_{j<k<=i} a_k)                    (j <= i)
//   y_i         = exp(cum_i) * (S · C_i) + sum_{j<=i} (C_i·B_j) L[i][j] dt_j x_j + D x_i
//   S_end       = exp(cum_{q-1}) * S + sum_j L[q-1][j] dt_j x_j ⊗ B_j
void scan_chunk(const HeadView& hv, int t0, int q, int Q, int P, int N, ChunkScratch& sc,
                HeadScratch& hs, float* y) {
  float* seg = sc.seg.data();
  float* decay = sc.decay.data();
  float* w = sc.w.data();
  float* st = hs.st.data();
  for (int i = 0; i < q; ++i) sc.dt[i] = hv.dt_at(t0 + i);
  // Segment sums row by row, each a direct sum of the a_k it spans (no
  // difference of cumulative sums, which cancels badly for large dt).
  float cum = 0.0f;
  for (int i = 0; i < q; ++i) {
    const float a = sc.dt[i] * hv.A;
    float* row = seg + static_cast<size_t>(i) * Q;
    if (i > 0) {
      const float* prev = row - Q;
      for (int j = 0; j < i; ++j) row[j] = prev[j] + a;
    }
    row[i] = 0.0f;
    cum += a;
    sc.decay_in[i] = std::exp(cum);
    float* drow = decay + static_cast<size_t>(i) * Q;
    for (int j = 0; j <= i; ++j) drow[j] = std::exp(row[j]);
  }
  // Intra-chunk weights W[i][j] = (C_i · B_j) * L[i][j] * dt_j.
  for (int i = 0; i < q; ++i) {
    const float* Ci = hv.C_at(t0 + i);
    for (int j = 0; j <= i; ++j)
      w[static_cast<size_t>(i) * Q + j] =
          dot(Ci, hv.B_at(t0 + j), N) * decay[static_cast<size_t>(i) * Q + j] * sc.dt[j];
  }
  float* acc = hs.acc.data();
  for (int i = 0; i < q; ++i) {
    const float* Ci = hv.C_at(t0 + i);
    for (int p = 0; p < P; ++p) acc[p] = 0.0f;
    for (int n = 0; n < N; ++n) {
      const float* row = st + static_cast<int64_t>(n) * P;
      const float c = Ci[n];
      for (int p = 0; p < P; ++p) acc[p] += c * row[p];
    }
    float* yi = y + (t0 + i) * hv.x_stride;
    const float din = sc.decay_in[i];
    for (int p = 0; p < P; ++p) yi[p] = din * acc[p];
    for (int j = 0; j <= i; ++j) {
      const float wij = w[static_cast<size_t>(i) * Q + j];
      const float* xj = hv.x_at(t0 + j);
      for (int p = 0; p < P; ++p) yi[p] += wij * xj[p];
    }
    const float* xi = hv.x_at(t0 + i);
    for (int p = 0; p < P; ++p) yi[p] += hv.D * xi[p];
  }
  const float dout = sc.decay_in[q - 1];
  const float* last = decay + static_cast<size_t>(q - 1) * Q;
  for (int n = 0; n < N; ++n) {
    float* row = st + static_cast<int64_t>(n) * P;
    for (int p = 0; p < P; ++p) row[p] *= dout;
    for (int j = 0; j < q; ++j) {
      const float coef = last[j] * sc.dt[j] * hv.B_at(t0 + j)[n];
      const float* xj = hv.x_at(t0 + j);
      for (int p = 0; p < P; ++p) row[p] += coef * xj[p];
    }
  }
}

}  // namespace

void ssm_scan_recurrent(const float* x, const float* dt_raw, const float* B, const float* C, int T,
                        const float* A_log, const float* D, const float* dt_bias,
                        const SsmShape& shape, float* ssm_state, float* y) {
  const int P = shape.head_dim;
  const int N = shape.state;
  ThreadPool::global().parallel_for(shape.n_heads, [&](int64_t begin, int64_t end) {
    HeadScratch hs(P, N);
    for (int64_t h = begin; h < end; ++h) {
      const HeadView hv(x, dt_raw, B, C, A_log, D, dt_bias, shape, static_cast<int>(h));
      scan_head_recurrent(hv, T, P, N, hs, ssm_state + h * P * N, y + h * P);
    }
  });
}

void ssm_scan_chunked(const float* x, const float* dt_raw, const float* B, const float* C, int T,
                      const float* A_log, const float* D, const float* dt_bias,
                      const SsmShape& shape, float* ssm_state, float* y, int chunk) {
  const int P = shape.head_dim;
  const int N = shape.state;
  const int Q = std::max(1, std::min(chunk, T));
  ThreadPool::global().parallel_for(shape.n_heads, [&](int64_t begin, int64_t end) {
    ChunkScratch sc(Q);
    HeadScratch hs(P, N);
    for (int64_t h = begin; h < end; ++h) {
      const HeadView hv(x, dt_raw, B, C, A_log, D, dt_bias, shape, static_cast<int>(h));
      float* S = ssm_state + h * P * N;
      transpose(S, P, N, hs.st.data());
      for (int t0 = 0; t0 < T; t0 += Q)
        scan_chunk(hv, t0, std::min(Q, T - t0), Q, P, N, sc, hs, y + h * P);
      transpose(hs.st.data(), N, P, S);
    }
  });
}

}  // namespace tt::cpu
