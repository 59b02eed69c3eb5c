// Thread-count policy; see threads.hpp. Tests: tests/test_threads.py.
#include "nearortho/threads.hpp"

#include <pthread.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nearortho {

namespace {

// libgomp's thread pool does not survive fork(): a forked child that starts a
// parallel region of more than one thread waits forever for threads that only
// exist in the parent. A child therefore runs single-threaded (as MKL and
// OpenBLAS do after fork); a team of one never touches the pool.
std::atomic<bool> forked_child{false};

void mark_forked_child() { forked_child.store(true); }

const int fork_handler_registered = pthread_atfork(nullptr, nullptr, mark_forked_child);

void* idle(void*) { return nullptr; }

// libgomp ends the whole process when it cannot start a thread (an address-space
// or process limit). Starting the threads a team would add, with the default
// attributes libgomp uses too, and joining them turns that into an exception.
// The largest count that worked is remembered, so this runs once per new maximum.
void check_threads_can_start(int threads) {
  static std::mutex mutex;
  static int proven = 1;
  std::lock_guard<std::mutex> lock(mutex);
  if (threads <= proven) return;
  std::vector<pthread_t> started;
  int error = 0;
  for (int i = proven; i < threads && error == 0; ++i) {
    pthread_t thread;
    error = pthread_create(&thread, nullptr, idle, nullptr);
    if (error == 0) started.push_back(thread);
  }
  for (pthread_t thread : started) pthread_join(thread, nullptr);
  if (error != 0)
    throw std::runtime_error("could not start " + std::to_string(threads) + " threads (" +
                             std::strerror(error) + "); ask for fewer with threads=");
  proven = threads;
}

}  // namespace

int resolve_threads(int requested) {
  (void)fork_handler_registered;
  if (forked_child.load()) return 1;
#ifdef _OPENMP
  const int threads = requested > 0 ? requested : omp_get_max_threads();
  check_threads_can_start(threads);
  return threads;
#else
  (void)requested;
  return 1;
#endif
}

bool have_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace nearortho
