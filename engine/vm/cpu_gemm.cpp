#include "cpu_gemm.h"
#include "huge_pages.h"
#include "kernel_clones.h"
#include "parallel.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <system_error>
#include <thread>
#include <vector>

#if PX_X86_KERNELS
#include <immintrin.h>
#endif

namespace px {
namespace {

// ---- portable: int16 pairs summed into int32 --------------------------------------------------

// Partial sums over at most this many k are int32: 16384 * 255 * 255 < 2^31, so they never
// overflow; chunks are then added as uint32 (modulo 2^32, like the reference).
constexpr uint32_t kChunkK = 16384;
// Packed rows are padded with zeros to a multiple of 16 int16 (one 256-bit vector).
constexpr uint32_t kPadK = 16;
// Columns of B^T kept hot per block: 32 columns x 1024 k x 2 bytes = 64 KiB, reused by every row.
constexpr uint32_t kBlockN = 32;

// Dot products of 2 rows of A with 2 columns of B (rows of B^T), len a multiple of kPadK and at
// most kChunkK. int16 products summed in int32: the PMADDWD pattern.
PX_CLONES void dot_2x2(const int16_t* __restrict a0, const int16_t* __restrict a1,
                       const int16_t* __restrict b0, const int16_t* __restrict b1, uint32_t len,
                       int32_t* __restrict out) {
    int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
    for (uint32_t k = 0; k < len; ++k) {
        const int32_t x0 = a0[k], x1 = a1[k], y0 = b0[k], y1 = b1[k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
    }
    out[0] = s00, out[1] = s01, out[2] = s10, out[3] = s11;
}

PX_CLONES int32_t dot_1x1(const int16_t* __restrict a, const int16_t* __restrict b, uint32_t len) {
    int32_t s = 0;
    for (uint32_t k = 0; k < len; ++k)
        s += int32_t(a[k]) * int32_t(b[k]);
    return s;
}

// A less za as int16, row-major, rows of Kp (>= K) with zeros past K: the operand both int16
// kernels read.
void widen_rows(const uint8_t* a, uint32_t M, uint32_t K, int32_t za, uint32_t Kp,
                std::vector<int16_t>& out) {
    out.resize(size_t(M) * Kp);
    for (uint32_t m = 0; m < M; ++m) {
        int16_t* dst = &out[size_t(m) * Kp];
        for (uint32_t k = 0; k < K; ++k)
            dst[k] = int16_t(int32_t(a[size_t(m) * K + k]) - za);
        std::fill(dst + K, dst + Kp, int16_t(0));
    }
}

// B^T less zb as int16, rows padded with zeros to Kp, transposed 16 x 16 at a time; threads take
// ranges of k (each writes its own columns of B^T).
void portable_pack_b(const uint8_t* b, uint32_t K, uint32_t N, int32_t zb, unsigned threads, ThreadPool* pool,
                     GemmPackedB& out) {
    const uint32_t Kp = (K + kPadK - 1) / kPadK * kPadK;
    const size_t elements = size_t(N) * Kp;
    reserve_huge(out.bt16, elements);
    out.bt16.assign(elements, 0); // the padding must be zero
    int16_t* bt = out.bt16.data();
    parallel_ranges(pool, threads, K, [&](uint32_t k0, uint32_t k1) {
        constexpr uint32_t T = 16;
        for (uint32_t kt = k0; kt < k1; kt += T)
            for (uint32_t nt = 0; nt < N; nt += T) {
                const uint32_t ke = std::min(k1, kt + T), ne = std::min(N, nt + T);
                for (uint32_t n = nt; n < ne; ++n)
                    for (uint32_t k = kt; k < ke; ++k)
                        bt[size_t(n) * Kp + k] = int16_t(int32_t(b[size_t(k) * N + n]) - zb);
            }
    });
}

void portable_product(const uint8_t* a, uint32_t M, int32_t za, const GemmPackedB& pb, unsigned threads,
                      uint32_t* acc, GemmWorkspace& ws, ThreadPool* pool) {
    const uint32_t K = pb.K, N = pb.N;
    const uint32_t Kp = (K + kPadK - 1) / kPadK * kPadK;
    widen_rows(a, M, K, za, Kp, ws.a16);
    const int16_t* bt = pb.bt16.data();
    std::fill(acc, acc + size_t(M) * N, 0u);
    const int16_t* ap = ws.a16.data();
    const uint32_t blocks = (N + kBlockN - 1) / kBlockN;
    parallel_ranges(pool, threads, blocks, [&](uint32_t blk0, uint32_t blk1) {
        for (uint32_t blk = blk0; blk < blk1; ++blk) {
            const uint32_t n0 = blk * kBlockN, n1 = std::min(N, n0 + kBlockN);
            for (uint32_t kc = 0; kc < Kp; kc += kChunkK) {
                const uint32_t len = std::min(kChunkK, Kp - kc);
                for (uint32_t m = 0; m < M; m += 2) {
                    const int16_t* a0 = &ap[size_t(m) * Kp + kc];
                    uint32_t* c0 = &acc[size_t(m) * N];
                    if (m + 1 < M) {
                        const int16_t* a1 = a0 + Kp;
                        uint32_t* c1 = c0 + N;
                        uint32_t n = n0;
                        for (; n + 1 < n1; n += 2) {
                            int32_t out[4];
                            const int16_t* b0 = &bt[size_t(n) * Kp + kc];
                            dot_2x2(a0, a1, b0, b0 + Kp, len, out);
                            c0[n] += uint32_t(out[0]), c0[n + 1] += uint32_t(out[1]);
                            c1[n] += uint32_t(out[2]), c1[n + 1] += uint32_t(out[3]);
                        }
                        if (n < n1) {
                            const int16_t* b0 = &bt[size_t(n) * Kp + kc];
                            c0[n] += uint32_t(dot_1x1(a0, b0, len));
                            c1[n] += uint32_t(dot_1x1(a1, b0, len));
                        }
                    } else {
                        for (uint32_t n = n0; n < n1; ++n)
                            c0[n] += uint32_t(dot_1x1(a0, &bt[size_t(n) * Kp + kc], len));
                    }
                }
            }
        }
    });
}

// ---- AVX2: VPMADDWD on int16 pairs, register-blocked ------------------------------------------
//
// The same exact arithmetic as the portable kernel (a - za and b - zb widened to int16, pairs of
// products summed into int32 by VPMADDWD, 16 multiply-adds an instruction, then VPADDD, which
// wraps modulo 2^32 like the reference), with the data laid out so each loaded value is used many
// times: the portable kernel's 2 x 2 dot products load one vector per VPMADDWD and reach 0.42 of
// the instruction's peak (measured). Here a 4 x 16 tile of C lives in 8 ymm accumulators; per pair
// of k, two 32-byte loads of B (16 columns, each lane the column's two int16) and four 4-byte
// broadcasts of A (each row's two int16) feed 8 VPMADDWD. Measured on Zen 3 (2 cores, 256 x 1024
// @ 1024 x 1024): 4 x 16 tiles run at 0.85 of the VPMADDWD peak; 5 x 16 at 0.73 and 6 x 16 at
// 0.63, because GCC 12 spills their accumulators (each VPMADDWD needs a register for its product
// before VPADDD, so 6 x 16 needs all 16 ymm and 5 x 16 needs 14).
//
// Layout: K padded to an even Kh * 2 with zeros. B in panels of 16 columns, [Kh][16 columns][2 k]
// int16 of b - zb (columns past N are zero); A stays row-major int16 (ws.a16, rows of Kp). The
// threads split the panels of B. Each thread takes k in chunks of kAvx2ChunkPairs pairs (a panel's
// chunk is 16 KiB, kept in L1 while a block of rows passes it) and rows in blocks of
// kAvx2BlockRows (a block's chunk of A, 96 KiB, stays in L2 while the thread's panels pass it).
constexpr uint32_t kAvx2Cols = 16, kAvx2Rows = 4, kAvx2ChunkPairs = 256, kAvx2BlockRows = 96;

#if PX_X86_KERNELS

// Pair q of a row of A (its int16 at 2q and 2q + 1) in every 32-bit lane.
PX_AVX2_TARGET inline __m256i pair_at(const int16_t* row, uint32_t q) {
    int32_t pair;
    std::memcpy(&pair, row + size_t(q) * 2, 4);
    return _mm256_set1_epi32(pair);
}

// 16 sums into a row of C: stored, or added to what it holds.
PX_AVX2_TARGET inline void store_row(uint32_t* c, __m256i lo, __m256i hi, bool accumulate) {
    __m256i* row = reinterpret_cast<__m256i*>(c);
    if (accumulate) {
        lo = _mm256_add_epi32(lo, _mm256_loadu_si256(row));
        hi = _mm256_add_epi32(hi, _mm256_loadu_si256(row + 1));
    }
    _mm256_storeu_si256(row, lo);
    _mm256_storeu_si256(row + 1, hi);
}

// One row's step of a tile: its pair q times the 16 columns' pairs (b0: columns 0..7, b1: 8..15),
// added to the row's two accumulators.
PX_AVX2_TARGET inline void madd_pair(__m256i& lo, __m256i& hi, const int16_t* row, uint32_t q, __m256i b0,
                                     __m256i b1) {
    const __m256i av = pair_at(row, q);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(av, b0));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(av, b1));
}

// C[r][0..15] (+)= sum over pairs q in [0, pairs) of A row r's pair q times B's pair q, for the
// MR (1 to 4) rows at a (row stride lda int16) and the panel chunk at b (32-byte aligned), into
// the MR rows of 16 at c (row stride ldc). Named accumulators rather than an array: GCC 12 keeps
// an array of vectors on the stack here, a load and a store per multiply-add.
template <int MR>
PX_AVX2_TARGET inline void avx2_tile(const int16_t* __restrict a, size_t lda, const int16_t* __restrict b,
                                     uint32_t pairs, bool accumulate, uint32_t* __restrict c, size_t ldc) {
    static_assert(MR >= 1 && MR <= 4);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const int16_t* a1 = a + lda * (MR > 1);
    const int16_t* a2 = a + 2 * lda * (MR > 2);
    const int16_t* a3 = a + 3 * lda * (MR > 3);
    for (uint32_t q = 0; q < pairs; ++q) {
        const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + size_t(q) * 32));
        const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + size_t(q) * 32 + 16));
        madd_pair(c00, c01, a, q, b0, b1);
        if constexpr (MR > 1) madd_pair(c10, c11, a1, q, b0, b1);
        if constexpr (MR > 2) madd_pair(c20, c21, a2, q, b0, b1);
        if constexpr (MR > 3) madd_pair(c30, c31, a3, q, b0, b1);
    }
    store_row(c, c00, c01, accumulate);
    if constexpr (MR > 1) store_row(c + ldc, c10, c11, accumulate);
    if constexpr (MR > 2) store_row(c + 2 * ldc, c20, c21, accumulate);
    if constexpr (MR > 3) store_row(c + 3 * ldc, c30, c31, accumulate);
}

