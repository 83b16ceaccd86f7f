// Registers every wire type with a CAF actor system (CAF 0.17 only notices a
// missing registration at run time, when the peer receives an empty message).
#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>

namespace tt::msg {

// Adds every message struct and actor interface handle (CAF adds std::vector<T>
// of each); call on every config before constructing the actor_system.
void register_messages(caf::actor_system_config& cfg);

// The portable names register_messages uses, e.g. "tt.hello".
std::vector<std::string> message_type_names();

// The names of wire types `cfg` does not have (or has under another name);
// empty after register_messages(cfg).
std::vector<std::string> missing_message_types(const caf::actor_system_config& cfg);

}  // namespace tt::msg
