// Context and denoisers as separate processes on loopback: the same tokens as
// the in-process engine, several clients at once, a denoiser killed mid-way,
// a context that dies, deadlines.
#include "tests/actors/cluster_fixture.hpp"

namespace tt::test {
namespace {

using namespace std::chrono_literals;

TEST_F(ClusterTest, OneDenoiserMatchesInProcess) {
  start_cluster(1);
  expect_cluster_matches_in_process(*this, address_);
  // One host: auto picks shared memory.
  EXPECT_NE(read_file(path("context.err")).find("shared_memory transport"), std::string::npos);
}

TEST_F(ClusterTest, ThreeDenoisersMatchInProcess) {
  start_cluster(3);
  expect_cluster_matches_in_process(*this, address_);
  // The work is spread over the denoisers (least loaded, then sticky per sequence). The
  // short configs above may each finish before the next client has started (a sequence only
  // goes to denoiser 3 while 1 and 2 are busy), so eight long sequences that overlap check it.
  const std::vector<std::string> long_run{"--mode", "diffusion", "--gamma", "0.95", "--max-tokens", "320"};
  std::vector<size_t> clients;
  for (const char* prompt : {"5,6,7", "8,9,10", "11,12,13", "14,15", "16,17", "18,19", "20,21", "22,23"}) {
    auto args = long_run;
    args.insert(args.end(), {"--prompt-ids", prompt});
    clients.push_back(start_generate(args, address_));
  }
  for (size_t c : clients) ASSERT_EQ(finish(c).status, 0);
  const std::string log = read_file(path("context.err"));
  EXPECT_GT(count_of(log, "sent to denoiser 2"), 0u) << log;
  EXPECT_GT(count_of(log, "sent to denoiser 3"), 0u) << log;
  EXPECT_EQ(count_of(log, "is down"), 0u) << log;
}

TEST_F(ClusterTest, KilledDenoiserMidGenerationGivesTheSameOutput) {
  start_cluster(2);
  const std::vector<std::string> long_run{"--mode", "diffusion", "--gamma", "0.5", "--prompt-ids", "5,6,7,8,9",
                                          "--max-tokens", "1000", "--steps", "16"};
  const size_t c = start_generate(long_run, address_);
  // Denoiser 1 (the first registered, least loaded at a tie) holds the sequence: kill it
  // once some blocks have come back.
  ASSERT_TRUE(wait_for_text(path("context.err"), "committed", 3, 60s)) << read_file(path("context.err"));
  denoisers_[0].kill_now(SIGKILL);
  const bool mid_way = count_of(read_file(path("client0.out")), "token_ids") == 0;
  auto f = finish(c);
  ASSERT_EQ(f.status, 0) << f.err;
  const std::string log = read_file(path("context.err"));
  EXPECT_TRUE(mid_way) << "the generation ended before the kill; make it longer";
  EXPECT_NE(log.find("denoiser 1 is down"), std::string::npos) << log;
  EXPECT_NE(log.find("sent to denoiser 2"), std::string::npos) << log;
  auto local = generate(long_run, "");
  expect_same_generation(local, nlohmann::json::parse(f.out));
}

TEST_F(ClusterTest, FrozenDenoiserIsDetectedByHeartbeatsAndItsBlocksMove) {
  start_cluster(2);
  const std::vector<std::string> long_run{"--mode", "diffusion", "--gamma", "0.5", "--prompt-ids", "5,6,7,8,9",
                                          "--max-tokens", "1000"};
  const size_t c = start_generate(long_run, address_);
  ASSERT_TRUE(wait_for_text(path("context.err"), "committed", 3, 60s)) << read_file(path("context.err"));
  ::kill(denoisers_[0].pid(), SIGSTOP);  // frozen, not dead: only heartbeats notice (connection-timeout 2 s)
  auto f = finish(c, 60s);
  ASSERT_EQ(f.status, 0) << f.err;
  const std::string log = read_file(path("context.err"));
  EXPECT_NE(log.find("denoiser 1 is down"), std::string::npos) << log;
  expect_same_generation(generate(long_run, ""), nlohmann::json::parse(f.out));
}

TEST_F(ClusterTest, ClientOfADeadContextGetsAClearErrorQuickly) {
  start_cluster(0);  // no denoiser: the diffusion request waits in the queue
  const size_t c = start_generate({"--prompt-ids", "5,6,7", "--timeout-ms", "60000"}, address_);
  ASSERT_TRUE(wait_for_text(path("context.err"), "queued", 1, 30s)) << read_file(path("context.err"));
  const auto killed = std::chrono::steady_clock::now();
  context_.kill_now(SIGKILL);
  auto f = finish(c, 10s);
  EXPECT_EQ(f.status, 2) << f.err;
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 5s);
  EXPECT_NE(f.err.find("went down"), std::string::npos) << f.err;
  EXPECT_EQ(count_of(f.err, "\n"), 1u) << f.err;
}

TEST_F(ClusterTest, DeadlineEndsTheRequestWithAnError) {
  start_cluster(0);
  const auto start = std::chrono::steady_clock::now();
  auto f = finish(start_generate({"--prompt-ids", "5,6,7", "--timeout-ms", "400"}, address_), 20s);
  EXPECT_EQ(f.status, 2) << f.err;
  EXPECT_NE(f.err.find("deadline"), std::string::npos) << f.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
}

TEST_F(ClusterTest, ScoreOverTheClusterMatchesInProcess) {
  start_cluster(1);
  const std::vector<std::string> args{"score", "--model", model_dir(), "--json", "--prompt-ids", "5,6,7,8",
                                      "--continuation-ids", "9,10,11,250,3"};
  auto run = [&](const std::vector<std::string>& extra, const std::string& name) {
    std::vector<std::string> all = args;
    all.insert(all.end(), extra.begin(), extra.end());
    Child c(all, path(name + ".out"), path(name + ".err"));
    EXPECT_EQ(c.wait(60s), 0) << read_file(path(name + ".err"));
    return nlohmann::json::parse(read_file(path(name + ".out")), nullptr, false);
  };
  const auto local = run({}, "score-local");
  const auto remote = run({"--connect", address_}, "score-remote");
  ASSERT_TRUE(local.contains("logprob")) << local;
  EXPECT_EQ(local, remote);
  // A bad continuation is the context's one-line error, not a crash.
  Child bad({"score", "--model", model_dir(), "--prompt-ids", "5", "--continuation-ids", "999999", "--connect",
             address_},
            path("score-bad.out"), path("score-bad.err"));
  EXPECT_EQ(bad.wait(60s), 2);
  EXPECT_NE(read_file(path("score-bad.err")).find("bad_request"), std::string::npos) << read_file(path("score-bad.err"));
}

TEST_F(ClusterTest, UnreachableContextIsAOneLineError) {
  start_cluster(0);
  const std::string address = address_;
  context_.kill_now();
  auto f = finish(start_generate({"--prompt-ids", "5"}, address), 20s);
  EXPECT_EQ(f.status, 2) << f.err;
  EXPECT_NE(f.err.find("cannot connect"), std::string::npos) << f.err;
}

}  // namespace
}  // namespace tt::test