// Rows [m0, m0 + rows) (rows <= 4) of one panel chunk, dispatched to the tile of that height.
PX_AVX2_TARGET void avx2_rows(uint32_t rows, const int16_t* a, size_t lda, const int16_t* b, uint32_t pairs,
                              bool accumulate, uint32_t* c, size_t ldc) {
    switch (rows) {
    case 4: avx2_tile<4>(a, lda, b, pairs, accumulate, c, ldc); break;
    case 3: avx2_tile<3>(a, lda, b, pairs, accumulate, c, ldc); break;
    case 2: avx2_tile<2>(a, lda, b, pairs, accumulate, c, ldc); break;
    default: avx2_tile<1>(a, lda, b, pairs, accumulate, c, ldc); break;
    }
}

// Two rows of 16 bytes of B (k and k + 1, columns n0..n0 + 15) into one pair group of a panel:
// 16 lanes of (b[k] - zb, b[k + 1] - zb) as int16.
PX_AVX2_TARGET inline void avx2_pack_pair(const uint8_t* r0, const uint8_t* r1, __m128i zb, int16_t* dst) {
    const __m128i z = _mm_setzero_si128();
    const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0));
    const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1));
    const __m128i lo0 = _mm_sub_epi16(_mm_unpacklo_epi8(x0, z), zb),
                  hi0 = _mm_sub_epi16(_mm_unpackhi_epi8(x0, z), zb);
    const __m128i lo1 = _mm_sub_epi16(_mm_unpacklo_epi8(x1, z), zb),
                  hi1 = _mm_sub_epi16(_mm_unpackhi_epi8(x1, z), zb);
    __m128i* d = reinterpret_cast<__m128i*>(dst);
    _mm_store_si128(d, _mm_unpacklo_epi16(lo0, lo1));     // columns 0..3
    _mm_store_si128(d + 1, _mm_unpackhi_epi16(lo0, lo1)); // 4..7
    _mm_store_si128(d + 2, _mm_unpacklo_epi16(hi0, hi1)); // 8..11
    _mm_store_si128(d + 3, _mm_unpackhi_epi16(hi0, hi1)); // 12..15
}

