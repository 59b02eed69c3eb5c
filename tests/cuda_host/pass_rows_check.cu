// Host-only check of the streamed CUDA pass's bookkeeping (cpp/cuda/pass_rows.cuh,
// host_uploader.hpp, stream_plan.hpp) against fake_cudart.cpp, a CUDA runtime
// whose memory is host memory and whose copies run at once: for in-memory and
// superblock plans, arrays and files, every tile gets the rows of its two
// blocks, and the copies issued while it runs leave them alone. It cannot see
// the kernels or the streams' timing (a GPU runs tests/test_cuda.py for those).
// Built and run by tests/cuda_host/run.sh (CI: .ci/cuda-build).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "pass_rows.cuh"

using namespace nearortho;
using namespace nearortho::cuda;

// The host stub of the one kernel the fake runtime runs (the flags' fill).
const void* fill_kernel() { return reinterpret_cast<const void*>(&fill<unsigned long long>); }

constexpr std::size_t kOtherBytes = 1000;  // stands for the workspace and per-row results

int check(std::int64_t m, std::int64_t m2, std::int64_t n, std::int64_t budget, bool normalize, bool file) {
  std::vector<float> A(static_cast<std::size_t>(m * n)), B(static_cast<std::size_t>(m2 * n));
  std::mt19937 rng(static_cast<unsigned>(m * 7 + m2));
  for (float& v : A) v = static_cast<float>(rng() % 5 + 1);
  for (float& v : B) v = static_cast<float>(rng() % 5 + 1);
  const std::string path = "pass_rows_check.f32";
  if (file) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(A.data(), sizeof(float), A.size(), f);
    std::fclose(f);
  }
  const RowSource<float> a = file ? RowSource<float>(FileRegion{path, 0, StoredType::f32, m, n, false}, "W")
                                  : RowSource<float>(A.data(), m, n, "W");
  const RowSource<float> b(B.data(), m2, n, "B");
  InterferenceOptions opt;
  opt.normalize = normalize;
  opt.device_bytes = budget;
  CudaStream stream;
  PassRows<float> rows(a, m2 > 0 ? &b : nullptr, opt, kOtherBytes, false, stream.get());
  int bad = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> seen;
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(rows.tiles().size()); ++t) {
    const PlannedTile& tile = rows.tiles()[static_cast<std::size_t>(t)];
    const auto [x, y] = rows.rows_for(t);
    const float* want_x = A.data() + tile.I * kTile * n;
    const float* want_y = (m2 > 0 ? B.data() : A.data()) + tile.J * kTile * n;
    const std::size_t x_bytes = static_cast<std::size_t>(std::min(kTile, m - tile.I * kTile) * n) * sizeof(float);
    const std::size_t y_bytes =
        static_cast<std::size_t>(std::min(kTile, (m2 > 0 ? m2 : m) - tile.J * kTile) * n) * sizeof(float);
    if (std::memcmp(x, want_x, x_bytes) != 0 || std::memcmp(y, want_y, y_bytes) != 0) ++bad;
    rows.overlap(t);  // the copies issued while tile t runs
    if (std::memcmp(x, want_x, x_bytes) != 0 || std::memcmp(y, want_y, y_bytes) != 0) ++bad;
    seen.emplace_back(tile.I, tile.J);
  }
  std::sort(seen.begin(), seen.end());
  const std::int64_t ba = (m + kTile - 1) / kTile, bb = (m2 + kTile - 1) / kTile;
  const bool once = std::adjacent_find(seen.begin(), seen.end()) == seen.end();
  if (!once || static_cast<std::int64_t>(seen.size()) != (m2 > 0 ? ba * bb : ba * (ba + 1) / 2)) ++bad;
  std::printf("m %lld, m2 %lld, n %lld, budget %lld, %s: %zu tiles, %s, %d wrong\n", static_cast<long long>(m),
              static_cast<long long>(m2), static_cast<long long>(n), static_cast<long long>(budget),
              file ? "file" : "array", seen.size(), rows.a_all() ? "resident" : "superblocks", bad);
  if (file) std::remove(path.c_str());
  return bad;
}

int main() {
  const std::int64_t n = 3, row = n * static_cast<std::int64_t>(sizeof(float)), block = kTile * row;
  const std::int64_t other = static_cast<std::int64_t>(kOtherBytes);
  int bad = 0;
  for (bool file : {false, true}) {
    bad += check(7, 0, n, 0, true, file);
    bad += check(4101, 0, n, 0, false, file);
    bad += check(5, 4099, n, 0, true, file);
    bad += check(4 * kTile + 5, 0, n, other + 3 * block, true, file);   // superblocks of 1 block
    bad += check(4 * kTile + 5, 0, n, other + 4 * block, false, file);  // of 2
    bad += check(2 * kTile + 3, 2 * kTile + 9, n, other + 3 * block, true, file);     // B through the ring
    bad += check(2 * kTile + 3, 100, n, other + block + 100 * row, false, file);     // B resident
    bad += check(3 * kTile + 1, 3 * kTile + 2, n, other + 5 * block, true, file);
  }
  bad += check(10, 0, 300000, 0, true, false);  // staging pieces of 3 rows
  bad += check(3, 0, 2000000, 0, true, true);   // a row longer than a staging piece
  try {
    check(4 * kTile + 5, 0, n, other + 2 * block, true, false);
    ++bad;
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).find("memory must be at least " + std::to_string(other + 3 * block)) != 0) ++bad;
  }
  std::printf("%s\n", bad == 0 ? "pass_rows_check: ok" : "pass_rows_check: FAILED");
  return bad == 0 ? 0 : 1;
}
