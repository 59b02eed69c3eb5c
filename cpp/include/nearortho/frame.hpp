// Near-orthogonal frame generators: m unit vectors in R^n, row i a pure function
// of (seed, i). Tests: tests/test_frame.py.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace nearortho {

// Random kinds take any (n, m); the structured kinds (kerdock, simplex,
// conference, lines28: structured_frames.hpp) exist for some n and up to a largest m.
enum class FrameKind { gaussian, sign, sparse, orthogonal, srht, kerdock, simplex, conference, lines28 };

FrameKind frame_kind_from_name(const std::string& name);  // throws std::invalid_argument

struct FrameSpec {
  std::int64_t n = 0;          // dimension
  std::int64_t m = 0;          // number of rows
  FrameKind kind = FrameKind::gaussian;
  std::uint64_t seed = 0;
  std::int64_t sparsity = 0;   // nonzeros per row for FrameKind::sparse
};

constexpr std::int64_t kMaxFrameDimension = (std::int64_t{1} << 31) - 1;  // largest n
// orthogonal kind: rows of a basis are orthogonalised in blocks of this many, so
// generating row i builds the basis's rows up to i rounded up to a whole block
constexpr std::int64_t kOrthogonalBlock = 64;

void validate(const FrameSpec& spec);  // throws std::invalid_argument

// Rows that are built together: n for orthogonal (one basis) and kerdock, 1
// otherwise. Asking for rows inside a group costs the group's prefix, so callers
// chunk along these boundaries.
std::int64_t frame_group_rows(const FrameSpec& spec);

// Writes rows [row_begin, row_end) of the frame into out (row-major, n columns).
// The bits written do not depend on threads, on the row range or on the ISA.
// Kinds whose rows are built in long groups (orthogonal) poll `interrupted` on
// the calling thread about every 50 ms; when it returns true they stop early and
// generate_frame returns false (out is then incomplete).
template <class T>
bool generate_frame(const FrameSpec& spec, std::int64_t row_begin, std::int64_t row_end,
                    T* out, int threads, const std::function<bool()>& interrupted = nullptr);

}  // namespace nearortho
