// The handshake every connection starts with: both peers name their protocol
// version, and a peer that speaks another version is refused with a clear reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/meta/type_name.hpp>

namespace tt::msg {

// Bumped whenever a message changes meaning (fields are only ever appended, but
// a peer that does not know an appended field must not be talked to).
constexpr uint32_t protocol_version = 4;

// Sent first by whoever opens a connection (router -> context, denoiser -> context).
struct hello {
  uint32_t protocol_version = 0;  // the sender's msg::protocol_version
  std::string role;               // "router", "context", "denoiser", ...
  std::string node;               // the sender's node name (host name unless configured)
  uint64_t pid = 0;               // the sender's process id

  friend bool operator==(const hello&, const hello&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("tt.hello"), x.protocol_version, x.role, x.node, x.pid);
}

// The answer to hello.
struct hello_ack {
  bool accepted = false;
  std::string reason;  // why not, when refused; empty when accepted

  friend bool operator==(const hello_ack&, const hello_ack&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello_ack& x) {
  return f(caf::meta::type_name("tt.hello_ack"), x.accepted, x.reason);
}

// nullopt when this build can talk to the peer; otherwise a one-line reason
// naming the peer and both versions.
std::optional<std::string> check_hello(const hello& peer);

// check_hello as the reply to send.
hello_ack answer_hello(const hello& peer);

// The hello this process sends.
hello make_hello(std::string role, std::string node, uint64_t pid);

}  // namespace tt::msg
