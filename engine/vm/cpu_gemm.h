// cpu_gemm.h — the exact integer product behind MATMUL, QMATMUL and QMATMUL32, on contiguous
// uint8 operands (the optimized CPU executor gathers them out of the pixel layout first).
//
//   acc[m*N + n] = sum over k of (a[m*K + k] - za) * (b[k*N + n] - zb)   modulo 2^32
//
// which is the reference's accumulator bit for bit (PROTOCOL.md §5.4, §5.5). Two kernels compute
// it (and a third, without packing, for at most 4 rows of A): on CPUs with AVX-512 VNNI, VPDPBUSD (64 uint8 x
// int8 multiply-adds per instruction) on b - 128 as int8, with the difference folded back exactly (see
// cpu_gemm.cpp); elsewhere int16 pairs multiplied and summed into int32 (PMADDWD, 16 per AVX2 instruction),
// which the compiler vectorizes. Both are exact, so every kernel and thread count gives the same integers.
// Separate from the executor so `pxi bench` can time the arithmetic without the pixel gather.
#pragma once
#include <cstdint>

namespace px {

struct GemmU8 {
    const uint8_t* a = nullptr; // M x K, row-major
    const uint8_t* b = nullptr; // K x N, row-major
    uint32_t M = 0, K = 0, N = 0;
    int32_t za = 0, zb = 0; // zero points, 0..255
};

enum class GemmKernel {
    Auto,     // the fastest this CPU has; at most 4 rows of A: Rows
    Rows,     // no packing: rows of B scaled and added (for matrix-vector products)
    Portable, // int16 pairs into int32 (compiler-vectorized; PMADDWD on x86-64)
    Vnni,     // AVX-512 VNNI VPDPBUSD; falls back to Portable where the CPU lacks it
};

// True when this CPU (and OS) can run the VNNI kernel.
bool gemm_vnni_available();
// The kernel Auto picks on this CPU, in words (for reports).
const char* gemm_kernel_name(GemmKernel kernel = GemmKernel::Auto);

// acc must hold M*N words. Runs on up to `threads` threads (column panels); the result does not
// depend on the thread count or the kernel.
void gemm_u8(const GemmU8& g, unsigned threads, uint32_t* acc, GemmKernel kernel = GemmKernel::Auto);

} // namespace px
