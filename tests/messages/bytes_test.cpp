// Little-endian packing of int32/float32/float64 arrays into wire bytes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "messages/bytes.hpp"

namespace {

using namespace tt::msg;

TEST(Bytes, Int32IsLittleEndian) {
  const std::vector<int32_t> v{0x01020304, -1};
  const bytes b = pack_int32(v);
  EXPECT_EQ(b, (bytes{0x04, 0x03, 0x02, 0x01, 0xff, 0xff, 0xff, 0xff}));
  const auto back = unpack_int32(b, "x");
  ASSERT_TRUE(back) << back.error;
  EXPECT_EQ(back.value, v);
}

TEST(Bytes, Float32IsLittleEndianIeee) {
  const bytes b = pack_float32(std::vector<float>{1.0f});  // 0x3f800000
  EXPECT_EQ(b, (bytes{0x00, 0x00, 0x80, 0x3f}));
}

TEST(Bytes, FloatsRoundTripBitForBit) {
  const std::vector<float> f{0.0f, -0.0f, 1e-40f, std::numeric_limits<float>::infinity(), 3.25f,
                             std::numeric_limits<float>::quiet_NaN()};
  const auto back = unpack_float32(pack_float32(f), "f");
  ASSERT_TRUE(back) << back.error;
  ASSERT_EQ(back.value.size(), f.size());
  for (size_t i = 0; i < f.size(); ++i)
    EXPECT_EQ(std::bit_cast<uint32_t>(back.value[i]), std::bit_cast<uint32_t>(f[i])) << i;

  const std::vector<double> d{-1.5, 1e300, -0.0};
  const auto dback = unpack_float64(pack_float64(d), "d");
  ASSERT_TRUE(dback) << dback.error;
  EXPECT_EQ(dback.value, d);
  EXPECT_TRUE(std::signbit(dback.value[2]));
}

TEST(Bytes, EmptyIsAnEmptyArray) {
  EXPECT_TRUE(pack_int32({}).empty());
  const auto i = unpack_int32({}, "x");
  ASSERT_TRUE(i) << i.error;
  EXPECT_TRUE(i.value.empty());
  EXPECT_TRUE(unpack_float32({}, "x"));
  EXPECT_TRUE(unpack_float64({}, "x"));
}

TEST(Bytes, PartialElementIsAClearError) {
  const bytes seven(7, 1);
  const auto i = unpack_int32(seven, "generate_request.prompt_tokens");
  EXPECT_FALSE(i);
  EXPECT_TRUE(i.value.empty());
  EXPECT_EQ(i.error,
            "generate_request.prompt_tokens: 7 bytes is not a whole number of int32 values "
            "(4 bytes each)");
  const auto f = unpack_float32(bytes(1, 0), "block_committed.confidences");
  EXPECT_FALSE(f);
  EXPECT_NE(f.error.find("block_committed.confidences: 1 bytes"), std::string::npos) << f.error;
  const auto d = unpack_float64(bytes(12, 0), "score_result.token_logprobs");
  EXPECT_FALSE(d);
  EXPECT_NE(d.error.find("float64 values (8 bytes each)"), std::string::npos) << d.error;
}

}  // namespace
