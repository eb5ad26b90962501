#include "cpu_gemm.h"

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PX_GEMM_VNNI 1
#else
#define PX_GEMM_VNNI 0
#endif

// The portable kernel is compiled twice on x86-64 with GCC, for AVX2 and the baseline, and the
// loader picks one (an ifunc), like cpu_fast.cpp's kernels.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define PX_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PX_CLONES
#endif

namespace px {
namespace {

// Runs f(begin, end) over `parts` contiguous ranges splitting [0, n), on up to `parts` threads.
// If a thread cannot be started its range runs on the calling thread: slower, same integers.
template <class F> void split(unsigned parts, uint32_t n, F&& f) {
    parts = std::max(1u, std::min<unsigned>(parts, n));
    if (parts == 1) {
        f(0u, n);
        return;
    }
    std::vector<std::thread> pool;
    pool.reserve(parts - 1);
    auto bounds = [&](unsigned t) { return uint32_t(uint64_t(n) * t / parts); };
    for (unsigned t = 1; t < parts; ++t) {
        try {
            pool.emplace_back([&f, b = bounds(t), e = bounds(t + 1)] { f(b, e); });
        } catch (const std::system_error&) {
            f(bounds(t), bounds(t + 1));
        }
    }
    f(bounds(0), bounds(1));
    for (std::thread& th : pool)
        th.join();
}

// Packed operands stay allocated on the calling thread from one call to the next (fresh
// multi-megabyte vectors would be page-faulted in on every step); above kKeepBytes they go.
struct Scratch {
    std::vector<uint8_t> a8;
    std::vector<int8_t> b8;
    std::vector<uint32_t> rowsum, colsum;
    std::vector<int16_t> a16, bt16, bk16;
    size_t bytes() const {
        return a8.capacity() + b8.capacity() + (rowsum.capacity() + colsum.capacity()) * 4 +
               (a16.capacity() + bt16.capacity() + bk16.capacity()) * 2;
    }
};
constexpr size_t kKeepBytes = size_t(64) << 20;
Scratch& scratch() {
    thread_local Scratch s;
    return s;
}
void trim_scratch() {
    if (scratch().bytes() > kKeepBytes) scratch() = Scratch{};
}

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

void gemm_portable(const GemmU8& g, unsigned threads, uint32_t* acc) {
    const uint32_t M = g.M, K = g.K, N = g.N;
    const uint32_t Kp = (K + kPadK - 1) / kPadK * kPadK;
    Scratch& s = scratch();
    s.a16.assign(size_t(M) * Kp, 0); // the padding must be zero
    s.bt16.assign(size_t(N) * Kp, 0);
    s.bk16.resize(size_t(K) * N);
    for (uint32_t m = 0; m < M; ++m)
        for (uint32_t k = 0; k < K; ++k)
            s.a16[size_t(m) * Kp + k] = int16_t(g.a[size_t(m) * K + k] - g.za);
    int16_t* bk = s.bk16.data();
    int16_t* bt = s.bt16.data();
    // B^T in two cache-friendly passes: row-major int16, then transposed 16x16 tiles at a time.
    split(threads, K, [&](uint32_t k0, uint32_t k1) {
        for (size_t i = size_t(k0) * N; i < size_t(k1) * N; ++i)
            bk[i] = int16_t(g.b[i] - g.zb);
        constexpr uint32_t T = 16;
        for (uint32_t kt = k0; kt < k1; kt += T)
            for (uint32_t nt = 0; nt < N; nt += T) {
                const uint32_t ke = std::min(k1, kt + T), ne = std::min(N, nt + T);
                for (uint32_t n = nt; n < ne; ++n)
                    for (uint32_t k = kt; k < ke; ++k)
                        bt[size_t(n) * Kp + k] = bk[size_t(k) * N + n];
            }
    });
    std::fill(acc, acc + size_t(M) * N, 0u);
    const int16_t* ap = s.a16.data();
    const uint32_t blocks = (N + kBlockN - 1) / kBlockN;
    split(threads, blocks, [&](uint32_t blk0, uint32_t blk1) {
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
void gemm_rows(const GemmU8& g, unsigned threads, uint32_t* acc) {
    const uint32_t M = g.M, K = g.K, N = g.N;
    std::fill(acc, acc + size_t(M) * N, 0u);
    split(threads, N, [&](uint32_t n0, uint32_t n1) {
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
// Layout: K padded to Kq (a multiple of 4) with zeros; B in panels of 32 columns, each panel
// [Kq/4][32 columns][4 k] bytes, so one 64-byte load is 16 columns x 4 k (one VPDPBUSD operand).
// The micro-kernel keeps MR x 32 int32 sums in 2*MR zmm registers and, per 4 k, loads 2 B
// vectors and broadcasts 4 bytes of each of the MR rows of A: 2*MR VPDPBUSD for MR+2 loads.
constexpr uint32_t kPanel = 32;
constexpr int kMR = 8;

#if PX_GEMM_VNNI
#define PX_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

template <int MR>
PX_VNNI_TARGET void vnni_block(const uint8_t* __restrict ap, uint32_t Kq, const int8_t* __restrict bp,
                               int32_t* __restrict out /* MR x 32 */) {
    __m512i c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
        c0[r] = _mm512_setzero_si512(), c1[r] = _mm512_setzero_si512();
    const uint32_t quads = Kq / 4;
    for (uint32_t q = 0; q < quads; ++q) {
        const __m512i b0 = _mm512_loadu_si512(bp + size_t(q) * 128);
        const __m512i b1 = _mm512_loadu_si512(bp + size_t(q) * 128 + 64);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            int32_t a4;
            std::memcpy(&a4, ap + size_t(r) * Kq + size_t(q) * 4, 4);
            const __m512i av = _mm512_set1_epi32(a4);
            c0[r] = _mm512_dpbusd_epi32(c0[r], av, b0);
            c1[r] = _mm512_dpbusd_epi32(c1[r], av, b1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        _mm512_storeu_si512(out + r * 32, c0[r]);
        _mm512_storeu_si512(out + r * 32 + 16, c1[r]);
    }
}

void vnni_rows(int rows, const uint8_t* ap, uint32_t Kq, const int8_t* bp, int32_t* out) {
    switch (rows) {
    case 1: vnni_block<1>(ap, Kq, bp, out); break;
    case 2: vnni_block<2>(ap, Kq, bp, out); break;
    case 3: vnni_block<3>(ap, Kq, bp, out); break;
    case 4: vnni_block<4>(ap, Kq, bp, out); break;
    case 5: vnni_block<5>(ap, Kq, bp, out); break;
    case 6: vnni_block<6>(ap, Kq, bp, out); break;
    case 7: vnni_block<7>(ap, Kq, bp, out); break;
    default: vnni_block<8>(ap, Kq, bp, out); break;
    }
}

void gemm_vnni(const GemmU8& g, unsigned threads, uint32_t* acc) {
    const uint32_t M = g.M, K = g.K, N = g.N;
    const uint32_t Kq = (K + 3) / 4 * 4;
    const uint32_t panels = (N + kPanel - 1) / kPanel;
    Scratch& s = scratch();
    // A: rows of Kq bytes, zero-padded (a zero a contributes nothing, whatever b' is).
    s.a8.assign(size_t(M) * Kq, 0);
    s.rowsum.assign(M, 0);
    for (uint32_t m = 0; m < M; ++m) {
        const uint8_t* src = g.a + size_t(m) * K;
        std::memcpy(&s.a8[size_t(m) * Kq], src, K);
        uint32_t sum = 0;
        for (uint32_t k = 0; k < K; ++k)
            sum += src[k];
        s.rowsum[m] = sum;
    }
    s.b8.resize(size_t(panels) * Kq * kPanel);
    s.colsum.assign(size_t(panels) * kPanel, 0);
    int8_t* b8 = s.b8.data();
    uint32_t* colsum = s.colsum.data();
    const uint8_t* a8 = s.a8.data();
    const uint32_t* rowsum = s.rowsum.data();
    const uint32_t kzz = K * uint32_t(g.za) * uint32_t(g.zb);
    split(threads, panels, [&](uint32_t p0, uint32_t p1) {
        alignas(64) int32_t out[kMR * kPanel];
        for (uint32_t p = p0; p < p1; ++p) {
            const uint32_t n0 = p * kPanel, cols = std::min(kPanel, N - n0);
            int8_t* bp = b8 + size_t(p) * Kq * kPanel;
            // Pack this panel (each thread packs the panels it multiplies: they stay in its cache).
            std::memset(bp, 0, size_t(Kq) * kPanel);
            uint32_t* cs = colsum + n0;
            for (uint32_t k = 0; k < K; ++k) {
                const uint8_t* src = g.b + size_t(k) * N + n0;
                int8_t* dst = bp + size_t(k / 4) * 128 + (k % 4);
                for (uint32_t c = 0; c < cols; ++c) {
                    dst[c * 4] = int8_t(src[c] ^ 0x80u);
                    cs[c] += src[c];
                }
            }
            for (uint32_t m0 = 0; m0 < M; m0 += kMR) {
                const int rows = int(std::min<uint32_t>(kMR, M - m0));
                vnni_rows(rows, a8 + size_t(m0) * Kq, Kq, bp, out);
                for (int r = 0; r < rows; ++r) {
                    const uint32_t m = m0 + uint32_t(r);
                    const uint32_t row_term = uint32_t(128 - g.zb) * rowsum[m] + kzz;
                    uint32_t* c = acc + size_t(m) * N + n0;
                    for (uint32_t j = 0; j < cols; ++j)
                        c[j] = uint32_t(out[r * kPanel + j]) + row_term - uint32_t(g.za) * cs[j];
                }
            }
        }
    });
}
#endif

} // namespace

bool gemm_vnni_available() {
#if PX_GEMM_VNNI
    static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vnni");
    return ok;
#else
    return false;
#endif
}

const char* gemm_kernel_name(GemmKernel kernel) {
    if (kernel == GemmKernel::Rows) return "rows of B scaled and added in uint32 (no packing)";
    if (kernel != GemmKernel::Portable && gemm_vnni_available())
        return "vpdpbusd zmm (AVX-512 VNNI, uint8 x int8, 64 MAC/instruction)";
    return "int16 pairs into int32 (pmaddwd, compiler-vectorized)";
}

void gemm_u8(const GemmU8& g, unsigned threads, uint32_t* acc, GemmKernel kernel) {
    if (g.M == 0 || g.N == 0) return;
    if (kernel == GemmKernel::Rows || (kernel == GemmKernel::Auto && g.M <= kRowsMaxM)) {
        gemm_rows(g, threads, acc);
        return;
    }
#if PX_GEMM_VNNI
    if (kernel != GemmKernel::Portable && gemm_vnni_available()) {
        gemm_vnni(g, threads, acc);
        trim_scratch();
        return;
    }
#endif
    gemm_portable(g, threads, acc);
    trim_scratch();
}

} // namespace px
