#include "cpu_fast.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

// The kernels are compiled twice on x86-64 with GCC: for AVX2 and for the baseline (SSE2), and
// the loader picks one at startup (an ifunc). The committed build stays portable x86-64; the
// wider vectors are used where the CPU has them. Both clones compute the same integers.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define PX_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PX_CLONES
#endif

namespace px {
namespace {

std::atomic<unsigned> g_threads{0};
std::atomic<uint64_t> g_min_macs{FastSettings{}.min_macs_per_thread};

// Partial sums over at most this many k are int32: 16384 * 255 * 255 < 2^31, so they never
// overflow; chunks are then added as uint32, which cannot overflow either (PROTOCOL.md §5.4).
constexpr uint32_t kChunkK = 16384;
// Packed rows are padded with zeros to a multiple of 16 int16 (one 256-bit vector).
constexpr uint32_t kPadK = 16;
// Columns of B^T kept hot per block: 32 columns x 1024 k x 2 bytes = 64 KiB, an L2-sized slab
// reused by every row of A.
constexpr uint32_t kBlockN = 32;
// Shapes with at most this many rows of A skip the packing of B (matrix-vector products read
// every element of B once, so a transposed copy would cost more than it saves).
constexpr uint32_t kDirectMaxM = 4;

// Visits the elements [i0, i1) of the matrix whose header is at `row` as runs of horizontally
// adjacent pixels: f(first element index, pointer to its pixel, run length). Pure index
// arithmetic on PROTOCOL.md §3: no division per element.
template <class Px, class F>
void for_runs(Px* rgba, uint32_t width, uint32_t row, uint64_t i0, uint64_t i1, F&& f) {
    const uint32_t stride = width - 1;
    uint64_t i = i0;
    uint64_t y = row + i / stride;
    uint32_t x = 1 + uint32_t(i % stride);
    while (i < i1) {
        const uint32_t len = uint32_t(std::min<uint64_t>(i1 - i, width - x));
        f(i, rgba + (y * width + x) * 4, len);
        i += len;
        x = 1;
        ++y;
    }
}

// Runs f(begin, end) over `parts` contiguous ranges splitting [0, n), on up to `parts` threads.
// If a thread cannot be started its range runs on the calling thread: slower, same bytes.
template <class F> void parallel_ranges(unsigned parts, uint32_t n, F&& f) {
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

// acc[j] += a * R(pixel j), pixels read as little-endian uint32 so the loop is a plain
// contiguous load, mask, multiply and add.
PX_CLONES void axpy_pixels(uint32_t* __restrict acc, uint32_t a, const uint8_t* __restrict px, uint32_t len) {
    for (uint32_t j = 0; j < len; ++j) {
        uint32_t v;
        std::memcpy(&v, px + 4 * size_t(j), 4);
        acc[j] += a * (v & 0xFFu);
    }
}

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

struct MatmulShape {
    uint32_t M, K, N;
    uint32_t row_a, row_b, row_c;
};

// C = A @ B with B read straight from the image, for few rows of A.
void matmul_direct(const Image& image, const MatmulShape& s, unsigned threads, std::vector<uint32_t>& acc) {
    const uint32_t w = image.width;
    std::vector<uint32_t> a(size_t(s.M) * s.K);
    for_runs(image.rgba.data(), w, s.row_a, 0, a.size(), [&](uint64_t i, const uint8_t* px, uint32_t len) {
        for (uint32_t j = 0; j < len; ++j)
            a[i + j] = px[4 * size_t(j)];
    });
    acc.assign(size_t(s.M) * s.N, 0);
    parallel_ranges(threads, s.N, [&](uint32_t n0, uint32_t n1) {
        for (uint32_t k = 0; k < s.K; ++k) {
            const uint64_t base = uint64_t(k) * s.N;
            for_runs(image.rgba.data(), w, s.row_b, base + n0, base + n1,
                     [&](uint64_t i, const uint8_t* px, uint32_t len) {
                         const uint32_t n = uint32_t(i - base);
                         for (uint32_t m = 0; m < s.M; ++m) {
                             const uint32_t av = a[size_t(m) * s.K + k];
                             if (av != 0) axpy_pixels(&acc[size_t(m) * s.N + n], av, px, len);
                         }
                     });
        }
    });
}

// C = A @ B from packed operands: A as int16 rows of Kp, B transposed as int16 rows of Kp.
void matmul_packed(const Image& image, const MatmulShape& s, unsigned threads, std::vector<uint32_t>& acc) {
    const uint32_t w = image.width;
    const uint32_t Kp = (s.K + kPadK - 1) / kPadK * kPadK;
    std::vector<int16_t> ap(size_t(s.M) * Kp, 0), bt(size_t(s.N) * Kp, 0);
    for_runs(image.rgba.data(), w, s.row_a, 0, uint64_t(s.M) * s.K,
             [&](uint64_t i, const uint8_t* px, uint32_t len) {
                 uint32_t m = uint32_t(i / s.K), k = uint32_t(i % s.K);
                 for (uint32_t j = 0; j < len; ++j) {
                     ap[size_t(m) * Kp + k] = px[4 * size_t(j)];
                     if (++k == s.K) k = 0, ++m;
                 }
             });
    // B^T, packed by ranges of k in parallel (each thread writes its own columns of B^T).
    parallel_ranges(threads, s.K, [&](uint32_t k0, uint32_t k1) {
        for_runs(image.rgba.data(), w, s.row_b, uint64_t(k0) * s.N, uint64_t(k1) * s.N,
                 [&](uint64_t i, const uint8_t* px, uint32_t len) {
                     uint32_t k = uint32_t(i / s.N), n = uint32_t(i % s.N);
                     for (uint32_t j = 0; j < len; ++j) {
                         bt[size_t(n) * Kp + k] = px[4 * size_t(j)];
                         if (++n == s.N) n = 0, ++k;
                     }
                 });
    });
    acc.assign(size_t(s.M) * s.N, 0);
    const uint32_t blocks = (s.N + kBlockN - 1) / kBlockN;
    parallel_ranges(threads, blocks, [&](uint32_t blk0, uint32_t blk1) {
        for (uint32_t blk = blk0; blk < blk1; ++blk) {
            const uint32_t n0 = blk * kBlockN, n1 = std::min(s.N, n0 + kBlockN);
            for (uint32_t kc = 0; kc < Kp; kc += kChunkK) {
                const uint32_t len = std::min(kChunkK, Kp - kc);
                for (uint32_t m = 0; m < s.M; m += 2) {
                    const int16_t* a0 = &ap[size_t(m) * Kp + kc];
                    uint32_t* c0 = &acc[size_t(m) * s.N];
                    if (m + 1 < s.M) {
                        const int16_t* a1 = a0 + Kp;
                        uint32_t* c1 = c0 + s.N;
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

void execute_matmul(Image& image, const Plan& p) {
    const MatmulShape s{p.shape[0].rows,  p.shape[0].cols,  p.shape[1].cols,
                        p.ins.operand[0], p.ins.operand[1], p.ins.operand[2]};
    const unsigned threads = fast_threads_for(uint64_t(s.M) * s.N * s.K);
    // Every read happens here, before any write (PROTOCOL.md §4.2): c may be a or b.
    std::vector<uint32_t> acc;
    if (s.M <= kDirectMaxM)
        matmul_direct(image, s, threads, acc);
    else
        matmul_packed(image, s, threads, acc);
    image.set_pixel(0, s.row_c, encode_header(p.out_shape));
    for_runs(image.rgba.data(), image.width, s.row_c, 0, acc.size(),
             [&](uint64_t i, uint8_t* px, uint32_t len) {
                 for (uint32_t j = 0; j < len; ++j)
                     px[4 * size_t(j)] = uint8_t(std::min<uint32_t>(acc[i + j], 255));
             });
}

} // namespace

void set_fast_settings(const FastSettings& settings) {
    g_threads.store(settings.threads);
    g_min_macs.store(settings.min_macs_per_thread);
}

FastSettings fast_settings() {
    return {g_threads.load(), g_min_macs.load()};
}

unsigned fast_threads_for(uint64_t macs) {
    unsigned t = g_threads.load();
    if (t == 0) t = std::max(1u, std::thread::hardware_concurrency());
    const uint64_t min_macs = g_min_macs.load();
    if (min_macs > 0) t = unsigned(std::clamp<uint64_t>(macs / min_macs, 1, t));
    return t;
}

void execute_fast(Image& image, const Plan& plan) {
    switch (Opcode(plan.ins.opcode)) {
    case Opcode::MATMUL: execute_matmul(image, plan); break;
    default: execute_reference(image, plan); break;
    }
}

} // namespace px
