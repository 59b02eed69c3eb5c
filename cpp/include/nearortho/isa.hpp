// Run-time choice of the instruction set the kernels use. Tested by forcing each
// level in turn (tests/test_frame.py, tests/test_interference.py).
#pragma once

namespace nearortho {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
Isa isa_from_name(const char* name);  // throws std::invalid_argument
Isa detected_isa();                   // best level this CPU and this build support
Isa active_isa();                     // detected, capped by NEARORTHO_MAX_ISA or set_isa_cap
Isa set_isa_cap(Isa cap);             // returns the previous cap

}  // namespace nearortho

// Kernel tables: a kernel file compiled once per ISA defines a table of function
// pointers `const Table name` in nearortho::<isa>. NEARORTHO_KERNEL_TABLE(Table,
// name, accessor) declares those tables and defines `const Table& accessor(Isa)`,
// which returns the table of the given level, falling back to lower built ones.
#ifdef NEARORTHO_HAVE_AVX2
#define NEARORTHO_IF_AVX2(x) (x)
#else
#define NEARORTHO_IF_AVX2(x) nullptr
#endif
#ifdef NEARORTHO_HAVE_AVX512
#define NEARORTHO_IF_AVX512(x) (x)
#else
#define NEARORTHO_IF_AVX512(x) nullptr
#endif

namespace nearortho {

template <class Table>
const Table& pick_kernel_table(Isa isa, const Table& scalar, const Table* avx2, const Table* avx512) {
  if (isa == Isa::avx512 && avx512 != nullptr) return *avx512;
  if (isa != Isa::scalar && avx2 != nullptr) return *avx2;
  return scalar;
}

}  // namespace nearortho

#define NEARORTHO_KERNEL_TABLE(Table, name, accessor)                                       \
  namespace scalar { extern const Table name; }                                             \
  namespace avx2 { extern const Table name; }                                               \
  namespace avx512 { extern const Table name; }                                             \
  const Table& accessor(Isa isa) {                                                          \
    return pick_kernel_table<Table>(isa, scalar::name, NEARORTHO_IF_AVX2(&avx2::name),      \
                                    NEARORTHO_IF_AVX512(&avx512::name));                    \
  }
