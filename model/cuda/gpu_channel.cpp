// NCCL CacheChannel (see gpu_channel.hpp).
#include "model/cuda/gpu_channel.hpp"

#include "kernels/cuda/device.hpp"
#include "model/error.hpp"
#ifdef TT_HAVE_NCCL
#include "kernels/cuda/nccl_pair.hpp"
#endif

namespace tt::gpu {
#ifdef TT_HAVE_NCCL
namespace {

class NcclChannel : public CacheChannel {
public:
  NcclChannel(const std::string& id, int rank, int device, std::chrono::milliseconds timeout)
      : device_(device), timeout_(timeout), pair_(join(id, rank, device, timeout)) {
    cuda::DeviceScope on(device_);
    cuda::check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "channel stream");
  }
  ~NcclChannel() override {
    pair_.reset();  // finalize (or abort) before the stream goes
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  void send(std::span<const DeviceSpan> spans) override {
    std::vector<cuda::SendSegment> segments;
    for (const auto& s : spans) segments.push_back({s.data, s.bytes});
    run("send", [&] { pair_->send(segments, stream_); });
  }

  void receive(std::span<const DeviceSpan> spans) override {
    std::vector<cuda::RecvSegment> segments;
    for (const auto& s : spans) segments.push_back({s.data, s.bytes});
    run("receive", [&] {
      pair_->recv(segments, stream_);
      pair_->wait(stream_, timeout_);
    });
  }

  void abort() override { pair_->abort(); }

private:
  static std::unique_ptr<cuda::NcclPair> join(const std::string& id, int rank, int device,
                                              std::chrono::milliseconds timeout) {
    try {
      return std::make_unique<cuda::NcclPair>(cuda::NcclId::from_hex(id), rank, device, timeout);
    } catch (const std::exception& e) {
      throw Error(std::string("NCCL channel: ") + e.what());
    }
  }
  template <class F>
  void run(const char* what, F&& f) {
    cuda::DeviceScope on(device_);
    try {
      f();
    } catch (const std::exception& e) {
      throw Error(std::string("NCCL channel ") + what + ": " + e.what());
    }
  }

  int device_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<cuda::NcclPair> pair_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

ChannelFactory channel_factory(int device, std::chrono::milliseconds timeout, std::string& why) {
  if (!cuda::nccl_available(&why)) return {};
  ChannelFactory f;
  f.new_id = [] { return cuda::new_nccl_id().to_hex(); };
  f.join = [device, timeout](const std::string& id, int rank) -> std::unique_ptr<CacheChannel> {
    return std::make_unique<NcclChannel>(id, rank, device, timeout);
  };
  return f;
}

#else

ChannelFactory channel_factory(int, std::chrono::milliseconds, std::string& why) {
  why = "built without nccl.h";
  return {};
}

#endif
}  // namespace tt::gpu
