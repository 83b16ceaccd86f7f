// Mutual TLS between cluster nodes through CAF 0.17's openssl module: every
// node presents a certificate signed by the cluster's CA and requires one from
// its peer (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT once any
// openssl.* option is set), so a peer without such a certificate cannot join.
#pragma once

#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>

namespace tt::cli {
class Args;
}

namespace tt::actors {

struct TlsFiles {
  std::string certificate;  // PEM chain of this node, signed by the CA
  std::string key;          // PEM private key of the certificate
  std::string ca;           // PEM certificate(s) of the CA that peers must be signed by
  std::string passphrase;   // of the key, when it is encrypted
  bool enabled() const { return !certificate.empty(); }
};

// The options every cluster command accepts, for Args.
inline const std::set<std::string> kTlsOptions{"tls-cert", "tls-key", "tls-ca", "tls-passphrase"};
extern const char* const kTlsHelp;

// --tls-cert, --tls-key and --tls-ca (all three or none; --tls-passphrase
// optional). Loads them once with OpenSSL so that a missing file, a key that
// does not match the certificate or an unreadable CA is one clear tt::Error
// here rather than a failure inside the network layer.
TlsFiles tls_from_args(const cli::Args& args);

// Loads the openssl module into `cfg` and points it at the files (before the
// actor_system exists). Does nothing when `tls` is not enabled.
void apply_tls(caf::actor_system_config& cfg, const TlsFiles& tls);

// True when `sys` was configured by apply_tls.
bool tls_enabled(const caf::actor_system& sys);

// Publishes / connects over TLS when the system has it, plain TCP otherwise.
template <class Handle>
caf::expected<uint16_t> publish_actor(caf::actor_system& sys, const Handle& h, uint16_t port, const std::string& host) {
  if (tls_enabled(sys)) return caf::openssl::publish(h, port, host.c_str(), true);
  return sys.middleman().publish(h, port, host.c_str(), true);
}

template <class Handle>
caf::expected<Handle> connect_actor(caf::actor_system& sys, const std::string& host, uint16_t port) {
  if (tls_enabled(sys)) return caf::openssl::remote_actor<Handle>(sys, host, port);
  return sys.middleman().remote_actor<Handle>(host, port);
}

}  // namespace tt::actors
