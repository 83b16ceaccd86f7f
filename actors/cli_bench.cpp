// `twotower bench`: placeholder until the benchmark lands (tools/bench).
#include "actors/commands.hpp"
#include "model/error.hpp"

namespace tt::cli {

int run_bench(const std::vector<std::string>&) { throw Error("bench: not built yet"); }

}  // namespace tt::cli
