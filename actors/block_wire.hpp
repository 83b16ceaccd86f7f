// BlockJob / JobResult (model/) to and from their wire forms (messages/block.hpp).
// The job kind travels explicitly (diffusion block or mock-AR next token).
#pragma once

#include <string>

#include "messages/block.hpp"
#include "model/block_job.hpp"

namespace tt::actors {

msg::denoise_block to_wire(const BlockJob& job, msg::cache_handle handle);
// Rebuilds the job over `seed`; false with `error` when the message is malformed.
bool from_wire(const msg::denoise_block& m, const CacheView& seed, int32_t mask_id, BlockJob& job,
               std::string& error);

msg::block_committed to_wire(const JobResult& r);
bool from_wire(const msg::block_committed& m, JobResult& r, std::string& error);

}  // namespace tt::actors
