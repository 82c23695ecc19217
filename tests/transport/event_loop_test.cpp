// The event loop's boundary: whatever a callback throws is reported and counted, and the
// loop keeps serving the rest (issue 15: one exception used to end the process).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "transport/event_loop.hpp"

namespace tether::transport {
namespace {

TEST(EventLoop, AnExceptionInACallbackIsReportedAndTheLoopGoesOn) {
  EventLoop loop;
  std::vector<std::string> reported;
  loop.set_error_handler([&](const std::string& what) { reported.push_back(what); });
  int later = 0;
  loop.schedule(loop.now(), [] { throw std::runtime_error("timer broke"); });
  loop.post([] { throw std::invalid_argument("task broke"); });
  loop.post([] { throw 42; });
  loop.schedule(loop.now(), [&] { ++later; });
  loop.post([&] { ++later; });
  for (int i = 0; i < 5 && later < 2; ++i) loop.run_once(Duration{50});
  EXPECT_EQ(later, 2);
  EXPECT_EQ(loop.errors(), 3u);
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_EQ(reported[0], "posted task: task broke");
  EXPECT_EQ(reported[2], "timer: timer broke");
  EXPECT_NE(reported[1].find("not a std::exception"), std::string::npos);
}

TEST(EventLoop, AReporterThatThrowsDoesNotTakeTheLoopDown) {
  EventLoop loop;
  loop.set_error_handler([](const std::string&) { throw std::runtime_error("log broke"); });
  bool ran = false;
  loop.post([] { throw std::runtime_error("x"); });
  loop.post([&] { ran = true; });
  loop.run_once(Duration{50});
  EXPECT_TRUE(ran);
  EXPECT_EQ(loop.errors(), 1u);
}

}  // namespace
}  // namespace tether::transport
