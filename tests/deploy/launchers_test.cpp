// The cluster launchers in deploy/, each run for real by a script:
//  - Slurm (tests/deploy/slurm_job.sh): a private slurmctld + slurmd on this
//    machine, the batch script submitted, a completion through its router,
//    SIGTERM to the batch script (scancel --batch) drains it;
//  - systemd (tests/deploy/systemd_units.sh): systemd-analyze verify, then the
//    units' ExecStart lines expanded with twotower.env serve and stop on SIGTERM.
//  - Kubernetes (tests/deploy/kubernetes_manifests.py): the manifests (and their
//    kustomize variants, with kubectl) against the binary's options and each other;
//  - the container (tests/deploy/container_packages.sh): runtime packages cover
//    the binary's libraries, the build stage's tree configures.
// Skipped (with the reason) where the tools are not installed.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

// Runs tests/deploy/SCRIPT BINARY REPO (python3 for .py, else bash); exit 77 skips.
void run_script(const std::string& script) {
  const bool py = script.size() > 3 && script.compare(script.size() - 3, 3, ".py") == 0;
  const std::string cmd = std::string(py ? "python3 '" : "bash '") + TWOTOWER_TEST_SOURCE + "/tests/deploy/" + script + "' '" + TT_BINARY +
                          "' '" + TWOTOWER_TEST_SOURCE + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  const int status = pclose(p);
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc == 77) GTEST_SKIP() << out;
  EXPECT_EQ(rc, 0) << out;
  std::printf("%s", out.c_str());
}

TEST(Slurm, TheBatchScriptServesThroughItsRouterAndDrainsOnSigterm) { run_script("slurm_job.sh"); }

TEST(Systemd, UnitsVerifyAndTheirCommandsServeAndStopOnSigterm) { run_script("systemd_units.sh"); }

TEST(Kubernetes, ManifestsAgreeWithTheBinaryAndWithEachOther) { run_script("kubernetes_manifests.py"); }

TEST(Container, RuntimePackagesCoverTheBinaryAndTheBuildTreeConfigures) { run_script("container_packages.sh"); }

}  // namespace
