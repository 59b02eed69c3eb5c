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
