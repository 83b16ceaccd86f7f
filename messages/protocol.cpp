// Protocol version check of the connection handshake.
#include "messages/protocol.hpp"

#include <utility>

namespace tt::msg {

std::optional<std::string> check_hello(const hello& peer) {
  if (peer.protocol_version == protocol_version) return std::nullopt;
  const std::string role = peer.role.empty() ? "peer" : peer.role;
  const std::string node = peer.node.empty() ? "an unnamed node" : peer.node;
  return "protocol version mismatch: " + role + " on " + node + " (pid " +
         std::to_string(peer.pid) + ") speaks version " +
         std::to_string(peer.protocol_version) + ", this build speaks version " +
         std::to_string(protocol_version) + "; run the same twotower release on every node";
}

hello_ack answer_hello(const hello& peer) {
  auto problem = check_hello(peer);
  if (problem) return hello_ack{false, std::move(*problem)};
  return hello_ack{true, {}};
}

hello make_hello(std::string role, std::string node, uint64_t pid) {
  return hello{protocol_version, std::move(role), std::move(node), pid};
}

}  // namespace tt::msg
