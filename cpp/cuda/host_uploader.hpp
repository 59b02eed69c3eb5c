// Copies of host rows (numpy arrays, or files read with pread) to the device that
// overlap the device's compute: the calling thread reads a piece of rows into one
// of a few page-locked staging buffers, and the copy engine moves it to the
// device on a stream of its own while the compute stream runs. One thread: the
// caller advances the queued copies with step() between its own launches (and
// while it would otherwise wait for the device). Tests: tests/test_cuda.py.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

#include "cuda_check.hpp"
#include "nearortho/row_source.hpp"

namespace nearortho::cuda {

template <class T>
class HostUploader {
 public:
  // One staging buffer: small, so that the piece being copied when the compute
  // stream runs dry delays its next launch little (about 0.4 ms at 10 GB/s).
  static constexpr std::size_t kPieceBytes = std::size_t{4} << 20;
  static constexpr std::size_t kStagingBuffers = 8;

  // Rows of n values; at most `largest` rows in one copy.
  HostUploader(std::int64_t n, std::int64_t largest)
      : n_(n),
        piece_rows_(std::max<std::int64_t>(
            1, std::min<std::int64_t>(largest, static_cast<std::int64_t>(kPieceBytes / (n * sizeof(T)))))),
        staging_(static_cast<std::size_t>(piece_rows_ * n) * sizeof(T) * kStagingBuffers),
        staged_(kStagingBuffers) {}

  // The staging buffers and every destination outlive the copies in flight.
  ~HostUploader() { cudaStreamSynchronize(stream_.get()); }
  HostUploader(const HostUploader&) = delete;
  HostUploader& operator=(const HostUploader&) = delete;

  // Queues a copy of rows [first, first + rows) of `source` to device `dst`, its
  // ticket the number of copies queued before it; `done` is recorded on the copy
  // stream after its last piece (so another stream can wait for it).
  std::int64_t enqueue(const RowSource<T>& source, std::int64_t first, std::int64_t rows, T* dst, cudaEvent_t done) {
    queue_.push_back(Copy{&source, first, rows, 0, dst, done});
    return queued_++;
  }

  bool pending() const { return !queue_.empty(); }

  // Issues the next piece of the oldest queued copy; false when none is queued.
  bool step() {
    if (queue_.empty()) return false;
    Copy& c = queue_.front();
    if (c.issued == 0) c.source->check_unchanged();  // a file rewritten since it was opened
    const std::int64_t rows = std::min(piece_rows_, c.rows - c.issued);
    if (rows > 0) {
      const std::size_t bytes = static_cast<std::size_t>(rows * n_) * sizeof(T);
      unsigned char* stage = staging_.get() + next_ * static_cast<std::size_t>(piece_rows_ * n_) * sizeof(T);
      // the buffer's previous piece has reached the device (immediate the first time)
      check(cudaEventSynchronize(staged_[next_].get()), "cudaEventSynchronize (staging)");
      std::memcpy(stage, c.source->read(c.first + c.issued, rows, buffer_), bytes);  // arrays: read in place
      check(cudaMemcpyAsync(c.dst + c.issued * n_, stage, bytes, cudaMemcpyHostToDevice, stream_.get()),
            "cudaMemcpyAsync (rows)");
      check(cudaEventRecord(staged_[next_].get(), stream_.get()), "cudaEventRecord (staging)");
      next_ = (next_ + 1) % kStagingBuffers;
      c.issued += rows;
    }
    if (c.issued == c.rows) {
      check(cudaEventRecord(c.done, stream_.get()), "cudaEventRecord (rows)");
      queue_.pop_front();
      ++issued_;
    }
    return true;
  }

  // Issues every copy up to and including the one of `ticket` (it must be queued).
  void issue_through(std::int64_t ticket) {
    while (issued_ <= ticket && step()) {
    }
  }

 private:
  struct Copy {
    const RowSource<T>* source;
    std::int64_t first, rows, issued;
    T* dst;
    cudaEvent_t done;
  };

  CudaStream stream_;
  std::int64_t n_, piece_rows_;
  PinnedBuffer staging_;
  std::vector<CudaEvent> staged_;  // per staging buffer: its last piece has left it
  std::size_t next_ = 0;           // the staging buffer of the next piece
  RowBuffer<T> buffer_;            // rows read from a file
  std::deque<Copy> queue_;
  std::int64_t queued_ = 0, issued_ = 0;
};

}  // namespace nearortho::cuda
