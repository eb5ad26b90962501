// kernel_clones.h — how the optimized CPU kernels get wider vectors without a -march flag.
//
// PX_CLONES compiles a function twice on x86-64 with GCC, for AVX2 and for the baseline (SSE2),
// and the loader picks one at startup (an ifunc). The committed build stays portable x86-64; the
// wider vectors are used where the CPU has them. Both clones compute the same bytes. Clang and the
// sanitizer builds get the baseline only.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define PX_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PX_CLONES
#endif
