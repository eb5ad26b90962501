// cpu_gemm.h — the exact integer product behind MATMUL, QMATMUL and QMATMUL32, on contiguous
// uint8 operands (the optimized CPU executor gathers them out of the pixel layout first).
//
//   acc[m*N + n] = sum over k of (a[m*K + k] - za) * (b[k*N + n] - zb)   modulo 2^32
//
// which is the reference's accumulator bit for bit (PROTOCOL.md §5.4, §5.5). Three kernels compute
// it (and a fourth, without packing, for at most 4 rows of A): on CPUs with AVX-512 VNNI, VPDPBUSD (64
// uint8 x int8 multiply-adds per instruction) on b - 128 as int8, with the difference folded back
// exactly (see cpu_gemm.cpp), with 16 columns of C in each vector's lanes: blocks of 6 rows by
// 64 columns for a batch, one 16-column panel at a time for at most 4 rows of A (a decode step's); with AVX2,
// int16 pairs multiplied and summed into int32 (VPMADDWD, 16 per instruction) in 4 x 16 register tiles;
// elsewhere the same int16 pairs in loops the compiler vectorizes. All are exact, so every kernel and thread
// count gives the same integers. Separate from the executor so `pxi bench` can time the arithmetic without
// the pixel gather. No state of its own: packed operands live in the caller's GemmWorkspace / GemmPackedB,
// threads in the caller's ThreadPool.
#pragma once
#include "huge_pages.h"
#include "parallel.h"

#include <cstddef>
#include <cstdint>
#include <vector>

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
    Avx2,     // the same int16 pairs, 4 x 16 tiles in AVX2 registers; Portable where the CPU lacks AVX2
    Vnni,     // AVX-512 VNNI VPDPBUSD; falls back to Avx2, then Portable, where the CPU lacks it
};

// B packed once for a kernel, reusable with any A of K columns (the fast executor keeps one per
// weight matrix: see cpu_fast.cpp for when it is reused). Holds zb: the product's fold uses it.
struct GemmPackedB {
    GemmKernel kernel = GemmKernel::Auto; // Vnni, Avx2 or Portable once packed
    uint32_t K = 0, N = 0;
    int32_t zb = 0;
    // Storage from the caller's KeepArena where it gives one (use_arena), else the heap.
    ArenaVector<int8_t> b8;       // Vnni: panels of 16 columns, [K/4][16][4] bytes of b - 128
    ArenaVector<uint32_t> colsum; // Vnni: sum over k of b, per column (0 past N)
    ArenaVector<int16_t> bt16;    // Portable: B^T less zb, rows padded with zeros
    ArenaVector<int16_t> bp16;    // Avx2: panels of 16 columns, [K/2][16][2] int16 of b - zb, from
    uint32_t bp16_offset = 0;     //   bp16[bp16_offset] on (the first 32-byte boundary)
    size_t bytes() const {
        return b8.capacity() + colsum.capacity() * 4 + bt16.capacity() * 2 + bp16.capacity() * 2;
    }
    // Empty, its storage from now on taken from `arena` (which must outlive it).
    void use_arena(KeepArena* arena) {
        px::use_arena(b8, arena), px::use_arena(colsum, arena);
        px::use_arena(bt16, arena), px::use_arena(bp16, arena);
    }
};

// The packed A and the fold's row terms, kept by the caller from one call to the next (fresh
// multi-megabyte vectors would be page-faulted in on every step), and B for gemm_u8's own calls.
struct GemmWorkspace {
    std::vector<uint8_t> a8;
    std::vector<uint32_t> rowsum;
    std::vector<int16_t> a16;
    GemmPackedB b;
    size_t bytes() const { return a8.capacity() + rowsum.capacity() * 4 + a16.capacity() * 2 + b.bytes(); }
};

// True when this CPU (and OS) can run the VNNI kernel.
bool gemm_vnni_available();
// The kernel Auto picks on this CPU, in words (for reports).
const char* gemm_kernel_name(GemmKernel kernel = GemmKernel::Auto);

// acc must hold M*N words. Runs on up to `threads` threads (column panels), from `pool` when
// given; the result does not depend on the thread count or the kernel.
void gemm_u8(const GemmU8& g, unsigned threads, uint32_t* acc, GemmWorkspace& ws, ThreadPool* pool = nullptr,
             GemmKernel kernel = GemmKernel::Auto);
// The same with a fresh workspace and no pool (tests, one-off calls).
void gemm_u8(const GemmU8& g, unsigned threads, uint32_t* acc, GemmKernel kernel = GemmKernel::Auto);

// The two halves of gemm_u8 for a B used many times: pack it (kernel Auto, Vnni or Portable; Rows
// packs nothing and is taken as Auto), then multiply any A of M x K by it.
void gemm_pack_b(const uint8_t* b, uint32_t K, uint32_t N, int32_t zb, GemmKernel kernel, unsigned threads,
                 ThreadPool* pool, GemmPackedB& out);
void gemm_u8_packed(const uint8_t* a, uint32_t M, int32_t za, const GemmPackedB& b, unsigned threads,
                    uint32_t* acc, GemmWorkspace& ws, ThreadPool* pool = nullptr);

} // namespace px
