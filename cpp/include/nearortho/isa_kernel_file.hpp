// Included first by every kernel file compiled once per ISA (cpp/src/isa/*.cpp):
// CMake names the copy's namespace, nearortho::<isa>, through NEARORTHO_ISA.
#pragma once

#ifndef NEARORTHO_ISA
#error "compile this file with -DNEARORTHO_ISA=<isa> (it is listed in NEARORTHO_ISA_KERNELS)"
#endif