PX_AVX2_TARGET void avx2_pack_b(const uint8_t* b, uint32_t K, uint32_t N, int32_t zb, unsigned threads,
                                ThreadPool* pool, GemmPackedB& out) {
    const uint32_t Kh = (K + 1) / 2, npanels = (N + kAvx2Cols - 1) / kAvx2Cols;
    // 32-byte aligned panels: the tile loads them with aligned loads. The vector is over-allocated
    // by one vector so the panels can start at the first 32-byte boundary inside it.
    const size_t elements = size_t(npanels) * Kh * kAvx2Cols * 2 + 16;
    reserve_huge(out.bp16, elements);
    out.bp16.assign(elements, 0); // past K and N: zero
    out.bp16_offset = uint32_t((32 - reinterpret_cast<uintptr_t>(out.bp16.data()) % 32) % 32 / 2);
    int16_t* bp = out.bp16.data() + out.bp16_offset;
    const __m128i zb16 = _mm_set1_epi16(int16_t(zb));
    parallel_ranges(pool, threads, npanels, [&](uint32_t p0, uint32_t p1) {
        for (uint32_t p = p0; p < p1; ++p) {
            const uint32_t n0 = p * kAvx2Cols, cols = std::min(kAvx2Cols, N - n0);
            int16_t* dst = bp + size_t(p) * Kh * kAvx2Cols * 2;
            uint32_t k = 0;
            if (cols == kAvx2Cols) // whole pairs of whole rows of 16
                for (; k + 2 <= K; k += 2)
                    avx2_pack_pair(b + size_t(k) * N + n0, b + size_t(k + 1) * N + n0, zb16,
                                   dst + size_t(k / 2) * kAvx2Cols * 2);
            for (; k < K; ++k) { // the last panel's narrower rows, or an odd K's last row
                const uint8_t* src = b + size_t(k) * N + n0;
                int16_t* d = dst + size_t(k / 2) * kAvx2Cols * 2 + k % 2;
                for (uint32_t j = 0; j < cols; ++j)
                    d[2 * j] = int16_t(int32_t(src[j]) - zb);
            }
        }
    });
}

