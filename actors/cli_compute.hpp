// `--compute cpu|mock --profile FILE` of the context and denoiser commands.
#pragma once

#include "actors/cli_args.hpp"

namespace tt::cli {

// Installs mock compute when asked; throws tt::Error on a bad value or profile.
void apply_compute_option(const Args& a);

}  // namespace tt::cli
