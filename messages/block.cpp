// Names of the job kinds of denoise_block.
#include "messages/block.hpp"

namespace tt::msg {

std::string to_string(job_kind k) {
  switch (k) {
    case job_kind::diffusion_block: return "diffusion_block";
    case job_kind::next_token: return "next_token";
  }
  return "job_kind(" + std::to_string(static_cast<int>(k)) + ")";
}

bool is_known(job_kind k) {
  switch (k) {
    case job_kind::diffusion_block:
    case job_kind::next_token: return true;
  }
  return false;
}

}  // namespace tt::msg
