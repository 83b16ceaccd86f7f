// Atoms of the typed actor interfaces (CAF 0.17: at most 10 characters each),
// for verbs that carry no struct of their own.
#pragma once

#include <caf/atom.hpp>

namespace tt::msg {

// "How busy are you?"; answered by load_report.
using load_atom = caf::atom_constant<caf::atom("tt_load")>;

}  // namespace tt::msg
