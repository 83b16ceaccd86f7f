// Atoms of the typed actor interfaces (CAF 0.17: at most 10 characters each),
// for verbs that carry no struct of their own.
#pragma once

#include <caf/atom.hpp>

namespace tt::msg {

// "How busy are you?"; answered by load_report.
using load_atom = caf::atom_constant<caf::atom("tt_load")>;
// "What did your block jobs cost so far?"; answered by context_stats.
using stats_atom = caf::atom_constant<caf::atom("tt_stats")>;

}  // namespace tt::msg
