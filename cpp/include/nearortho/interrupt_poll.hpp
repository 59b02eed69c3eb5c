// Ctrl-C inside long parallel loops: the callback (which takes the GIL and checks
// for signals) runs only on the calling thread, the one Python signals reach.
// Tests: tests/test_interrupts.py.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nearortho {

// Polls an interrupt callback from the calling thread (OpenMP thread 0) at most
// every 50 ms; once it fires, every thread sees stopped().
class InterruptPoll {
 public:
  explicit InterruptPoll(const std::function<bool()>& interrupted) : interrupted_(interrupted) {}
  bool stopped() {
    if (stop_.load(std::memory_order_relaxed)) return true;
#ifdef _OPENMP
    if (omp_get_thread_num() != 0) return false;
#endif
    if (!interrupted_ || std::chrono::steady_clock::now() < next_) return false;
    next_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    if (interrupted_()) stop_.store(true);
    return stop_.load();
  }
  // Whether it has fired, without polling (any thread).
  bool fired() const { return stop_.load(); }

 private:
  const std::function<bool()>& interrupted_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point next_ = std::chrono::steady_clock::now();
};

}  // namespace nearortho
