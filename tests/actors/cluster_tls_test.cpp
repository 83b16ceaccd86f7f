// Mutual TLS between real processes: certificates made at test time by the
// openssl tool (a CA, peers it signed, a self-signed intruder). Signed peers
// work as over plain TCP (the router too); an intruder or a plain-TCP peer
// cannot join.
#include <nlohmann/json.hpp>

#include "tests/actors/cluster_fixture.hpp"
#include "tests/router/http_client.hpp"

namespace tt::test {
namespace {

using namespace std::chrono_literals;

class ClusterTlsTest : public ClusterTest {
public:
  void SetUp() override {
    ClusterTest::SetUp();
    const std::string d = dir_;
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string script = "set -e; cd " + d + "; exec 2>openssl.log; " +
                         "openssl req -x509" + ec + " -keyout ca.key -out ca.pem -days 2 -subj /CN=tt-test-ca; ";
    for (const char* peer : {"context", "denoiser", "client", "router"})
      script += std::string("openssl req") + ec + " -keyout " + peer + ".key -out " + peer + ".csr -subj /CN=" + peer +
                "; openssl x509 -req -in " + peer + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out " + peer +
                ".pem -days 2; ";
    script += "openssl req -x509" + ec + " -keyout intruder.key -out intruder.pem -days 2 -subj /CN=context; ";
    ASSERT_EQ(std::system(("bash -c '" + script + "'").c_str()), 0) << read_file(path("openssl.log"));
  }
  std::vector<std::string> tls(const std::string& who) const {
    return {"--tls-cert", path(who + ".pem"), "--tls-key", path(who + ".key"), "--tls-ca", path("ca.pem")};
  }
  // A router started with the options; its HTTP port once it listens (0 when it did not start).
  uint16_t start_router(Child& router, const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"router", "--listen", "127.0.0.1:0", "--context", address_, "--model", model_dir(),
                                  "--probe-interval-ms", "100", "--timeout", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    router = Child(args, path(name + ".out"), path(name + ".err"));
    if (!wait_for_text(path(name + ".out"), "listening on", 1, std::chrono::seconds(30))) return 0;
    const std::string out = read_file(path(name + ".out"));
    return static_cast<uint16_t>(std::stoi(out.substr(out.rfind(':') + 1)));
  }
  std::vector<std::string> intruder() const {
    return {"--tls-cert", path("intruder.pem"), "--tls-key", path("intruder.key"), "--tls-ca", path("intruder.pem")};
  }
};

const std::vector<std::string> kRun{"--mode", "diffusion", "--prompt-ids", "5,6,7,8", "--max-tokens", "24"};

TEST_F(ClusterTlsTest, SignedPeersWorkAsOverPlainTcp) {
  denoiser_args_ = tls("denoiser");
  start_cluster(1, tls("context"));
  client_args_ = tls("client");
  const auto remote = generate(kRun, address_);
  client_args_.clear();
  expect_same_generation(generate(kRun, ""), remote);
}

TEST_F(ClusterTlsTest, IntruderAndPlainPeersCannotJoin) {
  denoiser_args_ = tls("denoiser");
  start_cluster(1, tls("context"));
  // A denoiser with a self-signed certificate, and one without TLS: neither registers.
  for (const auto& extra : {intruder(), std::vector<std::string>{}}) {
    std::vector<std::string> args{"denoiser", "--context", address_, "--model", model_dir(), "--timeout-ms", "3000"};
    args.insert(args.end(), extra.begin(), extra.end());
    Child bad(args, path("bad.out"), path("bad.err"));
    EXPECT_NE(bad.wait(30s), 0) << read_file(path("bad.err"));
    EXPECT_EQ(count_of(read_file(path("context.err")), "registered"), 1u) << read_file(path("context.err"));
  }
  // A client with the intruder's certificate gets a one-line error.
  client_args_ = intruder();
  auto f = finish(start_generate(kRun, address_), 30s);
  EXPECT_EQ(f.status, 2) << f.err;
  EXPECT_NE(f.err.find("cannot connect"), std::string::npos) << f.err;
  // The signed client still works after all that.
  client_args_ = tls("client");
  EXPECT_FALSE(generate(kRun, address_).is_null());
}

TEST_F(ClusterTlsTest, TheRouterReachesATlsContextWithItsCertificateAndNotWithout) {
  denoiser_args_ = tls("denoiser");
  start_cluster(1, tls("context"));
  const nlohmann::json body{{"model", "tiny-random"}, {"prompt", {5, 6, 7, 8}}, {"max_tokens", 8}, {"mode", "ar"}};
  Child router;
  const uint16_t port = start_router(router, "router", tls("router"));
  ASSERT_NE(port, 0) << read_file(path("router.err"));
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (HttpClient(port).get("/ready").status != 200 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(HttpClient(port).get("/ready").status, 200) << read_file(path("router.err"));
  const auto r = HttpClient(port).post("/v1/completions", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["usage"]["completion_tokens"], 8);
  // Without a certificate the context actor does not let the router in: never ready, 503.
  Child plain;
  const uint16_t plain_port = start_router(plain, "plain", {});
  ASSERT_NE(plain_port, 0) << read_file(path("plain.err"));
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(HttpClient(plain_port).get("/ready").status, 503);
  EXPECT_EQ(HttpClient(plain_port).post("/v1/completions", body.dump()).status, 503);
  // The signed router goes on working.
  EXPECT_EQ(HttpClient(port).post("/v1/completions", body.dump()).status, 200);
}

TEST_F(ClusterTlsTest, BadTlsOptionsAreOneLineErrors) {
  auto f = finish(start_generate({"--prompt-ids", "5", "--connect", "127.0.0.1:1", "--tls-cert", path("client.pem"),
                                  "--tls-key", path("denoiser.key"), "--tls-ca", path("ca.pem")},
                                 ""),
                  30s);
  EXPECT_EQ(f.status, 2);
  EXPECT_NE(f.err.find("--tls-key"), std::string::npos) << f.err;  // it does not belong to the certificate
  f = finish(start_generate({"--prompt-ids", "5", "--connect", "127.0.0.1:1", "--tls-cert", path("client.pem")}, ""),
             30s);
  EXPECT_EQ(f.status, 2);
  EXPECT_NE(f.err.find("all of --tls-cert, --tls-key and --tls-ca"), std::string::npos) << f.err;
  EXPECT_EQ(count_of(f.err, "\n"), 1u) << f.err;
}

}  // namespace
}  // namespace tt::test
