// Wire forms of denoiser jobs and their results.
#include "actors/block_wire.hpp"

namespace tt::actors {

msg::denoise_block to_wire(const BlockJob& job, msg::cache_handle handle) {
  msg::denoise_block m;
  m.job_id = job.job_id;
  m.handle = std::move(handle);
  m.gamma = job.params.gamma;
  m.block_size = job.params.block_size;
  m.steps = job.params.steps;
  m.temperature = job.params.temperature;
  m.seed = job.params.seed;
  m.initial_tokens = msg::pack_int32(job.block.tokens);
  switch (job.kind) {
    case JobKind::diffusion_block:
      m.kind = msg::job_kind::diffusion_block;
      m.block_index = static_cast<uint32_t>(job.block.block_index);
      m.time_conditioning = true;
      break;
    case JobKind::next_token:
      m.kind = msg::job_kind::next_token;
      m.token_index = static_cast<uint32_t>(job.token_index);
      m.time_conditioning = false;
      break;
  }
  return m;
}

bool from_wire(const msg::denoise_block& m, const CacheView& seed, int32_t mask_id, BlockJob& job,
               std::string& error) {
  auto tokens = msg::unpack_int32(m.initial_tokens, "denoise_block.initial_tokens");
  if (!tokens) return error = tokens.error, false;
  if (tokens.value.empty()) return error = "denoise_block.initial_tokens: empty block", false;
  job = BlockJob{};
  job.job_id = m.job_id;
  job.sequence_id = m.handle.sequence_id;
  job.seed = seed;
  job.params.gamma = m.gamma;
  job.params.block_size = m.block_size;
  job.params.steps = m.steps;
  job.params.temperature = m.temperature;
  job.params.seed = m.seed;
  job.block.tokens = std::move(tokens.value);
  switch (m.kind) {
    case msg::job_kind::diffusion_block:
      job.kind = JobKind::diffusion_block;
      job.block.block_index = static_cast<int>(m.block_index);
      if (m.block_size != static_cast<int32_t>(job.block.tokens.size()))
        return error = "denoise_block.block_size does not match initial_tokens", false;
      if (!(m.gamma > 0.0f && m.gamma <= 1.0f) || m.steps < 1)
        return error = "denoise_block: gamma must be in (0, 1] and steps >= 1", false;
      if (!m.time_conditioning) return error = "denoise_block: a diffusion block without time conditioning", false;
      (void)mask_id;
      return true;
    case msg::job_kind::next_token:
      job.kind = JobKind::next_token;
      job.token_index = static_cast<int>(m.token_index);
      if (job.block.tokens.size() != 1) return error = "denoise_block: a next_token job carries one token", false;
      return true;
  }
  return error = "denoise_block.kind: unknown job kind " + msg::to_string(m.kind), false;
}

msg::block_committed to_wire(const JobResult& r) {
  msg::block_committed m;
  m.job_id = r.job_id;
  m.sequence_id = r.sequence_id;
  m.block_index = static_cast<uint32_t>(r.block_index);
  m.tokens = msg::pack_int32(r.tokens);
  m.steps = r.steps;
  return m;
}

bool from_wire(const msg::block_committed& m, JobResult& r, std::string& error) {
  auto tokens = msg::unpack_int32(m.tokens, "block_committed.tokens");
  if (!tokens) return error = tokens.error, false;
  r = JobResult{};
  r.job_id = m.job_id;
  r.sequence_id = m.sequence_id;
  r.block_index = static_cast<int>(m.block_index);
  r.tokens = std::move(tokens.value);
  r.steps = m.steps;
  return true;
}

}  // namespace tt::actors
