// CPU feature detection and the ISA cap used for dispatch and for testing each
// kernel level in turn.
#include "nearortho/isa.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace nearortho {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

Isa isa_from_name(const char* name) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (std::strcmp(name, isa_name(isa)) == 0) return isa;
  throw std::invalid_argument(std::string("isa must be 'scalar', 'avx2' or 'avx512', got '") +
                              name + "'");
}

Isa detected_isa() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
#if defined(NEARORTHO_HAVE_AVX512)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return Isa::avx512;
#endif
#if defined(NEARORTHO_HAVE_AVX2)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi2"))
    return Isa::avx2;
#endif
#endif
  return Isa::scalar;
}

namespace {

Isa cap_from_environment() {
  const char* env = std::getenv("NEARORTHO_MAX_ISA");
  if (env == nullptr || *env == '\0') return Isa::avx512;
  try {
    return isa_from_name(env);
  } catch (const std::invalid_argument& error) {  // name the variable: no argument was passed
    throw std::invalid_argument(std::string("environment variable NEARORTHO_MAX_ISA: ") + error.what());
  }
}

std::atomic<int>& isa_cap() {
  static std::atomic<int> cap{static_cast<int>(cap_from_environment())};
  return cap;
}

}  // namespace

Isa active_isa() {
  const int detected = static_cast<int>(detected_isa());
  const int cap = isa_cap().load();
  return static_cast<Isa>(detected < cap ? detected : cap);
}

Isa set_isa_cap(Isa cap) { return static_cast<Isa>(isa_cap().exchange(static_cast<int>(cap))); }

}  // namespace nearortho
