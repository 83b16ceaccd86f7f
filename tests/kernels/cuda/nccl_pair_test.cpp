// The two-rank NCCL channel: the id's text form and the library check run
// anywhere; a transfer between two devices (two threads, one process) and a
// peer that never joins need a GPU (and two for the transfer).
#include "kernels/cuda/nccl_pair.hpp"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using namespace std::chrono_literals;

TEST(NcclPair, IdTextRoundTripsAndRejectsGarbage) {
  cuda::NcclId id;
  for (int i = 0; i < 128; ++i) id.bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  const std::string hex = id.to_hex();
  EXPECT_EQ(hex.size(), 256u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(cuda::NcclId::from_hex(hex).bytes, id.bytes);
  EXPECT_THROW(cuda::NcclId::from_hex(""), std::invalid_argument);
  EXPECT_THROW(cuda::NcclId::from_hex(hex.substr(1)), std::invalid_argument);
  EXPECT_THROW(cuda::NcclId::from_hex(hex + "0"), std::invalid_argument);
  EXPECT_THROW(cuda::NcclId::from_hex(std::string(256, 'g')), std::invalid_argument);
  EXPECT_THROW(cuda::NcclId::from_hex("0x" + hex.substr(2)), std::invalid_argument);
}

TEST(NcclPair, AvailabilityIsTrueOrExplained) {
  std::string why = "unset";
  const bool ok = cuda::nccl_available(&why);
  EXPECT_EQ(cuda::nccl_available(), ok);  // loaded once, same answer
  if (ok) {
    EXPECT_TRUE(why.empty()) << why;
  } else {
    EXPECT_FALSE(why.empty());
    EXPECT_NE(why, "unset");
    EXPECT_THROW(cuda::new_nccl_id(), std::runtime_error);
  }
}

TEST(NcclPair, RejectsRanksOtherThanZeroAndOne) {
  const cuda::NcclId id;
  EXPECT_THROW(cuda::NcclPair(id, 2, 0, 100ms), std::invalid_argument);
  EXPECT_THROW(cuda::NcclPair(id, -1, 0, 100ms), std::invalid_argument);
}

std::vector<uint8_t> download_bytes(const void* device_ptr, size_t bytes) {
  std::vector<uint8_t> host(bytes);
  cuda::check(cudaMemcpy(host.data(), device_ptr, bytes, cudaMemcpyDeviceToHost), "D2H");
  return host;
}

TEST(NcclPair, TwoDevicesMoveSegmentsExactly) {
  TT_REQUIRE_GPU();
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices < 2)
    GTEST_SKIP() << "needs two CUDA devices (found " << devices << ")";
  std::string why;
  if (!cuda::nccl_available(&why)) GTEST_SKIP() << why;

  const std::vector<float> floats = test::random_floats(4096, -3.0f, 3.0f, 7);
  std::vector<uint8_t> tail(123);
  for (size_t i = 0; i < tail.size(); ++i) tail[i] = static_cast<uint8_t>(i * 13 + 5);
  const cuda::NcclId id = cuda::new_nccl_id();

  std::string send_error, recv_error;
  std::vector<uint8_t> got_floats, got_tail;
  std::thread sender([&] {
    try {
      cuda::check(cudaSetDevice(0), "cudaSetDevice");
      cuda::DeviceBuffer<float> a(floats);
      cuda::DeviceBuffer<uint8_t> c(tail);
      cuda::NcclPair pair(id, 0, 0, 30s);
      const cuda::SendSegment segs[] = {
          {a.get(), floats.size() * sizeof(float)}, {nullptr, 0}, {c.get(), tail.size()}};
      pair.send(segs, nullptr);
      pair.wait(nullptr, 30s);
    } catch (const std::exception& e) {
      send_error = e.what();
    }
  });
  std::thread receiver([&] {
    try {
      cuda::check(cudaSetDevice(1), "cudaSetDevice");
      cuda::DeviceBuffer<float> a(floats.size());
      cuda::DeviceBuffer<uint8_t> c(tail.size());
      cuda::NcclPair pair(id, 1, 1, 30s);
      EXPECT_EQ(pair.rank(), 1);
      EXPECT_EQ(pair.device(), 1);
      const cuda::RecvSegment segs[] = {
          {a.get(), floats.size() * sizeof(float)}, {nullptr, 0}, {c.get(), tail.size()}};
      pair.recv(segs, nullptr);
      pair.wait(nullptr, 30s);
      got_floats = download_bytes(a.get(), floats.size() * sizeof(float));
      got_tail = download_bytes(c.get(), tail.size());
    } catch (const std::exception& e) {
      recv_error = e.what();
    }
  });
  sender.join();
  receiver.join();
  ASSERT_EQ(send_error, "");
  ASSERT_EQ(recv_error, "");
  ASSERT_EQ(got_floats.size(), floats.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(got_floats.data(), floats.data(), got_floats.size()), 0);
  EXPECT_EQ(got_tail, tail);
}

TEST(NcclPair, LoneRankGivesUpWhenPeerNeverJoins) {
  TT_REQUIRE_GPU();
  std::string why;
  if (!cuda::nccl_available(&why)) GTEST_SKIP() << why;
  const cuda::NcclId id = cuda::new_nccl_id();
  const auto start = std::chrono::steady_clock::now();
  try {
    cuda::NcclPair pair(id, 0, 0, 300ms);
    ADD_FAILURE() << "joined a communicator without its peer";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("did not join"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace tt