void avx2_product(const uint8_t* a, uint32_t M, int32_t za, const GemmPackedB& pb, unsigned threads,
                  uint32_t* acc, GemmWorkspace& ws, ThreadPool* pool) {
    const uint32_t K = pb.K, N = pb.N, Kh = (K + 1) / 2, Kp = Kh * 2;
    const uint32_t npanels = (N + kAvx2Cols - 1) / kAvx2Cols;
    widen_rows(a, M, K, za, Kp, ws.a16);
    const int16_t* ap = ws.a16.data();
    const int16_t* bp = pb.bp16.data() + pb.bp16_offset;
    parallel_ranges(pool, threads, npanels, [&](uint32_t p0, uint32_t p1) {
        alignas(32) uint32_t tile[kAvx2Rows * kAvx2Cols];
        for (uint32_t q0 = 0; q0 < Kh; q0 += kAvx2ChunkPairs) {
            const uint32_t pairs = std::min(kAvx2ChunkPairs, Kh - q0);
            const bool accumulate = q0 > 0; // the first chunk stores, the others add
            for (uint32_t mb = 0; mb < M; mb += kAvx2BlockRows) {
                const uint32_t mb_end = std::min(M, mb + kAvx2BlockRows);
                for (uint32_t p = p0; p < p1; ++p) {
                    const uint32_t n0 = p * kAvx2Cols, cols = std::min(kAvx2Cols, N - n0);
                    const int16_t* chunk = bp + (size_t(p) * Kh + q0) * kAvx2Cols * 2;
                    for (uint32_t m0 = mb; m0 < mb_end; m0 += kAvx2Rows) {
                        const uint32_t rows = std::min(kAvx2Rows, mb_end - m0);
                        const int16_t* arows = ap + size_t(m0) * Kp + size_t(q0) * 2;
                        uint32_t* c = acc + size_t(m0) * N + n0;
                        if (cols == kAvx2Cols) {
                            avx2_rows(rows, arows, Kp, chunk, pairs, accumulate, c, N);
                            continue;
                        }
                        // The last panel, narrower than 16: through the tile, whole rows of it.
                        for (uint32_t r = 0; r < rows && accumulate; ++r)
                            std::memcpy(tile + r * kAvx2Cols, c + size_t(r) * N, cols * 4);
                        avx2_rows(rows, arows, Kp, chunk, pairs, accumulate, tile, kAvx2Cols);
                        for (uint32_t r = 0; r < rows; ++r)
                            std::memcpy(c + size_t(r) * N, tile + r * kAvx2Cols, cols * 4);
                    }
                }
            }
        }
    });
}
#endif

// ---- few rows: no packing ------------------------------------------------------------------------

// acc[j] += a * b[j] in uint32 (wrapping is exact modulo 2^32).
PX_CLONES void axpy_u8(uint32_t* __restrict acc, uint32_t a, const uint8_t* __restrict b, uint32_t len) {
    for (uint32_t j = 0; j < len; ++j)
        acc[j] += a * b[j];
}

// For at most kRowsMaxM rows of A (matrix-vector products) packing B costs more than it saves:
// every element of B is used M times. Rows of B are added into the M accumulator rows, scaled by
// a - za, and zb * sum_k (a - za) is subtracted at the end; threads take column ranges.
constexpr uint32_t kRowsMaxM = 4;
void gemm_rows(const GemmU8& g, unsigned threads, uint32_t* acc, ThreadPool* pool) {
    const uint32_t M = g.M, K = g.K, N = g.N;
    std::fill(acc, acc + size_t(M) * N, 0u);
    parallel_ranges(pool, threads, N, [&](uint32_t n0, uint32_t n1) {
        for (uint32_t k = 0; k < K; ++k)
            for (uint32_t m = 0; m < M; ++m) {
                const uint32_t av = uint32_t(int32_t(g.a[size_t(m) * K + k]) - g.za);
                if (av != 0) axpy_u8(acc + size_t(m) * N + n0, av, g.b + size_t(k) * N + n0, n1 - n0);
            }
    });
    if (g.zb == 0) return;
    for (uint32_t m = 0; m < M; ++m) {
        uint32_t sum_a = 0;
        for (uint32_t k = 0; k < K; ++k)
            sum_a += uint32_t(int32_t(g.a[size_t(m) * K + k]) - g.za);
        const uint32_t correction = sum_a * uint32_t(g.zb);
        for (uint32_t n = 0; n < N; ++n)
            acc[size_t(m) * N + n] -= correction;
    }
}

