// Rows of a matrix read block by block: an array in memory (read in place) or a
// region of a file (a .npy's data, a .safetensors tensor) read with pread into
// the caller's buffers. Files are never memory-mapped, so one truncated or
// rewritten while it is read gives an error naming it, not SIGBUS.
// Tests: tests/test_streaming.py.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace nearortho {

// A file source that ended early, changed while it was read, or could not be
// read (Python: OSError).
struct FileReadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How the file stores its values (little-endian); rows are converted exactly to T.
enum class StoredType { f16, bf16, f32, f64 };

// rows x cols values from byte `offset`: row-major, or column-major when
// `transposed` (the matrix's rows are then the file's columns, read as n strided pieces).
struct FileRegion {
  std::string path;
  std::int64_t offset = 0;
  StoredType type = StoredType::f32;
  std::int64_t rows = 0, cols = 0;
  bool transposed = false;
};

// One thread's buffers for rows read from a file.
template <class T>
struct RowBuffer {
  std::vector<unsigned char> raw;
  std::vector<T> stored, rows;
};

template <class T>
class RowSource {
 public:
  // An array in memory, row-major rows x cols.
  RowSource(const T* data, std::int64_t rows, std::int64_t cols, std::string name);
  // A file region; throws std::invalid_argument when the file cannot be opened or
  // is shorter than the region.
  RowSource(const FileRegion& file, std::string name);

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  const std::string& name() const { return name_; }
  // The array's rows (row-major), or null for a file region.
  const T* array() const { return data_; }

  // Rows [r0, r0 + count) as row-major T: a pointer into the array, or into
  // buffer.rows filled from the file. Throws FileReadError naming the file when
  // it ends early or cannot be read.
  const T* read(std::int64_t r0, std::int64_t count, RowBuffer<T>& buffer) const;

  // Throws FileReadError when the file's size or modification time differ
  // from when it was opened (rewritten while being read); nothing for arrays.
  void check_unchanged() const;

  // Rows per read(): whole panels of panel_rows, about kReadBytes of file per read.
  std::int64_t chunk_rows(std::int64_t panel_rows) const;

 private:
  struct OpenFile;
  void read_file(std::int64_t r0, std::int64_t count, RowBuffer<T>& buffer) const;
  void pread_all(void* dst, std::int64_t bytes, std::int64_t offset) const;

  const T* data_ = nullptr;
  std::int64_t rows_ = 0, cols_ = 0;
  std::string name_;
  FileRegion file_;
  std::shared_ptr<OpenFile> open_;
};

// Bytes per value stored as `type`.
std::int64_t stored_size(StoredType type);

// About this many bytes of a file are read per read() call.
constexpr std::int64_t kReadBytes = std::int64_t{1} << 18;

// Bytes of one thread's RowBuffer<T> for rows of n values stored as `type`
// (what the memory budget of a streamed pass counts per thread).
std::int64_t row_buffer_bytes(StoredType type, std::int64_t n, std::int64_t working_size,
                              std::int64_t panel_rows);

}  // namespace nearortho
