// Safetensors reader: dtypes, sharding, and every kind of broken file.
#include "model/safetensors.hpp"

#include <gtest/gtest.h>

#include "model/error.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tt {
namespace {

namespace fs = std::filesystem;
using test::bf16_tensor;
using test::f32_tensor;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, ReadsDtypesAndShapes) {
  auto dir = test::temp_dir("st-dtypes");
  test::RawTensor f16{"F16", {3}, {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}};  // 1.0, -2.0, smallest subnormal
  test::write_file(dir / "model.safetensors",
                   test::safetensors_bytes({{"a", f32_tensor({2, 2}, {1, 2, 3, 4})},
                                            {"b", bf16_tensor({3}, {0.5f, -1.0f, 3.0f})},
                                            {"c", f16}}));
  Checkpoint ck = Checkpoint::open(dir.string());
  EXPECT_EQ(ck.size(), 3u);
  EXPECT_EQ(ck.get("a").dtype, DType::f32);
  EXPECT_EQ(ck.get("a").shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ck.read_f32("a"), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(ck.get("b").dtype, DType::bf16);
  EXPECT_EQ(ck.read_f32("b"), (std::vector<float>{0.5f, -1.0f, 3.0f}));
  auto c = ck.read_f32("c");
  EXPECT_EQ(c[0], 1.0f);
  EXPECT_EQ(c[1], -2.0f);
  EXPECT_FLOAT_EQ(c[2], 5.960464477539063e-08f);
  EXPECT_NO_THROW(ck.get("a", {2, 2}));
  EXPECT_NE(error_of([&] { ck.get("a", {4}); }).find("tensor 'a' has shape [2, 2], expected [4]"), std::string::npos);
  EXPECT_NE(error_of([&] { ck.get("zzz"); }).find("missing tensor 'zzz'"), std::string::npos);
}

TEST(Safetensors, ShardedThroughIndex) {
  auto dir = test::temp_dir("st-shards");
  test::write_file(dir / "model-00001-of-00002.safetensors", test::safetensors_bytes({{"x", f32_tensor({1}, {7})}}));
  test::write_file(dir / "model-00002-of-00002.safetensors", test::safetensors_bytes({{"y", f32_tensor({1}, {8})}}));
  test::write_file(dir / "model.safetensors.index.json",
                   R"({"metadata": {"total_size": 8}, "weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}})");
  Checkpoint ck = Checkpoint::open(dir.string());
  EXPECT_EQ(ck.read_f32("x")[0], 7.0f);
  EXPECT_EQ(ck.read_f32("y")[0], 8.0f);

  // The index names a tensor in the wrong shard.
  test::write_file(dir / "model.safetensors.index.json",
                   R"({"weight_map": {"x": "model-00002-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}})");
  EXPECT_NE(error_of([&] { Checkpoint::open(dir.string()); }).find("'x'"), std::string::npos);
  // A missing shard file.
  test::write_file(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "nope.safetensors"}})");
  EXPECT_NE(error_of([&] { Checkpoint::open(dir.string()); }).find("nope.safetensors"), std::string::npos);
  // Malformed index.
  test::write_file(dir / "model.safetensors.index.json", R"({"weight_map": )");
  EXPECT_NE(error_of([&] { Checkpoint::open(dir.string()); }).find("model.safetensors.index.json"), std::string::npos);
}

TEST(Safetensors, BrokenFilesGiveClearErrors) {
  auto dir = test::temp_dir("st-broken");
  const auto good = test::safetensors_bytes({{"w", f32_tensor({4}, {1, 2, 3, 4})}});
  auto check = [&](const std::string& bytes, const std::string& expect) {
    auto p = dir / "model.safetensors";
    test::write_file(p, bytes);
    std::string msg = error_of([&] { Checkpoint::open(p.string()); });
    EXPECT_NE(msg.find(expect), std::string::npos) << "message: " << msg;
    EXPECT_NE(msg.find(p.string()), std::string::npos) << "message should name the file: " << msg;
  };
  check("", "truncated");
  check(good.substr(0, 5), "truncated");
  check(good.substr(0, good.size() - 3), "outside the data");
  std::string huge = good;
  huge[7] = 0x7f;  // header length 2^63-ish
  check(huge, "header length");
  check(test::safetensors_bytes({{"w", f32_tensor({4}, {1, 2, 3, 4})}}, "{not json"), "malformed JSON");
  check(test::safetensors_bytes({{"w", f32_tensor({4}, {1, 2, 3, 4})}},
                                R"({"w": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}})"),
        "need 20");
  check(test::safetensors_bytes({{"w", f32_tensor({4}, {1, 2, 3, 4})}},
                                R"({"w": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}})"),
        "unsupported dtype");
  check(test::safetensors_bytes({{"w", f32_tensor({4}, {1, 2, 3, 4})}}, R"({"w": {"dtype": "F32"}})"),
        "needs dtype, shape and data_offsets");
  EXPECT_NE(error_of([&] { Checkpoint::open((dir / "absent").string()); }).find("absent"), std::string::npos);
}

TEST(Safetensors, IntegerTensorIsNotReadAsFloat) {
  auto dir = test::temp_dir("st-int");
  test::write_file(dir / "model.safetensors", test::safetensors_bytes({{"ids", {"I32", {1}, {1, 0, 0, 0}}}}));
  Checkpoint ck = Checkpoint::open(dir.string());
  EXPECT_NE(error_of([&] { ck.read_f32("ids"); }).find("dtype I32"), std::string::npos);
}

}  // namespace
}  // namespace tt

namespace tt {
namespace {

TEST(Safetensors, OverlappingGappedOrTrailingDataIsCorrupt) {
  auto dir = test::temp_dir("st-tiling");
  auto p = dir / "model.safetensors";
  auto expect_error = [&](const std::string& header, const std::string& blob_extra, const std::string& want) {
    std::string bytes = test::safetensors_bytes({{"a", test::f32_tensor({2}, {1, 2})}, {"b", test::f32_tensor({2}, {3, 4})}}, header);
    test::write_file(p, bytes + blob_extra);
    std::string msg;
    try {
      Checkpoint::open(p.string());
    } catch (const Error& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find(want), std::string::npos) << msg;
  };
  // b aliases a's bytes and the second half of the data is unused.
  expect_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", "",
               "overlap or leave a gap");
  // a gap between the two tensors.
  expect_error(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})", "",
               "overlap or leave a gap");
  // trailing bytes after the last tensor.
  expect_error("", "xxxx", "after the last tensor");
}

}  // namespace
}  // namespace tt