// ---- AVX-512 VNNI: VPDPBUSD on uint8 x (b - 128) -----------------------------------------------
//
// VPDPBUSD multiplies uint8 by int8, four adjacent pairs summed into each int32 lane, wrapping
// (no saturation). Our operands are both uint8, so B is stored as b' = b - 128 (int8, the byte
// b ^ 0x80) and, modulo 2^32,
//   sum_k (a - za)(b - zb) = sum_k a*b' + (128 - zb) * rowsum(a) - za * colsum(b) + K * za * zb
// where rowsum(a) = sum_k a[m,k] and colsum(b) = sum_k b[k,n]. Every term is an exact integer and
// the sum is taken modulo 2^32 like the reference's, so the result is the reference's bit for bit.
//
// Layout: K padded to Kq (a multiple of 4) with zeros. B in panels of 16 columns, [Kq/4][16
// columns][4 k] int8 (columns past N are zero): one 64-byte vector per 4 k of a panel. A as rows of
// Kq bytes. Every kernel puts C's columns in the lanes: per 4 k, a panel's vector of B (the signed
// operand) and, per row, the row's 4 bytes of A broadcast (the unsigned operand), so C comes out
// as rows, with no transpose. A batch (vnni_block) computes kBlockRows rows by kBlockPanels panels
// at once: per 4 k, 4 loads of B and 6 broadcasts of A feed 24 VPDPBUSD into 24 accumulators, 0.42
// loads an instruction. (A 16 x 16 tile with the rows in the lanes, 16 broadcasts of B and one
// load of A per 16 VPDPBUSD, was bound by its loads at 0.63-0.68 of the VPDPBUSD peak here.)
// B is packed once (gemm_pack_b, which the fast executor keeps per weight matrix), then the
// threads split its panels in groups of kBlockPanels.
constexpr uint32_t kTile = 16;

#if PX_X86_KERNELS
// GCC 12's own _mm512_unpack* headers trip -Wuninitialized (their undefined pass-through operand).
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define PX_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

// Packs columns [n0, n0 + cols) of B (cols <= 16) as one panel: [Kq/4][16 columns][4 k] bytes of
// b ^ 0x80 (b - 128 as int8), zero past K and past cols; colsum[j] = sum over k of b[k, n0 + j]
// (0 past cols). Four rows of 16 bytes are interleaved into one 64-byte group with byte and word
// unpacks; the column sums come from the packed group by VPDPBUSD with 1s (sum of b - 128, plus
// 128 for each real k).
PX_VNNI_TARGET __attribute__((noinline)) void vnni_pack_b(const uint8_t* b, uint32_t N, uint32_t K,
                                                          uint32_t n0, uint32_t cols, int8_t* bp,
                                                          uint32_t* colsum) {
    const __m128i flip = _mm_set1_epi8(char(0x80));
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i sum = _mm512_setzero_si512();
    alignas(16) uint8_t edge[4][16];
    for (uint32_t k = 0; k < K; k += 4) {
        __m128i r[4];
        if (cols == kTile && k + 4 <= K) {
            for (int i = 0; i < 4; ++i)
                r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + size_t(k + i) * N + n0));
        } else { // the last columns or rows: zero b' (the byte 0x80) past them
            std::memset(edge, 0x80, sizeof edge);
            for (uint32_t i = 0; i < 4 && k + i < K; ++i)
                std::memcpy(edge[i], b + size_t(k + i) * N + n0, cols);
            for (int i = 0; i < 4; ++i)
                r[i] = _mm_load_si128(reinterpret_cast<const __m128i*>(edge[i]));
        }
        for (int i = 0; i < 4; ++i)
            r[i] = _mm_xor_si128(r[i], flip);
        const __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpackhi_epi8(r[0], r[1]);
        const __m128i t2 = _mm_unpacklo_epi8(r[2], r[3]), t3 = _mm_unpackhi_epi8(r[2], r[3]);
        __m128i* dst = reinterpret_cast<__m128i*>(bp + size_t(k / 4) * 64);
        const __m128i u0 = _mm_unpacklo_epi16(t0, t2), u1 = _mm_unpackhi_epi16(t0, t2);
        const __m128i u2 = _mm_unpacklo_epi16(t1, t3), u3 = _mm_unpackhi_epi16(t1, t3);
        _mm_storeu_si128(dst, u0);
        _mm_storeu_si128(dst + 1, u1);
        _mm_storeu_si128(dst + 2, u2);
        _mm_storeu_si128(dst + 3, u3);
        sum = _mm512_dpbusd_epi32(sum, ones, _mm512_loadu_si512(dst));
    }
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, sum);
    for (uint32_t j = 0; j < kTile; ++j)
        colsum[j] = j < cols ? uint32_t(lanes[j]) + 128u * K : 0u;
}

