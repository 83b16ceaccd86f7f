// CUDA IPC: a buffer exported by this process is read by a second process
// (this test binary re-run with TT_IPC_HANDLE set), and the handle's text form
// round-trips and rejects garbage (that part runs without a GPU).
#include "kernels/cuda/ipc.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

TEST(CudaIpc, HandleTextRoundTripsAndRejectsGarbage) {
  cuda::IpcHandle h;
  for (int i = 0; i < 64; ++i) h.bytes[i] = static_cast<uint8_t>(i * 7);
  h.size = 123456789;
  h.device = 1;
  const auto back = cuda::IpcHandle::from_hex(h.to_hex());
  EXPECT_EQ(back.bytes, h.bytes);
  EXPECT_EQ(back.size, h.size);
  EXPECT_EQ(back.device, 1);
  EXPECT_THROW(cuda::IpcHandle::from_hex("0:12:abc"), std::invalid_argument);
  EXPECT_THROW(cuda::IpcHandle::from_hex("x:12:" + std::string(128, '0')), std::invalid_argument);
  EXPECT_THROW(cuda::IpcHandle::from_hex("0:12:" + std::string(128, 'g')), std::invalid_argument);
  EXPECT_THROW(cuda::IpcHandle::from_hex("0:12:0g" + std::string(126, '0')), std::invalid_argument);
}

// Runs only as the child of SecondProcessReadsExportedBuffer: prints the sum of the floats.
TEST(CudaIpc, Child) {
  const char* text = std::getenv("TT_IPC_HANDLE");
  if (text == nullptr) GTEST_SKIP() << "only run as a child process";
  cuda::ImportedBuffer buf(cuda::IpcHandle::from_hex(text));
  std::vector<float> host(buf.size() / sizeof(float));
  cuda::check(cudaMemcpy(host.data(), buf.data(), buf.size(), cudaMemcpyDeviceToHost), "D2H");
  std::printf("IPC_SUM=%.1f\n", std::accumulate(host.begin(), host.end(), 0.0));
}

TEST(CudaIpc, SecondProcessReadsExportedBuffer) {
  TT_REQUIRE_GPU();
  std::vector<float> data(4096);
  std::iota(data.begin(), data.end(), 1.0f);  // sum = 4096 * 4097 / 2
  cuda::DeviceBuffer<float> dev(data);
  const auto handle = cuda::export_buffer(dev.get(), data.size() * sizeof(float), 0);
  int status = 0;
  const std::string out = test::run_self("TT_IPC_HANDLE=" + handle.to_hex(), "CudaIpc.Child", status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("IPC_SUM=8390656.0"), std::string::npos) << out;
}

}  // namespace
}  // namespace tt
