// Joining an NCCL cache channel (model/device_region.hpp) off the actor thread:
// a join blocks until the peer process joined too, or times out, so it runs on
// a thread of its own and the actor learns of the result by a message to itself.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "model/device_region.hpp"

namespace tt::actors {

class ChannelJoin {
public:
  // Starts joining channel `id` as `rank`; `notify` runs on the joining thread once it
  // ended (joined or failed). The thread keeps the ChannelJoin alive until then.
  static std::shared_ptr<ChannelJoin> start(const ChannelFactory& factory, std::string id, int rank,
                                            std::function<void()> notify);
  bool done() const;
  // The joined channel, or null with `error` (also while not done).
  std::unique_ptr<CacheChannel> take(std::string& error);

private:
  mutable std::mutex mutex_;
  bool done_ = false;
  std::unique_ptr<CacheChannel> channel_;
  std::string error_;
};

}  // namespace tt::actors
