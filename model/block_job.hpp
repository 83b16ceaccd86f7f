// The unit of work a context side hands to a denoiser: refine one block of
// one sequence from the context state at its block boundary (diffusion), or
// predict one token from the state before the last token (mock-AR).
#pragma once

#include <cstdint>
#include <vector>

#include "model/cache.hpp"
#include "model/decoding.hpp"

namespace tt {

enum class JobKind : uint8_t { diffusion_block, next_token };

struct BlockJob {
  uint64_t job_id = 0;
  uint64_t sequence_id = 0;
  JobKind kind = JobKind::diffusion_block;
  CacheView seed;          // context state the denoiser starts from (read-only)
  BlockState block;        // diffusion: all mask ids; next_token: the last committed token
  DiffusionParams params;  // gamma, block size, steps, temperature, seed
  int token_index = 0;     // next_token: index of the token to draw (its RNG stream)
  bool trace = false;      // keep the block's tokens after every step
};

struct JobResult {
  uint64_t job_id = 0;
  uint64_t sequence_id = 0;
  int block_index = 0;
  std::vector<int32_t> tokens;  // the committed block, or the one predicted token
  int steps = 0;                // denoiser forwards this job took part in
  std::vector<std::vector<int32_t>> trace;
};

}  // namespace tt
