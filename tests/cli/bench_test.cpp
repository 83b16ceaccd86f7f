// Smoke test of `twotower bench --quick`: one JSON object on stdout with every
// section, positive throughputs and ratios; bad options exit 2 with one line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/process.hpp"

namespace {

const std::string kModel = std::string(TT_TEST_DATA) + "/tiny-random";

using tt::test::Output;
using tt::test::run_binary;

TEST(BenchCli, QuickPrintsAllSections) {
  if (!std::filesystem::exists(kModel + "/config.json")) GTEST_SKIP() << kModel << " not generated yet";
  const Output r = run_binary("bench --quick --model " + kModel + " 2>/dev/null");
  ASSERT_EQ(r.status, 0);
  const auto j = nlohmann::json::parse(r.out);

  EXPECT_GE(j.at("machine").at("threads").get<int>(), 1);
  EXPECT_FALSE(j.at("machine").at("cpu_model").get<std::string>().empty());

  const auto& model = j.at("model").at("batches");
  ASSERT_EQ(model.size(), 2u);  // --quick: batches 1 and 8
  EXPECT_EQ(model[0].at("batch"), 1);
  EXPECT_EQ(model[1].at("batch"), 8);
  for (const auto& b : model) {
    EXPECT_GT(b.at("ar").at("tokens_per_second").get<double>(), 0);
    EXPECT_GT(b.at("diffusion").at("tokens_per_second").get<double>(), 0);
    EXPECT_GT(b.at("diffusion").at("tokens_per_denoiser_forward").get<double>(), 0);
    EXPECT_GT(b.at("diffusion").at("denoiser_forwards").get<int>(), 0);
    EXPECT_GT(b.at("ratio_diffusion_vs_ar").get<double>(), 0);
  }

  EXPECT_GT(j.at("gemm").at("peak_gflops").get<double>(), 0);
  EXPECT_FALSE(j.at("gemm").at("cases").empty());

  const auto& ls = j.at("layer_stack");
  EXPECT_EQ(ls.at("config").at("pattern"), "M*E");
  EXPECT_GT(ls.at("prefill").at("tokens_per_second").get<double>(), 0);
  ASSERT_EQ(ls.at("batches").size(), 2u);
  for (const auto& b : ls.at("batches")) {
    for (const char* shape : {"ar_step", "context_extension", "denoiser_step"}) {
      EXPECT_GT(b.at(shape).at("seconds_per_forward").get<double>(), 0) << shape;
      EXPECT_GT(b.at(shape).at("weight_bytes_read").get<double>(), 0) << shape;
    }
    for (const char* view : {"measured", "extrapolated_52_layers"}) {
      EXPECT_GT(b.at(view).at("ar").at("tokens_per_second").get<double>(), 0) << view;
      const auto& d = b.at(view).at("diffusion");
      ASSERT_EQ(d.size(), 4u) << view;  // k = 1, 2, 3.5, 7.4
      for (const auto& k : d) {
        EXPECT_GT(k.at("tokens_per_second").get<double>(), 0) << view;
        EXPECT_GT(k.at("ratio_vs_ar").get<double>(), 0) << view;
        EXPECT_GT(k.at("weight_bytes_per_token").get<double>(), 0) << view;
      }
    }
  }
}

TEST(BenchCli, BadOptionsExitTwoWithOneLine) {
  for (const char* args : {"bench --gamma 2", "bench --batches 1,0", "bench --context-tokens x",
                           "bench --model /nonexistent/model"}) {
    const Output r = run_binary(std::string(args) + " 2>&1 >/dev/null");
    EXPECT_EQ(r.status, 2) << args;
    ASSERT_FALSE(r.out.empty()) << args;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << args << ": " << r.out;
  }
}

}  // namespace
