// Each cache transport, forced, between real processes on one host: the same
// tokens as the in-process engine; shared memory moves no K/V byte through
// messages and leaves no object behind (after the sequence, after a crash at
// the next start).
#include "actors/shm_cache.hpp"
#include "tests/actors/cluster_fixture.hpp"

namespace tt::test {
namespace {

using namespace std::chrono_literals;

// Lines of the context's log that report a block sent.
std::vector<std::string> sent_lines(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("sent to denoiser") != std::string::npos) lines.push_back(line);
  return lines;
}

TEST_F(ClusterTest, ForcedInlineBytesMatchesInProcess) {
  start_cluster(2, {"--transport", "inline"});
  expect_cluster_matches_in_process(*this, address_);
  const auto lines = sent_lines(read_file(path("context.err")));
  ASSERT_FALSE(lines.empty());
  size_t with_rows = 0;
  for (const auto& l : lines) {
    EXPECT_NE(l.find("inline_bytes"), std::string::npos) << l;
    with_rows += l.find(", 0 K/V bytes") == std::string::npos;
  }
  EXPECT_GT(with_rows, 0u);  // the rows really travel in the messages
}

TEST_F(ClusterTest, ForcedSharedMemoryMatchesInProcessAndMovesNoKvBytes) {
  start_cluster(2, {"--transport", "shm"});
  expect_cluster_matches_in_process(*this, address_);
  const auto lines = sent_lines(read_file(path("context.err")));
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) EXPECT_NE(l.find("shared_memory, 0 K/V bytes"), std::string::npos) << l;
  // Every sequence has finished: its object is unlinked.
  EXPECT_TRUE(actors::shm::objects_of(actors::process_id_of(static_cast<uint32_t>(context_.pid()))).empty());
}

TEST_F(ClusterTest, ObjectsOfAKilledContextAreRemovedByTheNextOne) {
  start_cluster(1, {"--transport", "shm"});
  const size_t c = start_generate({"--mode", "diffusion", "--prompt-ids", "5,6,7", "--max-tokens", "1000",
                                   "--timeout-ms", "60000"},
                                  address_);
  ASSERT_TRUE(wait_for_text(path("context.err"), "committed", 2, 60s)) << read_file(path("context.err"));
  const auto dead = actors::process_id_of(static_cast<uint32_t>(context_.pid()));
  EXPECT_FALSE(actors::shm::objects_of(dead).empty());  // the live context's segments
  context_.kill_now(SIGKILL);                            // nobody unlinks them now
  finish(c, 20s);
  // The next context to start removes them. (ctest runs tests in parallel: another test's context
  // may get there first, which is the same cleanup, so only the outcome is checked.)
  start_cluster(0, {"--transport", "shm"});
  EXPECT_TRUE(actors::shm::objects_of(dead).empty());
}

}  // namespace
}  // namespace tt::test