// Every panel of B, threads taking ranges of panels.
void vnni_pack_b_all(const uint8_t* b, uint32_t K, uint32_t N, unsigned threads, ThreadPool* pool,
                     GemmPackedB& out) {
    const uint32_t Kq = (K + 3) / 4 * 4, npanels = (N + kTile - 1) / kTile;
    const size_t bytes = size_t(npanels) * Kq * kTile;
    reserve_huge(out.b8, bytes);
    out.b8.resize(bytes);
    out.colsum.resize(size_t(npanels) * kTile);
    int8_t* b8 = out.b8.data();
    uint32_t* colsum = out.colsum.data();
    parallel_ranges(pool, threads, npanels, [&](uint32_t p0, uint32_t p1) {
        for (uint32_t p = p0; p < p1; ++p) {
            const uint32_t n0 = p * kTile;
            vnni_pack_b(b, N, K, n0, std::min(kTile, N - n0), b8 + size_t(p) * Kq * kTile, colsum + n0);
        }
    });
}

// At most kRowsMaxM rows of A (a decode step's matrix-vector products) by one panel of B. The tile
// above would spend its 16 lanes on rows of which one is real; here the lanes are the panel's 16
// columns: per 4 k, one 64-byte load of the panel (the signed operand) and, per row, 4 bytes of A
// broadcast (the unsigned operand), so each packed weight byte is read once and used by every row.
// Four accumulators per row over consecutive quads, summed at the end (wrapping adds: any order is
// exact), so one row is not held to VPDPBUSD's latency. a is R rows of Kq bytes, zero-padded.
template <uint32_t R>
PX_VNNI_TARGET __attribute__((noinline)) void
vnni_rows_panel(const uint8_t* __restrict a, uint32_t Kq, const int8_t* __restrict bp,
                const uint32_t* __restrict row_term, const uint32_t* __restrict col_term, uint32_t cols,
                uint32_t* __restrict c, size_t ldc) {
    constexpr uint32_t kChains = 4;
    __m512i s[R][kChains];
    for (uint32_t r = 0; r < R; ++r)
        for (uint32_t j = 0; j < kChains; ++j)
            s[r][j] = _mm512_setzero_si512();
    const uint32_t quads = Kq / 4;
    uint32_t q = 0;
    for (; q + kChains <= quads; q += kChains)
#pragma GCC unroll 4
        for (uint32_t j = 0; j < kChains; ++j) {
            const __m512i b = _mm512_loadu_si512(bp + size_t(q + j) * 64);
            for (uint32_t r = 0; r < R; ++r) {
                int32_t a4;
                std::memcpy(&a4, a + size_t(r) * Kq + 4 * size_t(q + j), 4);
                s[r][j] = _mm512_dpbusd_epi32(s[r][j], _mm512_set1_epi32(a4), b);
            }
        }
    for (; q < quads; ++q) {
        const __m512i b = _mm512_loadu_si512(bp + size_t(q) * 64);
        for (uint32_t r = 0; r < R; ++r) {
            int32_t a4;
            std::memcpy(&a4, a + size_t(r) * Kq + 4 * size_t(q), 4);
            s[r][0] = _mm512_dpbusd_epi32(s[r][0], _mm512_set1_epi32(a4), b);
        }
    }
    const __m512i ct = _mm512_loadu_si512(col_term);
    const __mmask16 mask = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
    for (uint32_t r = 0; r < R; ++r) {
        const __m512i sum =
            _mm512_add_epi32(_mm512_add_epi32(s[r][0], s[r][1]), _mm512_add_epi32(s[r][2], s[r][3]));
        const __m512i v =
            _mm512_sub_epi32(_mm512_add_epi32(sum, _mm512_set1_epi32(int32_t(row_term[r]))), ct);
        _mm512_mask_storeu_epi32(c + r * ldc, mask, v);
    }
}

