#include "tally/engine/detail/task.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <thread>

namespace {

using tally::detail::Task;

// A callable whose copy throws and whose move does not: made from an lvalue, Task::make
// copies it, inline (kBytes within Task::kInlineBytes) or into a heap box (larger).
template <std::size_t kBytes>
struct ThrowsWhenCopied {
  std::array<std::byte, kBytes> payload{};
  ThrowsWhenCopied() = default;
  ThrowsWhenCopied(const ThrowsWhenCopied& /*other*/) { throw std::runtime_error("copy failed"); }
  ThrowsWhenCopied(ThrowsWhenCopied&&) noexcept = default;
  ThrowsWhenCopied& operator=(const ThrowsWhenCopied&) = delete;
  ThrowsWhenCopied& operator=(ThrowsWhenCopied&&) = delete;
  ~ThrowsWhenCopied() = default;
  void operator()() const noexcept {}
};

template <typename T>
class TaskMakeThrows : public ::testing::Test {};

using Callables = ::testing::Types<ThrowsWhenCopied<8>, ThrowsWhenCopied<Task::kInlineBytes * 2>>;
TYPED_TEST_SUITE(TaskMakeThrows, Callables);

// Oracle: a Task::make that throws while taking in the callable gives its node back to the
// calling thread's free list. The list is LIFO: the node a task run on a thread returned is
// the next one taken there, so if the failed make took it and gave it back, the make after it
// gets the same node again. (On a fresh thread, so that the list holds just what this test
// put there.)
TYPED_TEST(TaskMakeThrows, GivesItsNodeBack) {
  std::thread([] {
    Task* warm = Task::make([]() noexcept {});
    Task* const node = warm;
    warm->run();  // `node` is now the head of this thread's free list

    const TypeParam callable;
    EXPECT_THROW(Task::make(callable), std::runtime_error);

    std::atomic<bool> ran{false};
    Task* next = Task::make([&ran]() noexcept { ran.store(true); });
    EXPECT_EQ(next, node) << "the failed make kept the node";
    next->run();
    EXPECT_TRUE(ran.load());
  }).join();
}

}  // namespace
