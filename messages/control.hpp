// Membership and load: a denoiser offering itself to a context actor, and the
// load a role reports when asked (for least-loaded placement).
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace tt::msg {

// Denoiser -> context (after hello): add me to your denoisers. The denoiser's
// actor handle travels beside this struct (see interfaces.hpp).
struct register_denoiser {
  std::string node;        // the denoiser's node (same node as the context: shared memory)
  uint64_t pid = 0;        // the denoiser's process id (same process: in-process handles)
  uint32_t max_batch = 0;  // blocks it refines at once at most

  friend bool operator==(const register_denoiser&, const register_denoiser&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_denoiser& x) {
  return f(caf::meta::type_name("tt.register_denoiser"), x.node, x.pid, x.max_batch);
}

// The answer to load_atom.
struct load_report {
  uint32_t active_blocks = 0;  // blocks (or sequences, for a context actor) being worked on
  uint32_t queued_blocks = 0;  // waiting for a slot

  friend bool operator==(const load_report&, const load_report&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, load_report& x) {
  return f(caf::meta::type_name("tt.load_report"), x.active_blocks, x.queued_blocks);
}

}  // namespace tt::msg
