// Mock compute selection for the actor commands.
#include "actors/cli_compute.hpp"

#include "model/error.hpp"
#include "model/mock_compute.hpp"

namespace tt::cli {

void apply_compute_option(const Args& a) {
  const std::string compute = a.str("compute", "cpu");
  if (compute == "cpu") {
    if (a.has("profile")) throw Error("--profile: only with --compute mock");
    return;
  }
  if (compute != "mock") throw Error("--compute: 'cpu' or 'mock' (got '" + compute + "')");
  if (!a.has("profile")) throw Error("--compute mock needs --profile FILE (see profiles/)");
  MockCompute::install(std::make_shared<MockCompute>(capacity::Profile::load(*a.str("profile"))));
}

}  // namespace tt::cli
