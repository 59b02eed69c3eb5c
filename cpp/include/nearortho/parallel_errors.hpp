// Keeps C++ exceptions inside OpenMP parallel regions: an exception that leaves a
// region ends the process (std::terminate), so each thread's work runs through
// ParallelErrors::run, the first exception is kept, the other threads see
// failed() and skip their remaining work, and the caller rethrows it after the
// region (std::bad_alloc reaches Python as MemoryError). Only wrap work that
// contains no worksharing construct or barrier: a thread that skips one would
// leave the others waiting. Tests: tests/test_memory.py.
#pragma once
#include <atomic>
#include <exception>
#include <mutex>
#include <utility>

namespace nearortho {

class ParallelErrors {
 public:
  template <class Fn>
  void run(Fn&& fn) noexcept {
    if (failed()) return;
    try {
      std::forward<Fn>(fn)();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

}  // namespace nearortho
