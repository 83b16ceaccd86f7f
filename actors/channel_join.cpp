// ChannelJoin (see channel_join.hpp).
#include "actors/channel_join.hpp"

#include <thread>

namespace tt::actors {

std::shared_ptr<ChannelJoin> ChannelJoin::start(const ChannelFactory& factory, std::string id, int rank,
                                                std::function<void()> notify) {
  auto join = std::make_shared<ChannelJoin>();
  std::thread([join, factory, id = std::move(id), rank, notify = std::move(notify)] {
    std::unique_ptr<CacheChannel> channel;
    std::string error;
    try {
      channel = factory.join(id, rank);
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard lock(join->mutex_);
      join->channel_ = std::move(channel);
      join->error_ = error.empty() && !join->channel_ ? "no channel" : error;
      join->done_ = true;
    }
    notify();
  }).detach();
  return join;
}

bool ChannelJoin::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

std::unique_ptr<CacheChannel> ChannelJoin::take(std::string& error) {
  std::lock_guard lock(mutex_);
  if (!done_) error = "still joining";
  else if (!channel_) error = error_;
  return std::move(channel_);
}

}  // namespace tt::actors
