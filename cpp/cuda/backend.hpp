// The CUDA backend (module nearortho._cuda): the same functions, arguments and
// results as the CPU core's frame.hpp and interference.hpp, computed on the
// current CUDA device. Plain C++ (no CUDA types), so the pybind11 binding is
// compiled by the host compiler. Tests: tests/test_cuda.py.
#pragma once
#include <cstdint>
#include <functional>

#include "nearortho/frame.hpp"
#include "nearortho/gradient.hpp"
#include "nearortho/interference.hpp"
#include "nearortho/simulate.hpp"

namespace nearortho::cuda {

// Devices the runtime sees; 0 when there is no device or no driver (never throws).
int device_count();

// Rows [row_begin, row_end) of the frame into host memory `out`, bit for bit the
// CPU's rows: kinds sign and sparse on the device (threads and interrupted unused:
// one short launch), the other kinds by the CPU core (so backend="auto" may pick
// this function for any kind).
template <class T>
bool generate_frame(const FrameSpec& spec, std::int64_t row_begin, std::int64_t row_end, T* out,
                    int threads, const std::function<bool()>& interrupted);

// The interference pass of interference.hpp with Gram tiles from cuBLAS. Every
// option and result as on the CPU, except that the collected values and pairs
// come in no set order; options.block_rows is unused: rows in host memory
// (arrays, or file regions read with pread) are streamed to the device within
// options.device_bytes (pass_rows.cuh), rows in GPU memory copied whole (the
// other side then must not be a file); options.threads reads the host rows'
// norms when normalize is false.
template <class T>
InterferenceTotals interference(const RowSource<T>& a, const RowSource<T>* b, const InterferenceOptions& options,
                                const InterferenceRows& rows, const InterferenceRows& cols);

// The surrogate gradient of gradient.hpp: the same options, checks and totals;
// w and grad in host memory, uploaded and read back whole; options.threads unused.
// F and the best pair come from Gram entries summed in cuBLAS's order (so they
// match the CPU's to rounding, not bit for bit).
template <class T>
SurrogateTotals surrogate_gradient(const T* w, std::int64_t m, std::int64_t n, const SurrogateOptions& options,
                                   T* grad);

// The readout Monte Carlo of simulate.hpp: the same checks, trials and totals;
// every readout by the dense path (path and threads unused), W uploaded once per
// call. Sums and counts match the CPU's to rounding (exactly when the readouts
// are exact); interrupted is polled between readout tiles.
template <class T>
ReadoutTotals simulate_readout(const FrameView<T>& W, const ActivationSpec& spec,
                               const ExplicitActivations* explicit_activations, std::int64_t trial_begin,
                               std::int64_t trial_end, const ReadoutSpec& readout, ReadoutPath path, int threads,
                               const std::function<bool()>& interrupted);

}  // namespace nearortho::cuda
