// GEMM micro-benchmark, run by `twotower bench`.
#pragma once

#include <nlohmann/json.hpp>

namespace tt::bench {

// Measures, on ThreadPool::global():
//  * "peak_gflops": the machine's fp32 FMA throughput, a register-resident
//    FMA loop on every thread of the pool (best of several runs);
//  * "cases": tt::cpu::gemm on the model's shapes (decode m = 1 and m = 16
//    with bf16 weights at n x k = 2688 x 2688, 1856 x 2688 and the LM head
//    131072 x 2688; compute-bound m = 256, n = k = 1024 with fp32 weights).
//    Each case reports seconds per call (median, with mean and best), and
//    from the median (and the best) call: GFLOP/s, the fraction of peak, and
//    the weight bytes streamed per second ("weight_gbps", the figure of merit
//    for small m). Decode cases rotate over enough weight
//    copies to exceed the last-level cache, so they stream from DRAM as in the
//    model. A case whose memory cannot be allocated is reported with
//    "skipped": true.
// Each case runs for about seconds_per_case (at least two timed calls).
nlohmann::json run_gemm_bench(double seconds_per_case);

}  // namespace tt::bench
