// A two-rank NCCL channel that moves a sequence's cache (K/V rows, Mamba state)
// from a context process's GPU to a denoiser process's GPU, across nodes.
// NCCL is loaded at run time (dlopen), so binaries start where it is missing.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>

struct ncclComm;  // nccl.h's opaque communicator; the header stays out of ours

namespace tt::cuda {

// True when the NCCL library loads (TT_NCCL_LIBRARY if set, then libnccl.so.2)
// and every function this channel calls resolves; otherwise false, and *why
// names the library or symbol that failed. Loaded once per process; never throws.
bool nccl_available(std::string* why = nullptr);

// The rendezvous id (ncclUniqueId, 128 opaque bytes) that rank 0's process
// creates and sends to its peer. Text form for messages and command lines.
struct NcclId {
  std::array<uint8_t, 128> bytes{};

  std::string to_hex() const;                       // 256 lowercase hex digits
  static NcclId from_hex(const std::string& text);  // throws std::invalid_argument
};

// A fresh id (ncclGetUniqueId; its process hosts the rendezvous until both
// ranks joined). Throws std::runtime_error when NCCL is missing or fails.
NcclId new_nccl_id();

// One contiguous device range of a transfer; both sides list the same sizes in
// the same order. Empty segments are skipped.
struct SendSegment {
  const void* data;
  size_t bytes;
};
struct RecvSegment {
  void* data;
  size_t bytes;
};

// One end of a two-rank communicator (non-blocking NCCL). Every failure aborts
// the communicator and throws std::runtime_error; so does any call after abort().
// abort() may come from another thread, e.g. when the peer is known to be dead.
class NcclPair {
public:
  // Joins the communicator as `rank` (0 or 1, else std::invalid_argument) on
  // `device` (the caller's current device is kept). Throws "NCCL: peer did not join within N ms" when
  // the other rank does not join within `timeout`. The same timeout bounds how
  // long send/recv wait for their peer to connect and the destructor's finalize.
  NcclPair(const NcclId& id, int rank, int device, std::chrono::milliseconds timeout);
  ~NcclPair();  // finalize + destroy, or abort on trouble; never throws
  NcclPair(const NcclPair&) = delete;
  NcclPair& operator=(const NcclPair&) = delete;

  // Enqueue every non-empty segment on `stream`, in order, as one NCCL group
  // (bytes, to/from the other rank). Returns once enqueued: wait() for the data.
  void send(std::span<const SendSegment> segments, cudaStream_t stream);
  void recv(std::span<const RecvSegment> segments, cudaStream_t stream);

  // Returns when `stream` is idle. Throws (after aborting) on an NCCL error or
  // when `timeout` passes first: the peer died or never posted its side.
  void wait(cudaStream_t stream, std::chrono::milliseconds timeout);

  // Aborts the communicator (once; in-flight transfers end). Never throws.
  void abort();

  int rank() const { return rank_; }
  int device() const { return device_; }

private:
  void post(const char* what, std::span<const SendSegment> sends, std::span<const RecvSegment> recvs,
            cudaStream_t stream);
  void poll(const char* what, std::chrono::milliseconds timeout, const std::string& timeout_message,
            const std::function<bool(bool idle, std::string& error)>& finished);
  // poll() until the communicator's pending operation is done.
  void settle(const char* what, std::chrono::milliseconds timeout, const std::string& timeout_message);
  void abort_locked();

  ncclComm* comm_ = nullptr;
  int rank_ = 0;
  int device_ = 0;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;  // guards comm_ and aborted_: abort() may race a poll
  bool aborted_ = false;
};

}  // namespace tt::cuda
