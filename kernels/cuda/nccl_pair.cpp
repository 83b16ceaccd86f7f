// The two-rank NCCL channel: NCCL resolved with dlopen/dlsym (nccl.h only for
// types), a non-blocking communicator whose every wait is bounded and polled.
#include "kernels/cuda/nccl_pair.hpp"

#include <dlfcn.h>
#include <nccl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include "kernels/cuda/device.hpp"
#include "kernels/cuda/hex.hpp"

namespace tt::cuda {
namespace {

// Non-blocking init, finalize and the config struct need NCCL 2.14 or later.
constexpr int kMinVersion = NCCL_VERSION(2, 14, 0);
constexpr auto kPollInterval = std::chrono::microseconds(50);

// The NCCL functions this file calls, resolved once per process.
struct NcclApi {
  decltype(&ncclGetVersion) GetVersion = nullptr;
  decltype(&ncclGetErrorString) GetErrorString = nullptr;
  decltype(&ncclGetUniqueId) GetUniqueId = nullptr;
  decltype(&ncclCommInitRankConfig) CommInitRankConfig = nullptr;
  decltype(&ncclCommGetAsyncError) CommGetAsyncError = nullptr;
  decltype(&ncclCommFinalize) CommFinalize = nullptr;
  decltype(&ncclCommDestroy) CommDestroy = nullptr;
  decltype(&ncclCommAbort) CommAbort = nullptr;
  decltype(&ncclSend) Send = nullptr;
  decltype(&ncclRecv) Recv = nullptr;
  decltype(&ncclGroupStart) GroupStart = nullptr;
  decltype(&ncclGroupEnd) GroupEnd = nullptr;
  bool ok = false;
  std::string why;  // why not ok: every library tried and how it failed
};

// Resolves every symbol from `handle`; "" on success, else the first missing name.
std::string resolve_all(void* handle, NcclApi& a) {
  std::string missing;
  auto get = [&](auto& fn, const char* name) {
    if (void* p = dlsym(handle, name))
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    else if (missing.empty())
      missing = name;
  };
  get(a.GetVersion, "ncclGetVersion");
  get(a.GetErrorString, "ncclGetErrorString");
  get(a.GetUniqueId, "ncclGetUniqueId");
  get(a.CommInitRankConfig, "ncclCommInitRankConfig");
  get(a.CommGetAsyncError, "ncclCommGetAsyncError");
  get(a.CommFinalize, "ncclCommFinalize");
  get(a.CommDestroy, "ncclCommDestroy");
  get(a.CommAbort, "ncclCommAbort");
  get(a.Send, "ncclSend");
  get(a.Recv, "ncclRecv");
  get(a.GroupStart, "ncclGroupStart");
  get(a.GroupEnd, "ncclGroupEnd");
  return missing;
}

NcclApi load() {
  NcclApi a;
  std::string candidates[2];
  if (const char* env = std::getenv("TT_NCCL_LIBRARY"); env != nullptr && *env != '\0') candidates[0] = env;
  candidates[1] = "libnccl.so.2";
  for (const std::string& lib : candidates) {
    if (lib.empty()) continue;
    if (!a.why.empty()) a.why += "; ";
    void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      a.why += "cannot load " + lib + ": " + (e != nullptr ? e : "dlopen failed");
      continue;
    }
    NcclApi found;
    int version = 0;
    if (const std::string missing = resolve_all(handle, found); !missing.empty()) {
      a.why += lib + " lacks symbol " + missing;
    } else if (found.GetVersion(&version) != ncclSuccess || version < kMinVersion) {
      a.why += lib + " is NCCL " + std::to_string(version) + ", need " + std::to_string(kMinVersion) + " or later";
    } else {
      found.ok = true;
      return found;  // the library stays loaded for the process's lifetime
    }
    dlclose(handle);
  }
  return a;
}

const NcclApi& api() {
  static const NcclApi a = load();  // thread-safe one-time initialization
  return a;
}

const NcclApi& require_api() {
  const NcclApi& a = api();
  if (!a.ok) throw std::runtime_error("NCCL unavailable: " + a.why);
  return a;
}

std::string error_text(ncclResult_t r) { return api().GetErrorString(r); }

}  // namespace

bool nccl_available(std::string* why) {
  const NcclApi& a = api();
  if (why != nullptr) *why = a.ok ? std::string() : a.why;
  return a.ok;
}

std::string NcclId::to_hex() const { return hex_encode(bytes.data(), bytes.size()); }

NcclId NcclId::from_hex(const std::string& text) {
  NcclId id;
  hex_decode(text, id.bytes.data(), id.bytes.size(), "NCCL id");
  return id;
}

NcclId new_nccl_id() {
  const NcclApi& nccl = require_api();
  ncclUniqueId raw;
  static_assert(sizeof(raw) == sizeof(NcclId::bytes), "ncclUniqueId is 128 bytes");
  if (const ncclResult_t r = nccl.GetUniqueId(&raw); r != ncclSuccess)
    throw std::runtime_error(std::string("ncclGetUniqueId: ") + nccl.GetErrorString(r));
  NcclId id;
  std::memcpy(id.bytes.data(), &raw, sizeof raw);
  return id;
}