// kBlockRows rows of A (a: rows Kq bytes apart, zero-padded) by P panels of B (bp: panels
// panel_bytes apart) into rows [0, rows) of C, columns [0, cols) of the block (ldc apart): per
// 4 k, P loads of B and one broadcast per row, each broadcast used by every panel. Then the
// fold's row term plus, its column term less (cpu_gemm.cpp's top). Wrapping int32 adds: exact.
constexpr uint32_t kBlockRows = 6, kBlockPanels = 4;
template <uint32_t P>
PX_VNNI_TARGET __attribute__((noinline)) void
vnni_block(const uint8_t* __restrict a, uint32_t Kq, const int8_t* __restrict bp, size_t panel_bytes,
           const uint32_t* __restrict row_term, const uint32_t* __restrict col_term, uint32_t rows,
           uint32_t cols, uint32_t* __restrict c, size_t ldc) {
    constexpr uint32_t R = kBlockRows;
    __m512i s[R][P];
#pragma GCC unroll 6
    for (uint32_t r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (uint32_t p = 0; p < P; ++p)
            s[r][p] = _mm512_setzero_si512();
    const uint32_t quads = Kq / 4;
    for (uint32_t q = 0; q < quads; ++q) {
        __m512i b[P];
#pragma GCC unroll 4
        for (uint32_t p = 0; p < P; ++p)
            b[p] = _mm512_loadu_si512(bp + p * panel_bytes + size_t(q) * 64);
#pragma GCC unroll 6
        for (uint32_t r = 0; r < R; ++r) {
            int32_t a4;
            std::memcpy(&a4, a + size_t(r) * Kq + 4 * size_t(q), 4);
            const __m512i av = _mm512_set1_epi32(a4);
#pragma GCC unroll 4
            for (uint32_t p = 0; p < P; ++p)
                s[r][p] = _mm512_dpbusd_epi32(s[r][p], av, b[p]);
        }
    }
    // Whole loops with a test, not loops to `rows`: indexing s at run time would keep it in memory.
#pragma GCC unroll 4
    for (uint32_t p = 0; p < P; ++p) {
        const uint32_t left = cols - std::min(cols, p * kTile);
        const __mmask16 mask = left >= kTile ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
        const __m512i ct = _mm512_loadu_si512(col_term + p * kTile);
#pragma GCC unroll 6
        for (uint32_t r = 0; r < R; ++r)
            if (r < rows) {
                const __m512i v =
                    _mm512_sub_epi32(_mm512_add_epi32(s[r][p], _mm512_set1_epi32(int32_t(row_term[r]))), ct);
                _mm512_mask_storeu_epi32(c + r * ldc + p * kTile, mask, v);
            }
    }
}

// The kernels by their compile-time counts: kRowsPanel[M - 1] for 1 to kRowsMaxM rows,
// kBlock[P - 1] for 1 to kBlockPanels panels.
constexpr decltype(&vnni_rows_panel<1>) kRowsPanel[] = {vnni_rows_panel<1>, vnni_rows_panel<2>,
                                                        vnni_rows_panel<3>, vnni_rows_panel<4>};
static_assert(std::size(kRowsPanel) == kRowsMaxM);
constexpr decltype(&vnni_block<1>) kBlock[] = {vnni_block<1>, vnni_block<2>, vnni_block<3>, vnni_block<4>};
static_assert(std::size(kBlock) == kBlockPanels);

void vnni_product(const uint8_t* a, uint32_t M, int32_t za, const GemmPackedB& pb, unsigned threads,
                  uint32_t* acc, GemmWorkspace& ws, ThreadPool* pool) {
    const uint32_t K = pb.K, N = pb.N;
    const int32_t zb = pb.zb;
    const uint32_t Kq = (K + 3) / 4 * 4;
    const uint32_t npanels = (N + kTile - 1) / kTile;
    // A as rows of Kq bytes, zero-padded past K and, for a batch, to whole blocks of rows (a zero
    // a contributes nothing, whatever b' is; the padding rows are never stored). The fold's row
    // term (128 - zb) * rowsum(a) + K * za * zb.
    const bool rows_path = M <= kRowsMaxM;
    const uint32_t Mp = rows_path ? M : (M + kBlockRows - 1) / kBlockRows * kBlockRows;
    ws.a8.resize(size_t(Mp) * Kq);
    ws.rowsum.assign(Mp, 0);
    // A batch's rows on the threads (a 256 x 1024 A alone on the caller was 3% of the step, with
    // the other thread waiting).
    const uint32_t kzz = K * uint32_t(za) * uint32_t(zb);
    const unsigned prep_threads = uint64_t(M) * K >= kCopyOnThreadsMin ? threads : 1;
    parallel_ranges(pool, prep_threads, Mp, [&](uint32_t m0, uint32_t m1) {
        for (uint32_t m = m0; m < m1; ++m) {
            uint8_t* dst = &ws.a8[size_t(m) * Kq];
            if (m >= M) {
                std::memset(dst, 0, Kq);
                continue;
            }
            const uint8_t* src = a + size_t(m) * K;
            uint32_t sum = 0;
            for (uint32_t k = 0; k < K; ++k)
                sum += src[k];
            ws.rowsum[m] = uint32_t(128 - zb) * sum + kzz;
            std::memcpy(dst, src, K);
            std::memset(dst + K, 0, Kq - K);
        }
    });
    const int8_t* b8 = pb.b8.data();
    const uint32_t* colsum = pb.colsum.data();
    const uint32_t* row_term = ws.rowsum.data();
    const uint8_t* ar = ws.a8.data();
    const size_t panel_bytes = size_t(Kq) * kTile;
    if (rows_path) {
        parallel_ranges(pool, threads, npanels, [&](uint32_t p0, uint32_t p1) {
            alignas(64) uint32_t col_term[kTile];
            for (uint32_t p = p0; p < p1; ++p) {
                const uint32_t n0 = p * kTile, cols = std::min(kTile, N - n0);
                for (uint32_t j = 0; j < kTile; ++j)
                    col_term[j] = uint32_t(za) * colsum[n0 + j];
                kRowsPanel[M - 1](ar, Kq, b8 + p * panel_bytes, row_term, col_term, cols, acc + n0, N);
            }
        });
        return;
    }
    // The threads take groups of kBlockPanels panels; each group's B (64 KiB at K = 1024) is read
    // from L2 by every block of rows while the rows' A streams by.
    const uint32_t groups = (npanels + kBlockPanels - 1) / kBlockPanels;
    parallel_ranges(pool, threads, groups, [&](uint32_t g0, uint32_t g1) {
        alignas(64) uint32_t col_term[kTile * kBlockPanels];
        for (uint32_t g = g0; g < g1; ++g) {
            const uint32_t p0 = g * kBlockPanels, P = std::min(kBlockPanels, npanels - p0);
            const uint32_t n0 = p0 * kTile, cols = N - n0; // the block stores at most P * 16 of them
            for (uint32_t j = 0; j < kTile * P; ++j)       // the fold's column term, za * colsum(b); 0 past N
                col_term[j] = uint32_t(za) * colsum[n0 + j];
            const int8_t* bp = b8 + p0 * panel_bytes;
            for (uint32_t m0 = 0; m0 < M; m0 += kBlockRows) {
                const uint32_t rows = std::min(kBlockRows, M - m0);
                const uint8_t* am = ar + size_t(m0) * Kq;
                uint32_t* c = acc + size_t(m0) * N + n0;
                kBlock[P - 1](am, Kq, bp, panel_bytes, row_term + m0, col_term, rows, cols, c, N);
            }
        }
    });
}
#endif

} // namespace

