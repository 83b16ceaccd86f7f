// DeadlineQueue: one timer armed for the earliest deadline, due ids in order,
// removed entries never due.
#include "actors/deadline_queue.hpp"

#include <gtest/gtest.h>

namespace tt::actors {
namespace {

TEST(DeadlineQueue, ArmsOnceForTheEarliestAndAgainOnlyForAnEarlierOne) {
  DeadlineQueue<int> q;
  EXPECT_FALSE(q.arm());  // nothing waits
  q.add(50, 1);
  EXPECT_EQ(q.arm(), 50);
  q.add(70, 2);
  EXPECT_FALSE(q.arm());  // armed at 50 already
  q.add(30, 3);
  EXPECT_EQ(q.arm(), 30);  // earlier than the armed one
}

TEST(DeadlineQueue, DueTakesThePassedInOrderAndRemovedOnesNever) {
  DeadlineQueue<int> q;
  q.add(50, 1);
  const auto h = q.add(20, 2);
  q.add(30, 3);
  q.add(90, 4);
  ASSERT_EQ(q.arm(), 20);
  q.remove(h);
  EXPECT_EQ(q.due(60), (std::vector<uint64_t>{3, 1}));
  EXPECT_EQ(q.size(), 3u);  // due entries stay until their requests end
  EXPECT_EQ(q.arm(), 30);   // the timer fired: arm again for the earliest left
  EXPECT_TRUE(q.due(10).empty());
}

}  // namespace
}  // namespace tt::actors