NcclPair::NcclPair(const NcclId& id, int rank, int device, std::chrono::milliseconds timeout)
    : rank_(rank), device_(device), timeout_(timeout) {
  if (rank != 0 && rank != 1) throw std::invalid_argument("NcclPair: rank must be 0 or 1");
  const NcclApi& nccl = require_api();
  DeviceScope on(device);  // the communicator takes the current device; the caller's is kept
  ncclUniqueId raw;
  std::memcpy(&raw, id.bytes.data(), sizeof raw);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // init returns at once; settle() bounds the wait for the peer
  const ncclResult_t r = nccl.CommInitRankConfig(&comm_, 2, raw, rank, &config);
  if (r != ncclSuccess && r != ncclInProgress) {
    if (comm_ != nullptr) nccl.CommAbort(comm_);
    throw std::runtime_error("ncclCommInitRankConfig: " + error_text(r));
  }
  settle("NCCL init", timeout,
         "NCCL: peer did not join within " + std::to_string(timeout.count()) + " ms");
}

NcclPair::~NcclPair() {
  std::lock_guard lock(mutex_);
  if (aborted_) return;
  const NcclApi& nccl = api();
  ncclResult_t state = nccl.CommFinalize(comm_);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (state == ncclInProgress && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kPollInterval);
    if (const ncclResult_t r = nccl.CommGetAsyncError(comm_, &state); r != ncclSuccess) state = r;
  }
  if (state == ncclSuccess)
    nccl.CommDestroy(comm_);
  else
    abort_locked();
}

void NcclPair::send(std::span<const SendSegment> segments, cudaStream_t stream) {
  post("NCCL send", segments, {}, stream);
}

void NcclPair::recv(std::span<const RecvSegment> segments, cudaStream_t stream) {
  post("NCCL recv", {}, segments, stream);
}

void NcclPair::post(const char* what, std::span<const SendSegment> sends, std::span<const RecvSegment> recvs,
                    cudaStream_t stream) {
  const NcclApi& nccl = api();
  const int peer = 1 - rank_;
  {
    std::lock_guard lock(mutex_);
    if (aborted_) throw std::runtime_error("NCCL channel aborted");
    ncclResult_t first = nccl.GroupStart();
    if (first == ncclSuccess) {
      for (const SendSegment& s : sends)
        if (s.bytes > 0 && first == ncclSuccess) first = nccl.Send(s.data, s.bytes, ncclUint8, peer, comm_, stream);
      for (const RecvSegment& s : recvs)
        if (s.bytes > 0 && first == ncclSuccess) first = nccl.Recv(s.data, s.bytes, ncclUint8, peer, comm_, stream);
      const ncclResult_t end = nccl.GroupEnd();  // always closes the group it opened
      if (first == ncclSuccess) first = end;
    }
    if (first == ncclSuccess) return;
    if (first != ncclInProgress) {
      abort_locked();
      throw std::runtime_error(std::string(what) + ": " + error_text(first));
    }
  }
  // The first transfer also connects to the peer, which needs its side posted.
  settle(what, timeout_,
         std::string(what) + ": peer did not post its side within " + std::to_string(timeout_.count()) + " ms");
}

void NcclPair::wait(cudaStream_t stream, std::chrono::milliseconds timeout) {
  poll("NCCL transfer", timeout,
       "NCCL: transfer did not complete within " + std::to_string(timeout.count()) +
           " ms (peer dead or never posted its side)",
       [stream](bool, std::string& error) {
         const cudaError_t q = cudaStreamQuery(stream);
         if (q != cudaSuccess && q != cudaErrorNotReady) error = std::string("cudaStreamQuery: ") + cudaGetErrorString(q);
         return q == cudaSuccess;
       });
}

void NcclPair::abort() {
  std::lock_guard lock(mutex_);
  abort_locked();
}

// Polls the communicator (and `finished`, given whether the communicator is idle)
// until `finished` says done; an NCCL error, an error `finished` reports or the
// deadline aborts and throws. The lock is held per poll only, so that abort()
// from another thread ends the wait.
void NcclPair::poll(const char* what, std::chrono::milliseconds timeout, const std::string& timeout_message,
                    const std::function<bool(bool idle, std::string& error)>& finished) {
  const NcclApi& nccl = api();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (aborted_) throw std::runtime_error("NCCL channel aborted");
      ncclResult_t state = ncclSuccess;
      if (const ncclResult_t r = nccl.CommGetAsyncError(comm_, &state); r != ncclSuccess) state = r;
      std::string error;
      if (state != ncclSuccess && state != ncclInProgress) error = error_text(state);
      const bool done = error.empty() && finished(state == ncclSuccess, error);
      if (!error.empty()) {
        abort_locked();
        throw std::runtime_error(std::string(what) + ": " + error);
      }
      if (done) return;
      if (std::chrono::steady_clock::now() >= deadline) {
        abort_locked();
        throw std::runtime_error(timeout_message);
      }
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void NcclPair::settle(const char* what, std::chrono::milliseconds timeout, const std::string& timeout_message) {
  poll(what, timeout, timeout_message, [](bool idle, std::string&) { return idle; });
}

void NcclPair::abort_locked() {
  if (aborted_) return;
  aborted_ = true;
  api().CommAbort(comm_);
}

}  // namespace tt::cuda
