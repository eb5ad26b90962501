// kernel_clones.h — how the optimized CPU kernels get wider vectors without a -march flag.
//
// PX_CLONES compiles a function twice on x86-64 with GCC, for AVX2 and for the baseline (SSE2),
// and the loader picks one at startup (an ifunc). The committed build stays portable x86-64; the
// wider vectors are used where the CPU has them. Both clones compute the same bytes. Clang and the
// sanitizer builds get the baseline only.
//
// Kernels written with intrinsics for one instruction set (PX_X86_KERNELS) mark themselves
// PX_AVX2_TARGET and run only where cpu_has_avx2() says so; the caller keeps a portable path.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define PX_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PX_CLONES
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PX_X86_KERNELS 1
// avx2 only, never "fma": float products and sums must stay separately rounded operations.
#define PX_AVX2_TARGET __attribute__((target("avx2")))
// AVX-512 Foundation alone (every AVX-512 CPU has it), for kernels run where cpu_has_avx512f().
#define PX_AVX512F_TARGET __attribute__((target("avx512f")))
#else
#define PX_X86_KERNELS 0
#endif

namespace px {
// True when this CPU (and OS) runs PX_AVX2_TARGET code; false where there is none.
inline bool cpu_has_avx2() {
#if PX_X86_KERNELS
    static const bool ok = __builtin_cpu_supports("avx2");
    return ok;
#else
    return false;
#endif
}
// True when this CPU (and OS) runs PX_AVX512F_TARGET code.
inline bool cpu_has_avx512f() {
#if PX_X86_KERNELS
    static const bool ok = __builtin_cpu_supports("avx512f");
    return ok;
#else
    return false;
#endif
}
} // namespace px
