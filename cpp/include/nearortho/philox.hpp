// Philox4x32-10 counter-based generator (Salmon et al., SC'11, "Parallel random
// numbers: as easy as 1, 2, 3"). Known-answer tests: tests/test_frame.py.
#pragma once
#include <cstdint>

// The CUDA backend runs these same functions on the device, so its rows use the
// same counters and arithmetic as the CPU's.
#include "nearortho/host_device.hpp"

namespace nearortho {

struct Philox4x32 {
  std::uint32_t v[4];
};

// One Philox4x32-10 block: a bijection of the 128-bit counter under a 64-bit key.
// Written with plain 64-bit products so the compiler can vectorise loops of it.
NEARORTHO_HOST_DEVICE inline Philox4x32 philox4x32_10(std::uint32_t c0, std::uint32_t c1,
                                                      std::uint32_t c2, std::uint32_t c3,
                                                      std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

// Streams separate the uses of one (seed, row) so kinds never share numbers.
enum class Stream : std::uint32_t {
  gaussian = 1,
  sign = 2,
  sparse_positions = 3,
  sparse_signs = 4,
  orthogonal = 5,
  srht_signs = 6,
  srht_subset = 7,
  // Monte Carlo activations (simulate), keyed by (seed, trial) instead of (seed, row).
  activation_indices = 32,
  activation_values = 33,
  activation_signs = 34,
};

// Generator for one (seed, row index, stream): block b gives the words 4b..4b+3.
struct RowGenerator {
  std::uint32_t k0, k1, r0, r1, stream;
  NEARORTHO_HOST_DEVICE RowGenerator(std::uint64_t seed, std::uint64_t row, Stream s)
      : k0(static_cast<std::uint32_t>(seed)), k1(static_cast<std::uint32_t>(seed >> 32)),
        r0(static_cast<std::uint32_t>(row)), r1(static_cast<std::uint32_t>(row >> 32)),
        stream(static_cast<std::uint32_t>(s)) {}
  NEARORTHO_HOST_DEVICE Philox4x32 block(std::uint32_t b) const {
    return philox4x32_10(b, r0, r1, stream, k0, k1);
  }
};

// A uniform integer in [0, bound) from 64 random bits (multiply-shift; bias < bound / 2^64).
NEARORTHO_HOST_DEVICE inline std::uint64_t bounded(std::uint32_t hi, std::uint32_t lo,
                                                   std::uint64_t bound) {
  const std::uint64_t x = (static_cast<std::uint64_t>(hi) << 32) | lo;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * bound) >> 64);
}

}  // namespace nearortho