bool gemm_vnni_available() {
#if PX_X86_KERNELS
    static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vnni");
    return ok;
#else
    return false;
#endif
}

// The kernel a pack or product request resolves to on this CPU.
static GemmKernel resolve(GemmKernel kernel) {
    if ((kernel == GemmKernel::Auto || kernel == GemmKernel::Vnni) && gemm_vnni_available())
        return GemmKernel::Vnni;
    if (kernel != GemmKernel::Portable && cpu_has_avx2()) return GemmKernel::Avx2;
    return GemmKernel::Portable;
}

const char* gemm_kernel_name(GemmKernel kernel) {
    if (kernel == GemmKernel::Rows) return "rows of B scaled and added in uint32 (no packing)";
    switch (resolve(kernel)) {
    case GemmKernel::Vnni: return "vpdpbusd zmm (AVX-512 VNNI, uint8 x int8, 64 MAC/instruction)";
    case GemmKernel::Avx2: return "vpmaddwd ymm, 4x16 register tiles (AVX2, int16 pairs, 16 MAC/instruction)";
    default: return "int16 pairs into int32 (pmaddwd, compiler-vectorized)";
    }
}

// Frees v's storage, keeping its allocator (its arena): `v = {}` would take a default one.
template <class V> void release(V& v) {
    v.clear();
    v.shrink_to_fit();
}

void gemm_pack_b(const uint8_t* b, uint32_t K, uint32_t N, int32_t zb, GemmKernel kernel, unsigned threads,
                 ThreadPool* pool, GemmPackedB& out) {
    out.kernel = resolve(kernel);
    out.K = K, out.N = N, out.zb = zb;
#if PX_X86_KERNELS
    if (out.kernel == GemmKernel::Vnni) {
        release(out.bt16), release(out.bp16);
        vnni_pack_b_all(b, K, N, threads, pool, out);
        return;
    }
    if (out.kernel == GemmKernel::Avx2) {
        release(out.bt16), release(out.b8), release(out.colsum);
        avx2_pack_b(b, K, N, zb, threads, pool, out);
        return;
    }
#endif
    release(out.b8), release(out.colsum), release(out.bp16);
    portable_pack_b(b, K, N, zb, threads, pool, out);
}

void gemm_u8_packed(const uint8_t* a, uint32_t M, int32_t za, const GemmPackedB& b, unsigned threads,
                    uint32_t* acc, GemmWorkspace& ws, ThreadPool* pool) {
    if (M == 0 || b.N == 0) return;
#if PX_X86_KERNELS
    if (b.kernel == GemmKernel::Vnni) {
        vnni_product(a, M, za, b, threads, acc, ws, pool);
        return;
    }
    if (b.kernel == GemmKernel::Avx2) {
        avx2_product(a, M, za, b, threads, acc, ws, pool);
        return;
    }
#endif
    portable_product(a, M, za, b, threads, acc, ws, pool);
}

void gemm_u8(const GemmU8& g, unsigned threads, uint32_t* acc, GemmWorkspace& ws, ThreadPool* pool,
             GemmKernel kernel) {
    if (g.M == 0 || g.N == 0) return;
    if (kernel == GemmKernel::Rows || (kernel == GemmKernel::Auto && g.M <= kRowsMaxM)) {
        gemm_rows(g, threads, acc, pool);
        return;
    }
    gemm_pack_b(g.b, g.K, g.N, g.zb, kernel, threads, pool, ws.b);
    gemm_u8_packed(g.a, g.M, g.za, ws.b, threads, acc, ws, pool);
}

void gemm_u8(const GemmU8& g, unsigned threads, uint32_t* acc, GemmKernel kernel) {
    GemmWorkspace ws;
    gemm_u8(g, threads, acc, ws, nullptr, kernel);
}

} // namespace px
