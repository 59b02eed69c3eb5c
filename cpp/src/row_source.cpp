// Row sources: arrays in place, file regions through pread with exact conversion
// of float16, bfloat16, float32 and float64 to the working type. Tests:
// tests/test_streaming.py (every stored type, transposed regions, truncation).
#include "nearortho/row_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace nearortho {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "stored values are read as little-endian");

namespace {

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  const std::uint32_t bits = exponent == 31 ? sign | 0x7f800000u | (mantissa << 13)  // inf, NaN
                                            : sign | ((exponent + 112) << 23) | (mantissa << 13);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float bfloat_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// count values stored as `type` at raw, converted to T (never narrowing: the
// working type is at least as wide as the stored one).
template <class T>
void convert(const unsigned char* raw, StoredType type, std::int64_t count, T* out) {
  for (std::int64_t i = 0; i < count; ++i) {
    switch (type) {
      case StoredType::f16: {
        std::uint16_t h;
        std::memcpy(&h, raw + 2 * i, 2);
        out[i] = static_cast<T>(half_to_float(h));
        break;
      }
      case StoredType::bf16: {
        std::uint16_t h;
        std::memcpy(&h, raw + 2 * i, 2);
        out[i] = static_cast<T>(bfloat_to_float(h));
        break;
      }
      case StoredType::f32: {
        float f;
        std::memcpy(&f, raw + 4 * i, 4);
        out[i] = static_cast<T>(f);
        break;
      }
      case StoredType::f64: {
        double d;
        std::memcpy(&d, raw + 8 * i, 8);
        out[i] = static_cast<T>(d);
        break;
      }
    }
  }
}

template <class T>
bool stored_as(StoredType type) {
  return stored_size(type) == static_cast<std::int64_t>(sizeof(T)) && type != StoredType::f16 &&
         type != StoredType::bf16;
}

}  // namespace

std::int64_t stored_size(StoredType type) {
  switch (type) {
    case StoredType::f16:
    case StoredType::bf16:
      return 2;
    case StoredType::f32:
      return 4;
    case StoredType::f64:
      return 8;
  }
  return 0;
}

std::int64_t row_buffer_bytes(StoredType type, std::int64_t n, std::int64_t working_size,
                              std::int64_t panel_rows) {
  const std::int64_t row = n * stored_size(type);
  const std::int64_t rows = std::max(panel_rows, kReadBytes / row / panel_rows * panel_rows);
  return rows * n * (stored_size(type) + 2 * working_size);
}

template <class T>
struct RowSource<T>::OpenFile {
  int fd = -1;
  struct stat opened {};
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

template <class T>
RowSource<T>::RowSource(const T* data, std::int64_t rows, std::int64_t cols, std::string name)
    : data_(data), rows_(rows), cols_(cols), name_(std::move(name)) {}

template <class T>
RowSource<T>::RowSource(const FileRegion& file, std::string name)
    : rows_(file.rows), cols_(file.cols), name_(std::move(name)), file_(file),
      open_(std::make_shared<OpenFile>()) {
  if (stored_size(file.type) > static_cast<std::int64_t>(sizeof(T)))
    throw std::invalid_argument(name_ + ": float64 values cannot be read as float32");
  open_->fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (open_->fd < 0)
    throw std::invalid_argument("cannot open " + file.path + ": " + std::strerror(errno));
  if (::fstat(open_->fd, &open_->opened) != 0)
    throw std::invalid_argument("cannot stat " + file.path + ": " + std::strerror(errno));
  const std::int64_t end = file.offset + file.rows * file.cols * stored_size(file.type);
  if (static_cast<std::int64_t>(open_->opened.st_size) < end)
    throw std::invalid_argument(file.path + " holds " + std::to_string(open_->opened.st_size) +
                                " bytes, fewer than the " + std::to_string(end) +
                                " its header describes (truncated?)");
}

template <class T>
std::int64_t RowSource<T>::chunk_rows(std::int64_t panel_rows) const {
  if (data_ != nullptr) return std::max(panel_rows, kReadBytes / (cols_ * static_cast<std::int64_t>(sizeof(T))) / panel_rows * panel_rows);
  return std::max(panel_rows, kReadBytes / (cols_ * stored_size(file_.type)) / panel_rows * panel_rows);
}

template <class T>
const T* RowSource<T>::read(std::int64_t r0, std::int64_t count, RowBuffer<T>& buffer) const {
  if (data_ != nullptr) return data_ + r0 * cols_;
  read_file(r0, count, buffer);
  return buffer.rows.data();
}

template <class T>
void RowSource<T>::read_file(std::int64_t r0, std::int64_t count, RowBuffer<T>& buffer) const {
  const std::int64_t n = cols_, size = stored_size(file_.type), values = count * n;
  buffer.rows.resize(static_cast<std::size_t>(values));
  if (!file_.transposed && stored_as<T>(file_.type)) {  // straight into the rows
    pread_all(buffer.rows.data(), values * size, file_.offset + r0 * n * size);
    return;
  }
  buffer.raw.resize(static_cast<std::size_t>(values * size));
  if (!file_.transposed) {
    pread_all(buffer.raw.data(), values * size, file_.offset + r0 * n * size);
    convert(buffer.raw.data(), file_.type, values, buffer.rows.data());
    return;
  }
  // the file holds the n x rows_ transpose: each coordinate k is one contiguous piece
  for (std::int64_t k = 0; k < n; ++k)
    pread_all(buffer.raw.data() + k * count * size, count * size, file_.offset + (k * rows_ + r0) * size);
  buffer.stored.resize(static_cast<std::size_t>(values));
  convert(buffer.raw.data(), file_.type, values, buffer.stored.data());
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t r = 0; r < count; ++r) buffer.rows[r * n + k] = buffer.stored[k * count + r];
}

template <class T>
void RowSource<T>::pread_all(void* dst, std::int64_t bytes, std::int64_t offset) const {
  auto* out = static_cast<unsigned char*>(dst);
  std::int64_t done = 0;
  while (done < bytes) {
    const ssize_t got = ::pread(open_->fd, out + done, static_cast<std::size_t>(bytes - done), offset + done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw FileReadError("reading " + file_.path + " failed: " + std::strerror(errno));
    if (got == 0)
      throw FileReadError(file_.path + " ended at byte " + std::to_string(offset + done) + ", before the " +
                               std::to_string(offset + bytes) +
                               " needed: it was truncated or rewritten while being read");
    done += got;
  }
}

template <class T>
void RowSource<T>::check_unchanged() const {
  if (data_ != nullptr) return;
  struct stat now {};
  if (::fstat(open_->fd, &now) != 0)
    throw FileReadError("cannot stat " + file_.path + ": " + std::strerror(errno));
  const struct stat& then = open_->opened;
  if (now.st_size != then.st_size || now.st_mtim.tv_sec != then.st_mtim.tv_sec ||
      now.st_mtim.tv_nsec != then.st_mtim.tv_nsec)
    throw FileReadError(file_.path + " was modified while being read (its size or modification time changed)");
}

template class RowSource<float>;
template class RowSource<double>;

}  // namespace nearortho
