// TLS options of the cluster commands, checked with OpenSSL before CAF uses them.
#include "actors/tls.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <caf/openssl/manager.hpp>

#include "actors/cli_args.hpp"
#include "model/error.hpp"

namespace tt::actors {
namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

int passphrase_callback(char* buf, int size, int, void* user) {
  const auto* pass = static_cast<const std::string*>(user);
  const int n = static_cast<int>(std::min<size_t>(pass->size(), static_cast<size_t>(size)));
  std::copy(pass->data(), pass->data() + n, buf);
  return n;
}

// The checks CAF's session does when it builds its context, with their reasons.
void check_files(const TlsFiles& t) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) throw Error("TLS: cannot create an OpenSSL context: " + openssl_error());
  std::string problem;
  std::string pass = t.passphrase;
  SSL_CTX_set_default_passwd_cb(ctx, passphrase_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, &pass);
  if (SSL_CTX_use_certificate_chain_file(ctx, t.certificate.c_str()) != 1)
    problem = "--tls-cert " + t.certificate + ": cannot load the certificate: " + openssl_error();
  else if (SSL_CTX_use_PrivateKey_file(ctx, t.key.c_str(), SSL_FILETYPE_PEM) != 1)
    problem = "--tls-key " + t.key + ": cannot load the private key: " + openssl_error();
  else if (SSL_CTX_check_private_key(ctx) != 1)
    problem = "--tls-key " + t.key + " does not belong to --tls-cert " + t.certificate;
  else if (SSL_CTX_load_verify_locations(ctx, t.ca.c_str(), nullptr) != 1)
    problem = "--tls-ca " + t.ca + ": cannot load the CA certificate: " + openssl_error();
  SSL_CTX_free(ctx);
  if (!problem.empty()) throw Error(problem);
}

}  // namespace

const char* const kTlsHelp =
    "  --tls-cert PEM --tls-key PEM --tls-ca PEM [--tls-passphrase TEXT]: mutual TLS; this node\n"
    "  presents the certificate and accepts only peers whose certificate the CA signed.\n";

TlsFiles tls_from_args(const cli::Args& a) {
  TlsFiles t;
  const int given = a.has("tls-cert") + a.has("tls-key") + a.has("tls-ca");
  if (given == 0) {
    if (a.has("tls-passphrase")) throw Error("--tls-passphrase needs --tls-cert, --tls-key and --tls-ca");
    return t;
  }
  if (given != 3) throw Error("TLS needs all of --tls-cert, --tls-key and --tls-ca");
  t.certificate = *a.str("tls-cert");
  t.key = *a.str("tls-key");
  t.ca = *a.str("tls-ca");
  t.passphrase = a.str("tls-passphrase", "");
  check_files(t);
  return t;
}

void apply_tls(caf::actor_system_config& cfg, const TlsFiles& tls) {
  if (!tls.enabled()) return;
  cfg.load<caf::openssl::manager>();
  cfg.openssl_certificate = tls.certificate;
  cfg.openssl_key = tls.key;
  cfg.openssl_cafile = tls.ca;
  cfg.openssl_passphrase = tls.passphrase;
}

bool tls_enabled(const caf::actor_system& sys) { return !sys.config().openssl_certificate.empty(); }

}  // namespace tt::actors

// CAF 0.17's openssl session calls SSL_accept/SSL_connect/SSL_read/SSL_write
// without clearing the thread's OpenSSL error queue first, and never drains
// it; OpenSSL's SSL_get_error reads that queue. After one peer fails the
// handshake (an intruder), every later WANT_READ on the multiplexer thread
// reads as a fatal error: good connections drop and new ones hang. These
// definitions interpose on libssl's (the binary exports them because
// libcaf_openssl refers to them) and clear the queue first, as OpenSSL's
// documentation asks of every caller.
namespace {
template <class F>
F real_ssl_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
}  // namespace

extern "C" int SSL_accept(SSL* ssl) {
  static const auto real = real_ssl_function<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

extern "C" int SSL_connect(SSL* ssl) {
  static const auto real = real_ssl_function<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

extern "C" int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto real = real_ssl_function<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

extern "C" int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto real = real_ssl_function<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}
