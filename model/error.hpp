// The error type of the model layer: one line a person can act on, naming the
// file, tensor or parameter at fault. Thrown inside the core, caught and
// turned into an error value or exit status at every process/actor boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace tt {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tt
