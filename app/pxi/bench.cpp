#include "bench.h"

#include "bench_gl.h"
#include "bench_peers.h"
#include "cpu_fast.h"
#include "cpu_gemm.h"
#include "layout.h"
#include "parallel.h"
#include "png_io.h"
#include "quant.h"
#include "vm.h"

#if PXOS_HAVE_GL
#include "gl/gl_executor.h"

#include <epoxy/gl.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace pxbench {
namespace {

using px::Image;
using px::MatrixHeader;
using px::Opcode;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// ---- timing -------------------------------------------------------------------------------------

struct Budget {
    int min_reps;
    int max_reps;
    double min_total_ms; // keep repeating (up to max_reps) until the timed runs add up to this
    bool warm_up = true; // false only for runs of seconds each (PNG of 4096x4096), where one more run
                         // costs more than it tells
    // Warm-up runs for at least this long before the timed ones. On this 2-core VM a core that
    // has been idle runs at about half speed for its first 60 to 75 ms of work (measured: a 0.5 ms
    // 64x1024 @ 1024x1024 product took 1.0 ms until 75 ms after a 500 ms sleep, then 0.51), and a
    // median of 25 runs of 0.5 ms lies wholly inside that. --quick (a check that every path runs,
    // not a measurement) warms up with one run.
    double warm_up_ms = 150;
};

struct Sample {
    double host_ms = 0;
    double gpu_ms = -1; // from GL_TIME_ELAPSED queries; -1 when there is none
};

struct Timing {
    double ms = 0;      // median of the timed runs (host clock)
    double gpu_ms = -1; // median of the timer-query times, -1 when unavailable
    int reps = 0;
};

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Warm-up runs (one at least, until b.warm_up_ms have passed), then timed runs; f() runs once and
// reports its own time, so that resetting state between runs stays outside the clock.
Timing measure(const Budget& b, const std::function<Sample()>& f) {
    double first_ms = 0;
    if (b.warm_up) {
        double warm = 0;
        do {
            const double ms = f().host_ms;
            if (warm == 0) first_ms = ms;
            warm += std::max(ms, 1e-3);
        } while (warm < b.warm_up_ms && first_ms <= 1000);
    }
    // Runs of more than a second are few enough to be stable: 3 of them are enough.
    const int min_reps = first_ms > 1000 ? std::min(b.min_reps, 3) : b.min_reps;
    std::vector<double> host, gpu;
    double total = 0;
    while (int(host.size()) < b.max_reps && (int(host.size()) < min_reps || total < b.min_total_ms)) {
        const Sample s = f();
        host.push_back(s.host_ms);
        if (s.gpu_ms >= 0) gpu.push_back(s.gpu_ms);
        total += s.host_ms;
    }
    Timing t;
    t.ms = median(host);
    t.gpu_ms = gpu.size() == host.size() ? median(gpu) : -1;
    t.reps = int(host.size());
    return t;
}

// ---- programs -----------------------------------------------------------------------------------

struct MatmulProgram {
    Image image;
    uint32_t row_a = 0, row_b = 0, row_c = 0;
    bool wide = false;
};

// Writes one instruction at x (with a WIDE prefix when a row exceeds 255, PROTOCOL.md §4.3) and
// returns the x after it.
uint32_t put_instruction(Image& img, uint32_t x, Opcode op, uint32_t a, uint32_t b, uint32_t c) {
    if (a > 255 || b > 255 || c > 255)
        img.set_pixel(x++, 0, {px::kWidePrefix, uint8_t(a >> 8), uint8_t(b >> 8), uint8_t(c >> 8)});
    img.set_pixel(x++, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
    return x;
}

// Matrices with dense weights in A (no zeros, so the reference's skip-on-zero never applies) and
// a sparse B, so the outputs spread over 0..255 instead of all saturating and the parity check
// sees real values. No executor's speed depends on B's values.
std::vector<uint8_t> dense_values(std::mt19937& rng, uint64_t n) {
    std::vector<uint8_t> v(n);
    for (auto& e : v)
        e = uint8_t(1 + rng() % 255);
    return v;
}
std::vector<uint8_t> sparse_values(std::mt19937& rng, uint64_t n, uint32_t inner) {
    std::vector<uint8_t> v(n);
    for (auto& e : v)
        e = rng() % std::max(inner / 2, 1u) == 0 ? uint8_t(1) : uint8_t(0);
    return v;
}

MatmulProgram build_matmul(uint32_t M, uint32_t K, uint32_t N, uint32_t width, uint32_t seed) {
    const MatrixHeader ha{K, M}, hb{N, K}, hc{N, M};
    const px::Allocation al = px::allocate_rows({ha, hb, hc}, width);
    MatmulProgram p;
    p.image = px::make_image(width, al.height);
    p.row_a = al.rows[0], p.row_b = al.rows[1], p.row_c = al.rows[2];
    std::mt19937 rng(seed);
    (void)px::write_matrix(p.image, p.row_a, ha, dense_values(rng, ha.elements()));
    (void)px::write_matrix(p.image, p.row_b, hb, sparse_values(rng, hb.elements(), K));
    uint32_t x = put_instruction(p.image, 0, Opcode::MATMUL, p.row_a, p.row_b, p.row_c);
    p.wide = x == 2;
    put_instruction(p.image, x, Opcode::HALT, 0, 0, 0);
    return p;
}

// A program of the Pixel-LLM's shape (concept document, v0.1.0): 1024 wide,
// h = relu(h_in @ W_hidden + b_hidden); logits = h @ W_out + b_out.
Image build_pixellm(uint32_t seed) {
    const uint32_t width = 1024;
    const MatrixHeader h_in{128, 1}, w_hidden{128, 128}, b_hidden{128, 1}, h{128, 1}, w_out{1024, 128},
        b_out{1024, 1}, logits{1024, 1};
    const px::Allocation al = px::allocate_rows({h_in, w_hidden, b_hidden, h, w_out, b_out, logits}, width);
    Image img = px::make_image(width, al.height);
    std::mt19937 rng(seed);
    (void)px::write_matrix(img, al.rows[0], h_in, dense_values(rng, 128));
    (void)px::write_matrix(img, al.rows[1], w_hidden, sparse_values(rng, w_hidden.elements(), 128));
    (void)px::write_matrix(img, al.rows[2], b_hidden, sparse_values(rng, 128, 4));
    (void)px::write_matrix(img, al.rows[4], w_out, sparse_values(rng, w_out.elements(), 128));
    (void)px::write_matrix(img, al.rows[5], b_out, sparse_values(rng, 1024, 4));
    uint32_t x = 0;
    x = put_instruction(img, x, Opcode::MATMUL, al.rows[0], al.rows[1], al.rows[3]);
    x = put_instruction(img, x, Opcode::ADD, al.rows[3], al.rows[2], al.rows[3]);
    x = put_instruction(img, x, Opcode::RELU, al.rows[3], 0, 0);
    x = put_instruction(img, x, Opcode::MATMUL, al.rows[3], al.rows[4], al.rows[6]);
    x = put_instruction(img, x, Opcode::ADD, al.rows[6], al.rows[5], al.rows[6]);
    put_instruction(img, x, Opcode::HALT, 0, 0, 0);
    return img;
}

// ---- the naive baseline -------------------------------------------------------------------------

uint8_t* naive_at(Image& img, uint32_t row, uint64_t i) {
    const uint32_t w = img.width;
    return img.at(uint32_t(1 + i % (w - 1)), uint32_t(row + i / (w - 1)));
}

// The prototype's ADD as PROTOCOL.md 1.0 defines it (headers, bias broadcast), element by element.
void naive_add(Image& img, uint32_t row_a, uint32_t row_b, uint32_t row_c) {
    const MatrixHeader ha = px::decode_header(img.pixel(0, row_a)),
                       hb = px::decode_header(img.pixel(0, row_b));
    const bool broadcast = !(ha == hb);
    img.set_pixel(0, row_c, px::encode_header(ha));
    for (uint64_t i = 0; i < ha.elements(); ++i) {
        const uint32_t s =
            uint32_t(naive_at(img, row_a, i)[0]) + naive_at(img, row_b, broadcast ? i % hb.cols : i)[0];
        naive_at(img, row_c, i)[0] = uint8_t(std::min<uint32_t>(s, 255));
    }
}

// For whole programs: the naive loops for MATMUL and ADD, the reference for the prototype's other
// opcodes (HALT, DOT, RELU: no arithmetic worth a baseline). `unsupported` is set when it meets an
// opcode the prototype did not have (the quantized ones): its time is then not a naive baseline
// and is not reported.
void execute_naive(Image& img, const px::Plan& p, bool& unsupported) {
    const auto& op = p.ins.operand;
    switch (Opcode(p.ins.opcode)) {
    case Opcode::MATMUL: naive_matmul(img, op[0], op[1], op[2]); break;
    case Opcode::ADD: naive_add(img, op[0], op[1], op[2]); break;
    case Opcode::HALT:
    case Opcode::DOT:
    case Opcode::RELU: px::execute_reference(img, p); break;
    default:
        unsupported = true;
        px::execute_reference(img, p);
        break;
    }
}

// ---- the machine's ceilings ---------------------------------------------------------------------

// Runs f(thread index) on `threads` threads at once; returns the wall time in ms.
double run_on_threads(unsigned threads, const std::function<void(unsigned)>& f) {
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back(f, t);
    f(0);
    for (auto& th : pool)
        th.join();
    return ms_since(t0);
}

std::atomic<uint64_t> g_sink{0}; // keeps measured loops from being optimized away

// Peak multiply-adds per second: int16 pairs multiplied and summed into int32 lanes (PMADDWD, the
// instruction the optimized kernel is built on: 16 u8 x u8 MACs per 256-bit instruction) on
// registers only, 10 independent accumulators to cover its latency.
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t madd_loop_avx2(uint64_t iters) {
    __m256i y = _mm256_set1_epi16(3);
    __m256i acc[10];
    for (int j = 0; j < 10; ++j)
        acc[j] = _mm256_set1_epi16(short(j + 1));
    for (uint64_t i = 0; i < iters; ++i) {
        __asm__ volatile("" : "+x"(y)); // y "changes": the products are recomputed every iteration
#pragma GCC unroll 10
        for (int j = 0; j < 10; ++j)
            acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(acc[j], y));
    }
    __m256i s = acc[0];
    for (int j = 1; j < 10; ++j)
        s = _mm256_add_epi32(s, acc[j]);
    g_sink += uint64_t(_mm256_extract_epi32(s, 0));
    return iters * 10 * 16;
}
uint64_t madd_loop_sse2(uint64_t iters) {
    __m128i y = _mm_set1_epi16(3);
    __m128i acc[10];
    for (int j = 0; j < 10; ++j)
        acc[j] = _mm_set1_epi16(short(j + 1));
    for (uint64_t i = 0; i < iters; ++i) {
        __asm__ volatile("" : "+x"(y));
#pragma GCC unroll 10
        for (int j = 0; j < 10; ++j)
            acc[j] = _mm_add_epi32(acc[j], _mm_madd_epi16(acc[j], y));
    }
    __m128i s = acc[0];
    for (int j = 1; j < 10; ++j)
        s = _mm_add_epi32(s, acc[j]);
    g_sink += uint64_t(_mm_cvtsi128_si32(s));
    return iters * 10 * 8;
}
bool have_avx2() {
    return __builtin_cpu_supports("avx2");
}
// The same on VPDPBUSD zmm (AVX-512 VNNI: uint8 x int8, four products summed into each int32
// lane, 64 multiply-adds per instruction), the instruction gemm_u8 uses where the CPU has it. In
// assembly, 12 independent accumulators: written with intrinsics, GCC 12 copied the accumulators
// between registers on every iteration and the loop measured half the rate oneDNN reached.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) uint64_t dpbusd_loop_avx512(uint64_t iters) {
    if (iters == 0) return 0;
    __asm__ volatile("vpternlogd $0xff, %%zmm15, %%zmm15, %%zmm15\n\t"
                     "vpabsb %%zmm15, %%zmm14\n\t"
                     "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
                     "mov %0, %%rcx\n"
                     "1:\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm0\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm1\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm2\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm3\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm4\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm5\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm6\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm7\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm8\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm9\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm10\n\t"
                     "vpdpbusd %%zmm15, %%zmm14, %%zmm11\n\t"
                     "dec %%rcx\n\t"
                     "jnz 1b\n\t"
                     "vzeroupper"
                     :
                     : "r"(iters)
                     : "rcx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm14", "xmm15", "cc");
    return iters * 12 * 64;
}
#else
uint64_t madd_loop_scalar(uint64_t iters) {
    volatile int32_t y = 3;
    int32_t acc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (uint64_t i = 0; i < iters; ++i)
        for (int j = 0; j < 8; ++j)
            acc[j] += acc[j] * y;
    for (int j = 0; j < 8; ++j)
        g_sink += uint64_t(acc[j]);
    return iters * 8;
}
bool have_avx2() {
    return false;
}
#endif

#if defined(__x86_64__)
// Float multiply-add peak as the float protocol allows it: a multiply and a separate add (never
// fused, PROTOCOL.md §15 F.3), 12 independent chains of each, so the figure is the rate
// of one vmulps plus one vaddps per 16 lanes (zmm where the CPU has AVX-512F, else ymm). Counted
// as multiply-adds (one mul and one add each), like the matmuls it is compared with.
__attribute__((target("avx512f"))) uint64_t fmuladd_loop_avx512(uint64_t iters) {
    __m512 one = _mm512_set1_ps(1.0f), tiny = _mm512_set1_ps(0.0f);
    __m512 m[12], a[12];
    for (int j = 0; j < 12; ++j)
        m[j] = _mm512_set1_ps(float(j + 1)), a[j] = _mm512_set1_ps(float(j));
    for (uint64_t i = 0; i < iters; ++i) {
        __asm__ volatile("" : "+v"(one), "+v"(tiny)); // not folded: x * 1 and x + 0 are recomputed
#pragma GCC unroll 12
        for (int j = 0; j < 12; ++j) {
            m[j] = _mm512_mul_ps(m[j], one);
            a[j] = _mm512_add_ps(a[j], tiny);
        }
    }
    __m512 s = _mm512_setzero_ps();
    for (int j = 0; j < 12; ++j)
        s = _mm512_add_ps(s, _mm512_add_ps(m[j], a[j]));
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, s);
    g_sink += uint64_t(lanes[0]);
    return iters * 12 * 16;
}
// 6 chains of each, not 8: 8 + 8 + 2 ymm is more than AVX's 16 registers, and the spilled loop
// measured a third of the rate (9.9 GMAC/s a core where sgemm reached 40). 6 mul chains of latency
// 3 still fill both multiply pipes (Zen: 2 FMUL + 2 FADD).
__attribute__((target("avx"))) uint64_t fmuladd_loop_avx(uint64_t iters) {
    __m256 one = _mm256_set1_ps(1.0f), tiny = _mm256_set1_ps(0.0f);
    __m256 m[6], a[6];
    for (int j = 0; j < 6; ++j)
        m[j] = _mm256_set1_ps(float(j + 1)), a[j] = _mm256_set1_ps(float(j));
    for (uint64_t i = 0; i < iters; ++i) {
        __asm__ volatile("" : "+x"(one), "+x"(tiny));
#pragma GCC unroll 6
        for (int j = 0; j < 6; ++j) {
            m[j] = _mm256_mul_ps(m[j], one);
            a[j] = _mm256_add_ps(a[j], tiny);
        }
    }
    __m256 s = _mm256_setzero_ps();
    for (int j = 0; j < 6; ++j)
        s = _mm256_add_ps(s, _mm256_add_ps(m[j], a[j]));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    g_sink += uint64_t(lanes[0]);
    return iters * 6 * 8;
}
uint64_t fmuladd_loop(uint64_t iters) {
    return __builtin_cpu_supports("avx512f") ? fmuladd_loop_avx512(iters) : fmuladd_loop_avx(iters);
}
std::string fmuladd_instruction() {
    return __builtin_cpu_supports("avx512f") ? "vmulps + vaddps zmm (16 float MAC per pair)"
                                             : "vmulps + vaddps ymm (8 float MAC per pair)";
}
#else
uint64_t fmuladd_loop(uint64_t iters) {
    volatile float one = 1.0f;
    float m[8] = {1, 2, 3, 4, 5, 6, 7, 8}, a[8] = {};
    for (uint64_t i = 0; i < iters; ++i)
        for (int j = 0; j < 8; ++j)
            m[j] *= one, a[j] += 0.0f * one;
    for (int j = 0; j < 8; ++j)
        g_sink += uint64_t(m[j] + a[j]);
    return iters * 8;
}
std::string fmuladd_instruction() {
    return "scalar float mul + add";
}
#endif

uint64_t madd_loop(uint64_t iters) {
#if defined(__x86_64__)
    return have_avx2() ? madd_loop_avx2(iters) : madd_loop_sse2(iters);
#else
    return madd_loop_scalar(iters);
#endif
}

std::string madd_instruction() {
#if defined(__x86_64__)
    return have_avx2() ? "vpmaddwd ymm (AVX2, 16 MAC/instruction)" : "pmaddwd xmm (SSE2, 8 MAC/instruction)";
#else
    return "scalar int32 multiply-add";
#endif
}

// Best of several runs (a ceiling is the best the machine did, not the typical).
double peak_gmacs(unsigned threads, uint64_t iters, int runs, uint64_t (*loop)(uint64_t) = madd_loop) {
    double best = 0;
    for (int r = 0; r < runs; ++r) {
        std::atomic<uint64_t> macs{0};
        const double ms = run_on_threads(threads, [&](unsigned) { macs += loop(iters); });
        best = std::max(best, double(macs) / (ms * 1e6));
    }
    return best;
}

uint64_t read_sum(const uint64_t* p, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
    for (; i < n; ++i)
        s0 += p[i];
    return s0 + s1 + s2 + s3;
}
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_sum_avx2(const uint64_t* p, size_t n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
        s2 = _mm256_add_epi64(s2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
        s3 = _mm256_add_epi64(s3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    uint64_t lanes[4];
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + read_sum(p + i, n - i);
}
#endif

// Read bandwidth in GB/s over `bytes` split between the threads, best of `runs` passes.
// `passes` > 1 rereads the buffer within one timed run (small buffers: thread start-up would
// otherwise be most of the time).
double read_bandwidth(unsigned threads, size_t bytes, int runs, int passes = 1) {
    const size_t n = bytes / 8;
    std::vector<uint64_t> buf(n);
    for (size_t i = 0; i < n; ++i)
        buf[i] = i; // touch every page before timing
    double best = 0;
    for (int r = 0; r < runs + 1; ++r) { // the first pass warms caches and TLBs
        const double ms = run_on_threads(threads, [&](unsigned t) {
            const size_t b = n * t / threads, e = n * (t + 1) / threads;
            for (int pass = 0; pass < passes; ++pass) {
#if defined(__x86_64__)
                g_sink +=
                    have_avx2() ? read_sum_avx2(buf.data() + b, e - b) : read_sum(buf.data() + b, e - b);
#else
                g_sink += read_sum(buf.data() + b, e - b);
#endif
            }
        });
        if (r > 0) best = std::max(best, double(n * 8) * passes / (ms * 1e6));
    }
    return best;
}

struct Ceilings {
    unsigned threads = 1;
    double gmacs_1 = 0, gmacs_t = 0;   // peak integer multiply-adds, the best instruction below
    std::string instruction;           // the instruction gmacs_1/gmacs_t come from
    double madd_1 = 0, madd_t = 0;     // vpmaddwd (or pmaddwd) alone
    double dpbusd_1 = 0, dpbusd_t = 0; // vpdpbusd zmm alone; 0 where the CPU lacks AVX-512 VNNI
    double fmac_1 = 0, fmac_t = 0;     // float multiply + add pairs (no fma), GMAC/s
    std::string float_instruction;
    double cache_gbs_1 = 0, cache_gbs_t = 0; // read bandwidth, working set in the last-level cache
    double dram_gbs_1 = 0, dram_gbs_t = 0;   // read bandwidth from memory
    double l2_gbs_1 = 0, l2_gbs_t = 0;       // read bandwidth, each thread's share in its core's L2
    size_t cache_bytes = 0, dram_bytes = 0;
    size_t l2_bytes = 0; // one core's L2 (0: unknown, no L2 tier)
    // What a hand-off between threads costs, with 2 threads or more (0: one thread): a cache line
    // moving from one thread to the other (half a ping-pong's round trip), and one run of the
    // executor's ThreadPool with nothing to do in its two ranges (the least a product split over
    // two threads pays). Splitting pays only for work longer than the second.
    double line_transfer_ns = 0, pool_run_us = 0;
};

// Half the round trip of a counter two threads pass back and forth (best of `runs`).
double line_transfer_ns(int runs, int trips) {
    double best = 0;
    for (int r = 0; r < runs; ++r) {
        alignas(64) std::atomic<int> turn{0};
        std::thread other([&] {
            for (int i = 0; i < trips; ++i) {
                while (turn.load(std::memory_order_acquire) != 2 * i + 1) {
                }
                turn.store(2 * i + 2, std::memory_order_release);
            }
        });
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < trips; ++i) {
            turn.store(2 * i + 1, std::memory_order_release);
            while (turn.load(std::memory_order_acquire) != 2 * i + 2) {
            }
        }
        const double ns =
            std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        other.join();
        const double one_way = ns / trips / 2;
        best = r == 0 ? one_way : std::min(best, one_way);
    }
    return best;
}

// The median time of one ThreadPool run of two empty ranges, runs following each other as a
// decode pass's products do (the workers polling).
double pool_run_us(int runs) {
    px::ThreadPool pool;
    std::atomic<uint64_t> sink{0};
    std::vector<double> us;
    for (int r = 0; r < runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        px::parallel_ranges(&pool, 2, 2, [&](uint32_t b, uint32_t e) { sink.fetch_add(e - b); });
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
    return us[us.size() / 2];
}

// Working sets up to this size count as cache-resident (the L3 slice a core sees is 32 MiB on
// the machines this was written on; half of it leaves room for everything else).
constexpr size_t kCacheResident = 16u << 20;

Ceilings measure_ceilings(unsigned threads, bool quick) {
    Ceilings c;
    c.threads = threads;
    const uint64_t iters = quick ? 2'000'000 : 20'000'000;
    const int runs = quick ? 3 : 5;
    c.madd_1 = peak_gmacs(1, iters, runs);
    c.madd_t = peak_gmacs(threads, iters, runs);
    c.gmacs_1 = c.madd_1, c.gmacs_t = c.madd_t;
    c.instruction = madd_instruction();
#if defined(__x86_64__)
    if (px::gemm_vnni_available()) {
        c.dpbusd_1 = peak_gmacs(1, iters / 2, runs, dpbusd_loop_avx512);
        c.dpbusd_t = peak_gmacs(threads, iters / 2, runs, dpbusd_loop_avx512);
        if (c.dpbusd_t > c.madd_t) {
            c.gmacs_1 = c.dpbusd_1, c.gmacs_t = c.dpbusd_t;
            c.instruction = "vpdpbusd zmm (AVX-512 VNNI, 64 MAC/instruction)";
        }
    }
#endif
    c.fmac_1 = peak_gmacs(1, iters / 2, runs, fmuladd_loop);
    c.fmac_t = peak_gmacs(threads, iters / 2, runs, fmuladd_loop);
    c.float_instruction = fmuladd_instruction();
    c.cache_bytes = 8u << 20;
    c.dram_bytes = quick ? (128u << 20) : (512u << 20);
    c.cache_gbs_1 = read_bandwidth(1, c.cache_bytes, runs * 4, 8);
    c.cache_gbs_t = read_bandwidth(threads, c.cache_bytes, runs * 4, 8);
    c.dram_gbs_1 = read_bandwidth(1, c.dram_bytes, runs);
    c.dram_gbs_t = read_bandwidth(threads, c.dram_bytes, runs);
    // Operands that fit in the cores' L2 caches are read faster than from the last level: with only
    // the 8 MiB figure, a 512 KiB one-row product ran at 1.24 of its "limit" (measured). Half of L2
    // per thread leaves room for everything else, as kCacheResident does for the last level.
    if (threads >= 2) {
        c.line_transfer_ns = line_transfer_ns(runs, quick ? 20'000 : 200'000);
        c.pool_run_us = pool_run_us(quick ? 20'000 : 200'000);
    }
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 > 0) {
        c.l2_bytes = size_t(l2);
        c.l2_gbs_1 = read_bandwidth(1, c.l2_bytes / 2, runs * 4, 64);
        c.l2_gbs_t = read_bandwidth(threads, c.l2_bytes / 2 * threads, runs * 4, 64);
    }
    return c;
}

// ---- limits -------------------------------------------------------------------------------------

struct Limit {
    double fraction = 0;
    std::string bound; // "compute", "memory" or "overhead"
    double limit_ms = 0;
};

// The least time the machine allows for this work on `threads` threads: the multiply-adds at peak
// rate, the operand pixels read once at the bandwidth of where they live (L2, last level, DRAM), or the fixed
// cost of a step (the fastest 1x1 MATMUL step among the CPU executors, or among the GL kernels for GL),
// whichever is largest. The fraction is that least time over the measured time.
Limit limit_for(const Ceilings& c, uint64_t macs, uint64_t bytes, unsigned threads, double overhead_ms,
                double measured_ms) {
    // More threads can always do what one thread did: on a machine shared with other work the
    // all-thread measurement can come out lower, and the ceiling is the better of the two.
    const bool all = threads > 1;
    const double gmacs = all ? std::max(c.gmacs_t * threads / c.threads, c.gmacs_1) : c.gmacs_1;
    const double gbs =
        bytes <= c.l2_bytes / 2 * threads ? (all ? std::max(c.l2_gbs_t, c.l2_gbs_1) : c.l2_gbs_1)
        : bytes <= kCacheResident         ? (all ? std::max(c.cache_gbs_t, c.cache_gbs_1) : c.cache_gbs_1)
                                          : (all ? std::max(c.dram_gbs_t, c.dram_gbs_1) : c.dram_gbs_1);
    const double t_compute = double(macs) / (gmacs * 1e6);
    const double t_memory = double(bytes) / (gbs * 1e6);
    Limit l;
    l.limit_ms = std::max({t_compute, t_memory, overhead_ms});
    l.bound = l.limit_ms == t_compute ? "compute" : l.limit_ms == t_memory ? "memory" : "overhead";
    l.fraction = measured_ms > 0 ? l.limit_ms / measured_ms : 0;
    return l;
}

// ---- executors under test -----------------------------------------------------------------------

enum Variant { kNaive, kCpuRef, kCpu, kGlSimple, kGlTiled, kVariants };
constexpr const char* kVariantKey[kVariants] = {"naive", "cpu_ref", "cpu", "gl_simple", "gl_tiled"};
constexpr const char* kVariantLabel[kVariants] = {"naive", "cpu ref", "cpu fast", "gl simple", "gl tiled"};

struct Context {
    Options opt;
    Report* report = nullptr;
    Ceilings ceilings;
    Budget budget{3, 15, 1000};
    bool gl = false;
    std::string gl_reason;
    std::string gl_renderer;
    double overhead_ms[kVariants] = {};
    px::FastSettings fast;          // the optimized CPU executor's threads
    bool naive_unsupported = false; // see execute_naive
};

void fail(Context& cx, const std::string& what) {
    cx.report->parity_ok = false;
    cx.report->errors.push_back(what);
}

void progress(const Context& cx, const std::string& line) {
    if (cx.opt.progress) std::fprintf(stderr, "bench: %s\n", line.c_str());
}

bool same_pixels(const Image& a, const Image& b) {
    return a.width == b.width && a.height == b.height && a.rgba == b.rgba;
}

// The reference result: the program run to its end (or one step) by execute_reference.
Image reference_result(const Image& prog, bool whole) {
    px::VmState vm = px::make_vm(prog);
    if (whole)
        px::run(vm);
    else
        px::step(vm);
    return std::move(vm.image);
}

// Times a CPU executor on the program: one step (the MATMUL), or the whole program.
std::optional<Timing> time_cpu(Context& cx, const Image& prog, const Image& expected, px::PlanExecutor exec,
                               bool whole, const std::string& what) {
    px::VmState vm = px::make_vm(prog);
    px::RunOptions ro;
    ro.execute = exec;
    const Timing t = measure(cx.budget, [&]() -> Sample {
        if (whole) {
            vm = px::make_vm(prog); // a fresh copy, outside the clock
            const auto t0 = Clock::now();
            px::run(vm, ro);
            return {ms_since(t0)};
        }
        vm.pc = 0, vm.steps = 0, vm.status = px::VmStatus::Ready; // same step again: idempotent
        const auto t0 = Clock::now();
        px::step(vm, nullptr, exec);
        return {ms_since(t0)};
    });
    if (vm.status == px::VmStatus::Trapped) {
        fail(cx, what + ": trapped: " + px::describe_trap(vm.trap));
        return std::nullopt;
    }
    if (!same_pixels(vm.image, expected)) {
        fail(cx, what + ": PARITY FAILURE: the output image differs from execute_reference's");
        return std::nullopt;
    }
    return t;
}

#if PXOS_HAVE_GL
std::optional<Timing> time_gl(Context& cx, const Image& prog, const Image& expected,
                              px::gl::MatmulKernel kernel, bool whole, const std::string& what) {
    px::gl::ExecutorDesc desc;
    desc.matmul = kernel;
    desc.gpu_timing = true;
    auto ex = px::gl::create_executor(prog, desc);
    if (!ex) {
        fail(cx, what + ": " + ex.error().message);
        return std::nullopt;
    }
    std::string step_error;
    const Timing t = measure(cx.budget, [&]() -> Sample {
        if (auto st = px::gl::reset_executor(*ex, prog); !st) step_error = st.error().message;
        glFinish(); // the upload is not part of the step
        Sample s{0, 0};
        const auto t0 = Clock::now();
        do {
            const px::gl::GlStepResult r = px::gl::gl_step(*ex);
            if (r.gpu_ms < 0) s.gpu_ms = -1;
            if (s.gpu_ms >= 0) s.gpu_ms += r.gpu_ms;
        } while (whole && px::gl::gl_status(*ex) == px::VmStatus::Ready);
        glFinish();
        s.host_ms = ms_since(t0);
        return s;
    });
    if (!step_error.empty()) {
        fail(cx, what + ": " + step_error);
        return std::nullopt;
    }
    if (px::gl::gl_status(*ex) == px::VmStatus::Trapped) {
        fail(cx, what + ": trapped: " + px::describe_trap(px::gl::gl_trap(*ex)));
        return std::nullopt;
    }
    if (!same_pixels(px::gl::gl_read_image(*ex), expected)) {
        fail(cx, what + ": PARITY FAILURE: the GL output image differs from execute_reference's");
        return std::nullopt;
    }
    return t;
}

// The debugger's per-step texture update: glTexSubImage2D of the step's written rectangles into
// an RGBA8UI texture of the program's size, timed with a glFinish.
std::optional<Timing> time_texture_update(Context& cx, const Image& img, const std::vector<px::Rect>& rects) {
    GLuint tex = 0;
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexStorage2D(GL_TEXTURE_2D, 1, GL_RGBA8UI, GLsizei(img.width), GLsizei(img.height));
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, GLint(img.width));
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, GLsizei(img.width), GLsizei(img.height), GL_RGBA_INTEGER,
                    GL_UNSIGNED_BYTE, img.rgba.data());
    glFinish();
    const Timing t = measure(cx.budget, [&]() -> Sample {
        const auto t0 = Clock::now();
        for (const px::Rect& r : rects)
            glTexSubImage2D(GL_TEXTURE_2D, 0, GLint(r.x), GLint(r.y), GLsizei(r.w), GLsizei(r.h),
                            GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, img.at(r.x, r.y));
        glFinish();
        return {ms_since(t0)};
    });
    const GLenum err = glGetError();
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glDeleteTextures(1, &tex);
    if (err != GL_NO_ERROR) {
        cx.report->errors.push_back("texture update: GL error " + std::to_string(err));
        return std::nullopt;
    }
    return t;
}
#endif

// Times every variant on one program; results indexed by Variant, nullopt when unavailable.
std::array<std::optional<Timing>, kVariants> time_variants(Context& cx, const Image& prog, bool whole,
                                                           const std::string& name) {
    std::array<std::optional<Timing>, kVariants> r;
    const Image expected = reference_result(prog, whole);
    const px::PlanExecutor cpu_exec[3] = {
        [&cx](Image& img, const px::Plan& p) { execute_naive(img, p, cx.naive_unsupported); },
        px::execute_reference, px::fast_executor(cx.fast)};
    for (int v = kNaive; v <= kCpu; ++v) {
        r[v] = time_cpu(cx, prog, expected, cpu_exec[v], whole, name + " " + kVariantKey[v]);
        if (r[v]) progress(cx, name + " " + kVariantKey[v] + ": " + std::to_string(r[v]->ms) + " ms");
    }
#if PXOS_HAVE_GL
    if (cx.gl) {
        r[kGlSimple] = time_gl(cx, prog, expected, px::gl::MatmulKernel::Simple, whole, name + " gl_simple");
        r[kGlTiled] = time_gl(cx, prog, expected, px::gl::MatmulKernel::Tiled, whole, name + " gl_tiled");
        for (int v : {kGlSimple, kGlTiled})
            if (r[v]) progress(cx, name + " " + kVariantKey[v] + ": " + std::to_string(r[v]->ms) + " ms");
    }
#endif
    return r;
}

// The threads each variant runs on, for its ceiling: the naive and reference loops are
// single-threaded; llvmpipe spreads compute over every core.
unsigned variant_threads(const Context& cx, int v, uint64_t macs) {
    switch (v) {
    case kCpu: return px::fast_threads_for(cx.fast, macs);
    case kGlSimple:
    case kGlTiled: return cx.ceilings.threads;
    default: return 1;
    }
}

struct ShapeSpec {
    std::string name;
    uint32_t M, K, N, width;
};

std::vector<ShapeSpec> shapes_for(bool quick) {
    if (quick)
        return {{"pixellm-hidden", 1, 128, 128, 1024},
                {"pixellm-out", 1, 128, 1024, 1024},
                {"batch16-wide", 16, 128, 256, 64}, // 64 wide: B needs rows past 255 (WIDE)
                {"batch32", 32, 256, 256, 1024}};
    return {{"pixellm-hidden", 1, 128, 128, 1024}, {"pixellm-out", 1, 128, 1024, 1024},
            {"matvec-1k", 1, 1024, 1024, 4096},    {"batch16-512", 16, 512, 512, 2048},
            {"batch64-1k", 64, 1024, 1024, 4096},  {"batch128-1k", 128, 1024, 1024, 4096},
            {"batch256-1k", 256, 1024, 1024, 4096}};
}

// ---- results: what the measurements return, and all that the reports are made from ------------

using VariantTimes = std::array<std::optional<Timing>, kVariants>;

struct MachineInfo {
    std::string cpu = "unknown";
    unsigned hardware_threads = 1, threads = 1;
    bool gl = false;
    std::string gl_renderer, gl_reason;
};

struct ShapeResult {
    ShapeSpec spec;
    uint32_t width = 0, height = 0;
    bool wide = false;
    uint64_t macs = 0, bytes = 0;
    VariantTimes t;
    std::array<Limit, kVariants> limit;
    std::array<unsigned, kVariants> threads{};
    std::optional<double> texture_update_ms;
};

struct ForwardResult {
    std::string source;
    uint32_t width = 0, height = 0;
    bool naive_applies = true;
    VariantTimes t;
};

struct PngResult {
    uint32_t side = 0;
    std::optional<double> save_ms, load_ms;
    std::optional<uint64_t> file_bytes;
    bool round_trip = false;
};

// One shape against the peers: the same M, K, N and zero points for everyone.
struct PeerShape {
    std::string name;
    uint32_t M = 0, K = 0, N = 0;
    int32_t za = 0, zb = 0;
    uint64_t macs = 0;
    std::optional<double> ours_ms;        // execute_fast's QMATMUL32 step: gather, product, int32 pixels out
    std::optional<double> ours_kernel_ms; // gemm_u8 alone on contiguous uint8 (no gather or scatter)
    std::optional<double> ours_packed_ms; // gemm_u8_packed: B packed once outside the clock (weights)
    std::optional<double> onednn_folded_ms; // dnnl_gemm_u8s8s32, same operands (b - 128 as int8), bo folded
    std::optional<double> onednn_bo_ms;     // the same with bo = zb - 128 passed to oneDNN
    // oneDNN's figure: the faster of its two setups.
    std::optional<double> onednn_ms() const {
        if (onednn_folded_ms && onednn_bo_ms) return std::min(*onednn_folded_ms, *onednn_bo_ms);
        return onednn_folded_ms ? onednn_folded_ms : onednn_bo_ms;
    }
    std::optional<double> sgemm_ms;       // cblas_sgemm on the operands less their zero points, as float
    std::optional<bool> onednn_identical; // oneDNN's int32 C equals our QMATMUL32 output, element by element
};

struct PeerResults {
    PeerInfo onednn, openblas;
    std::string our_kernel;
    unsigned threads = 1;
    std::vector<PeerShape> shapes;
};

// FMATMUL (float32, the F.5 order) on one shape: every executor, OpenBLAS's unconstrained sgemm
// on the same floats, and the float ceiling.
struct FloatShape {
    std::string name;
    uint32_t M = 0, K = 0, N = 0;
    uint64_t macs = 0;
    bool wide = false;
    unsigned threads = 1;             // the optimized executor's, for this shape
    std::optional<double> cpu_ref_ms; // execute_reference
    std::optional<double> cpu_ms;     // execute_fast
    std::optional<double> gl_simple_ms, gl_tiled_ms;
    std::optional<double> sgemm_ms;      // cblas_sgemm, any order, fma allowed
    std::optional<double> sgemm_max_rel; // max |ours - sgemm| / max |sgemm|: what the order changes
    bool plain = false;                  // execute_fast ran the kernel without per-operation canon
};

struct FloatResults {
    std::vector<FloatShape> shapes;
};

struct Results {
    bool quick = false;
    MachineInfo machine;
    Ceilings ceilings;
    GlCeilings gl_ceilings; // the GL device's own (bench_gl.h)
    VariantTimes overhead;
    std::vector<ShapeResult> shapes;
    std::vector<ForwardResult> forwards;
    PngResult png;
    PeerResults peers;
    FloatResults floats;
    std::string plot_path; // set when the plot was written
};

// ---- measuring ----------------------------------------------------------------------------------

MachineInfo measure_machine(unsigned threads, const Context& cx) {
    MachineInfo m;
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) {
            m.cpu = line.substr(line.find(':') + 2);
            break;
        }
    m.hardware_threads = std::max(1u, std::thread::hardware_concurrency());
    m.threads = threads;
    m.gl = cx.gl;
    m.gl_renderer = cx.gl_renderer;
    m.gl_reason = cx.gl_reason;
    return m;
}

// Each executor's fixed cost per step: a 1x1 @ 1x1 MATMUL. The floor of a step is the cheapest
// any executor of the same kind did it in (an executor's own fixed cost is not a limit of the
// machine).
VariantTimes measure_overheads(Context& cx) {
    const MatmulProgram tiny = build_matmul(1, 1, 1, 4, 1);
    const VariantTimes t = time_variants(cx, tiny.image, false, "overhead");
    auto cheapest = [&](int v0, int v1) {
        double best = 0;
        for (int v = v0; v <= v1; ++v)
            if (t[v] && (best == 0 || t[v]->ms < best)) best = t[v]->ms;
        return best;
    };
    for (int v = 0; v < kVariants; ++v)
        cx.overhead_ms[v] = v <= kCpu ? cheapest(kNaive, kCpu) : cheapest(kGlSimple, kGlTiled);
    return t;
}

ShapeResult measure_shape(Context& cx, const ShapeSpec& s) {
    const MatmulProgram prog = build_matmul(s.M, s.K, s.N, s.width, 1000 + s.M + s.K + s.N);
    ShapeResult r;
    r.spec = s;
    r.width = prog.image.width, r.height = prog.image.height, r.wide = prog.wide;
    r.macs = uint64_t(s.M) * s.K * s.N;
    r.bytes = 4 * (uint64_t(s.M) * s.K + uint64_t(s.K) * s.N + uint64_t(s.M) * s.N);
    progress(cx, s.name);
    r.t = time_variants(cx, prog.image, false, s.name);
    for (int v = 0; v < kVariants; ++v)
        if (r.t[v]) {
            r.threads[v] = variant_threads(cx, v, r.macs);
            r.limit[v] = limit_for(cx.ceilings, r.macs, r.bytes, r.threads[v], cx.overhead_ms[v], r.t[v]->ms);
        }
#if PXOS_HAVE_GL
    if (cx.gl) {
        auto planned =
            px::plan_instruction(px::image_fetch(prog.image), prog.image.width, prog.image.height, 0);
        if (auto* plan = std::get_if<px::Plan>(&planned))
            if (auto tu = time_texture_update(cx, reference_result(prog.image, false), plan->writes))
                r.texture_update_ms = tu->ms;
    }
#endif
    return r;
}

// Whole Pixel-LLM forward passes: the project's quantized program (Protocol 1.1) and the
// prototype's v0.0.3 program, each from assets/ when it is there, else built to the same shape
// (v0.0.3 opcodes, random weights). The naive baseline exists only for the prototype's opcodes.
ForwardResult measure_forward(Context& cx, const std::string& asset) {
    ForwardResult r;
    Image prog;
    r.source = asset;
    if (std::filesystem::exists(asset)) {
        auto loaded = px::load_png(asset);
        if (loaded)
            prog = std::move(loaded->image);
        else
            cx.report->errors.push_back(loaded.error().message + " (using a built program instead)");
    }
    if (prog.rgba.empty()) {
        prog = build_pixellm(7);
        r.source = "built (" + asset + " missing): the Pixel-LLM's shapes, v0.0.3 opcodes, random weights";
    }
    r.width = prog.width, r.height = prog.height;
    progress(cx, "forward pass " + r.source);
    cx.naive_unsupported = false;
    r.t = time_variants(cx, prog, true, "forward pass " + r.source);
    r.naive_applies = !cx.naive_unsupported;
    if (!r.naive_applies) r.t[kNaive].reset();
    return r;
}

// PNG load and save of a 4096x4096 program (1024x1024 with --quick).
PngResult measure_png(Context& cx) {
    PngResult r;
    r.side = cx.opt.quick ? 1024 : 4096;
    const uint32_t side = r.side;
    Image big = px::make_image(side, side);
    std::mt19937 rng(3);
    (void)px::write_matrix(big, 1, {side - 1, side - 1}, dense_values(rng, uint64_t(side - 1) * (side - 1)));
    put_instruction(big, 0, Opcode::RELU, 1, 0, 0);
    put_instruction(big, 1, Opcode::HALT, 0, 0, 0);
    const std::string path =
        (std::filesystem::temp_directory_path() / ("pxi-bench-" + std::to_string(::getpid()) + ".pxi"))
            .string();
    progress(cx, "png " + std::to_string(side));
    const Budget png_budget{3, 5, 0, cx.opt.quick};
    std::string io_error;
    const Timing save = measure(png_budget, [&]() -> Sample {
        const auto t0 = Clock::now();
        if (auto st = px::save_png(big, path); !st) io_error = st.error().message;
        return {ms_since(t0)};
    });
    const Timing load = measure(png_budget, [&]() -> Sample {
        const auto t0 = Clock::now();
        auto loaded = px::load_png(path);
        const double ms = ms_since(t0);
        if (!loaded)
            io_error = loaded.error().message;
        else
            r.round_trip = same_pixels(loaded->image, big);
        return {ms};
    });
    std::error_code ec;
    const auto file_bytes = std::filesystem::file_size(path, ec);
    std::filesystem::remove(path, ec);
    if (!io_error.empty()) fail(cx, "png: " + io_error);
    if (io_error.empty() && !r.round_trip)
        fail(cx, "png: PARITY FAILURE: the loaded image differs from the saved one");
    if (io_error.empty()) r.save_ms = save.ms, r.load_ms = load.ms;
    if (!ec) r.file_bytes = uint64_t(file_bytes);
    return r;
}

// A QMATMUL32 program (PROTOCOL.md §5.5.5): c = the int32 accumulators of (a - za) @ (b - zb),
// no bias; a and b hold the given values.
MatmulProgram build_qmatmul32(uint32_t M, uint32_t K, uint32_t N, uint32_t width,
                              const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int32_t za,
                              int32_t zb) {
    const MatrixHeader ha{K, M}, hb{N, K}, hc{N, M};
    const px::Allocation al = px::allocate_rows({ha, hb, hc}, width);
    MatmulProgram p;
    p.image = px::make_image(width, al.height);
    p.row_a = al.rows[0], p.row_b = al.rows[1], p.row_c = al.rows[2];
    (void)px::write_matrix(p.image, p.row_a, ha, a);
    (void)px::write_matrix(p.image, p.row_b, hb, b);
    uint32_t x = put_instruction(p.image, 0, Opcode::QMATMUL32, p.row_a, p.row_b, p.row_c);
    p.wide = x == 2;
    px::QMatmul32Params q;
    q.za = uint8_t(za), q.zb = uint8_t(zb);
    for (const px::Rgba& param : px::encode_params(q))
        p.image.set_pixel(x++, 0, param);
    put_instruction(p.image, x, Opcode::HALT, 0, 0, 0);
    return p;
}

// Our integer product against oneDNN's and OpenBLAS's float one, on the MATMUL shapes, with
// zero points (QMATMUL32 writes the int32 accumulator MATMUL and QMATMUL also compute, so its
// output can be compared with oneDNN's element by element). The peers are given contiguous
// operands prepared outside the clock; we are timed both as the executor step (gathering the
// operands out of the pixel layout and writing int32 pixels back) and as gemm_u8 alone.
PeerResults measure_peers(Context& cx, unsigned threads) {
    PeerResults r;
    r.onednn = onednn_info();
    r.openblas = openblas_info();
    r.our_kernel = px::gemm_kernel_name();
    r.threads = threads;
    set_peer_threads(threads);
    const int32_t za = 3, zb = 131; // an activation zero point near 0 and a weight one near 128
    px::GemmWorkspace gemm_ws;      // ours keeps its buffers and threads from call to call, as
    px::ThreadPool pool;            // the fast executor does
    for (const ShapeSpec& s : shapes_for(cx.opt.quick)) {
        PeerShape ps;
        ps.name = s.name, ps.M = s.M, ps.K = s.K, ps.N = s.N, ps.za = za, ps.zb = zb;
        ps.macs = uint64_t(s.M) * s.K * s.N;
        progress(cx, "peers " + s.name);
        std::mt19937 rng(77 + s.M + s.K + s.N);
        std::vector<uint8_t> a(size_t(s.M) * s.K), b(size_t(s.K) * s.N);
        for (auto& v : a)
            v = uint8_t(rng());
        for (auto& v : b)
            v = uint8_t(rng());
        const MatmulProgram prog = build_qmatmul32(s.M, s.K, s.N, s.width, a, b, za, zb);
        const Image expected = reference_result(prog.image, false);
        const std::string what = "peers " + s.name + " cpu (QMATMUL32)";
        if (auto t = time_cpu(cx, prog.image, expected, px::fast_executor(cx.fast), false, what))
            ps.ours_ms = t->ms;

        const unsigned our_threads = px::fast_threads_for(cx.fast, ps.macs);
        std::vector<uint32_t> acc(size_t(s.M) * s.N), acc_packed(acc.size());
        ps.ours_kernel_ms = measure(cx.budget, [&]() -> Sample {
                                const auto t0 = Clock::now();
                                px::gemm_u8({a.data(), b.data(), s.M, s.K, s.N, za, zb}, our_threads,
                                            acc.data(), gemm_ws, &pool);
                                return {ms_since(t0)};
                            }).ms;
        // As the executor runs a weight matrix step after step: B packed once (outside the clock).
        px::GemmPackedB packed;
        px::gemm_pack_b(b.data(), s.K, s.N, zb, px::GemmKernel::Auto, our_threads, &pool, packed);
        ps.ours_packed_ms =
            measure(cx.budget, [&]() -> Sample {
                const auto t0 = Clock::now();
                px::gemm_u8_packed(a.data(), s.M, za, packed, our_threads, acc_packed.data(), gemm_ws, &pool);
                return {ms_since(t0)};
            }).ms;
        if (acc_packed != acc)
            fail(cx, "peers " + s.name + ": PARITY FAILURE: gemm_u8_packed differs from gemm_u8");
        // The expected accumulators, from the reference's output pixels.
        std::vector<int32_t> want(acc.size());
        const uint32_t w = expected.width;
        for (uint64_t i = 0; i < want.size(); ++i)
            want[i] = px::rgba_to_i32(
                expected.pixel(uint32_t(1 + i % (w - 1)), uint32_t(prog.row_c + i / (w - 1))));
        if (!std::equal(want.begin(), want.end(), acc.begin(),
                        [](int32_t x, uint32_t y) { return uint32_t(x) == y; }))
            fail(cx,
                 "peers " + s.name + ": PARITY FAILURE: gemm_u8 differs from execute_reference's QMATMUL32");

        if (r.onednn.built) {
            std::vector<int8_t> b8(b.size());
            for (size_t i = 0; i < b.size(); ++i)
                b8[i] = int8_t(b[i] ^ 0x80u); // b - 128
            for (bool fold : {true, false}) {
                std::vector<int32_t> c(acc.size(), 0);
                std::string err;
                const Timing t = measure(cx.budget, [&]() -> Sample {
                    const auto t0 = Clock::now();
                    std::string e =
                        onednn_gemm_u8s8s32(a.data(), b8.data(), s.M, s.K, s.N, za, zb, fold, c.data());
                    const double ms = ms_since(t0);
                    if (!e.empty()) err = e;
                    return {ms};
                });
                if (!err.empty()) {
                    cx.report->errors.push_back("peers " + s.name + ": oneDNN: " + err);
                    continue;
                }
                (fold ? ps.onednn_folded_ms : ps.onednn_bo_ms) = t.ms;
                const bool same = c == want;
                ps.onednn_identical = ps.onednn_identical.value_or(true) && same;
                // Where oneDNN's product is exact (VNNI), a difference is a bug in the mapping;
                // without VNNI its int16 saturation may differ: said in the JSON, not a failure.
                if (!same && r.onednn.exact_int8)
                    fail(cx, "peers " + s.name + ": oneDNN's int32 result" +
                                 (fold ? " (zero point folded)" : "") +
                                 " differs from our QMATMUL32 (the mapping in bench_peers.h is exact, so "
                                 "this is a bug)");
                if (!same && !r.onednn.exact_int8 && fold)
                    cx.report->errors.push_back("peers " + s.name +
                                                ": oneDNN's int32 result differs from the exact product here "
                                                "(no VNNI: int16 saturation, see onednn.kernel); its times "
                                                "are of an inexact product");
            }
        }
        if (r.openblas.built) {
            std::vector<float> fa(a.size()), fb(b.size()), fc(acc.size());
            for (size_t i = 0; i < a.size(); ++i)
                fa[i] = float(int32_t(a[i]) - za);
            for (size_t i = 0; i < b.size(); ++i)
                fb[i] = float(int32_t(b[i]) - zb);
            std::string err;
            const Timing t = measure(cx.budget, [&]() -> Sample {
                const auto t0 = Clock::now();
                std::string e = openblas_sgemm(fa.data(), fb.data(), s.M, s.K, s.N, fc.data());
                const double ms = ms_since(t0);
                if (!e.empty()) err = e;
                return {ms};
            });
            if (!err.empty())
                cx.report->errors.push_back("peers " + s.name + ": OpenBLAS: " + err);
            else
                ps.sgemm_ms = t.ms;
        }
        r.shapes.push_back(ps);
    }
    return r;
}

// An FMATMUL program (PROTOCOL.md §11): c = a @ b in float32, no bias, no activation.
MatmulProgram build_fmatmul(uint32_t M, uint32_t K, uint32_t N, uint32_t width, const std::vector<float>& a,
                            const std::vector<float>& b) {
    const MatrixHeader ha{K, M}, hb{N, K}, hc{N, M};
    const px::Allocation al = px::allocate_rows({ha, hb, hc}, width);
    MatmulProgram p;
    p.image = px::make_image(width, al.height);
    p.row_a = al.rows[0], p.row_b = al.rows[1], p.row_c = al.rows[2];
    auto put = [&](uint32_t row, const MatrixHeader& h, const std::vector<float>& v) {
        p.image.set_pixel(0, row, px::encode_header(h));
        for (uint64_t i = 0; i < v.size(); ++i) {
            uint32_t bits;
            std::memcpy(&bits, &v[i], 4);
            p.image.set_pixel(px::element_x(i, width), uint32_t(px::element_y(i, row, width)),
                              {uint8_t(bits), uint8_t(bits >> 8), uint8_t(bits >> 16), uint8_t(bits >> 24)});
        }
    };
    put(p.row_a, ha, a);
    put(p.row_b, hb, b);
    uint32_t x = put_instruction(p.image, 0, Opcode::FMATMUL, p.row_a, p.row_b, p.row_c);
    p.wide = x == 2;
    for (const px::Rgba& param : px::encode_params(px::FMatmulParams{}))
        p.image.set_pixel(x++, 0, param);
    put_instruction(p.image, x, Opcode::HALT, 0, 0, 0);
    return p;
}

std::vector<ShapeSpec> float_shapes_for(bool quick) {
    if (quick) return {{"pixellm-hidden", 1, 128, 128, 1024}, {"batch32", 32, 256, 256, 1024}};
    return {{"pixellm-out", 1, 128, 1024, 1024},
            {"batch16-512", 16, 512, 512, 2048},
            {"batch64-1k", 64, 1024, 1024, 4096},
            {"batch256-1k", 256, 1024, 1024, 4096}};
}

// FMATMUL on every executor, against OpenBLAS's sgemm on the same floats (normal(0, 1): the
// values of trained weights and activations, which take the fast executor's plain kernel).
FloatResults measure_float(Context& cx) {
    FloatResults r;
    for (const ShapeSpec& s : float_shapes_for(cx.opt.quick)) {
        FloatShape fs;
        fs.name = s.name, fs.M = s.M, fs.K = s.K, fs.N = s.N;
        fs.macs = uint64_t(s.M) * s.K * s.N;
        fs.threads = px::fast_threads_for(cx.fast, fs.macs);
        progress(cx, "float " + s.name);
        std::mt19937 rng(91 + s.M + s.K + s.N);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> a(size_t(s.M) * s.K), b(size_t(s.K) * s.N);
        for (auto& v : a)
            v = normal(rng);
        for (auto& v : b)
            v = normal(rng);
        const MatmulProgram prog = build_fmatmul(s.M, s.K, s.N, s.width, a, b);
        fs.wide = prog.wide;
        const Image expected = reference_result(prog.image, false);
        const std::string what = "float " + s.name;
        // The reference (about 0.05 GMAC/s on FMATMUL) and llvmpipe would take minutes on the largest
        // shape; they are timed up to 2^26 multiply-adds (64x1024 @ 1024x1024), the parity of the
        // fast executor is checked on every shape.
        const bool slow_ok = fs.macs <= (uint64_t(1) << 26);
        if (slow_ok)
            if (auto t = time_cpu(cx, prog.image, expected, px::execute_reference, false, what + " cpu_ref"))
                fs.cpu_ref_ms = t->ms;
        px::FastStats stats;
        px::FastSettings settings = cx.fast;
        settings.stats = &stats;
        if (auto t = time_cpu(cx, prog.image, expected, px::fast_executor(settings), false, what + " cpu"))
            fs.cpu_ms = t->ms;
        fs.plain = stats.fmatmul_plain > 0 && stats.fmatmul_canon == 0;
#if PXOS_HAVE_GL
        if (cx.gl && slow_ok) {
            if (auto t = time_gl(cx, prog.image, expected, px::gl::MatmulKernel::Simple, false,
                                 what + " gl_simple"))
                fs.gl_simple_ms = t->ms;
            if (auto t =
                    time_gl(cx, prog.image, expected, px::gl::MatmulKernel::Tiled, false, what + " gl_tiled"))
                fs.gl_tiled_ms = t->ms;
        }
#endif
        if (openblas_info().built) {
            std::vector<float> c(size_t(s.M) * s.N);
            std::string err;
            const Timing t = measure(cx.budget, [&]() -> Sample {
                const auto t0 = Clock::now();
                std::string e = openblas_sgemm(a.data(), b.data(), s.M, s.K, s.N, c.data());
                const double ms = ms_since(t0);
                if (!e.empty()) err = e;
                return {ms};
            });
            if (!err.empty()) {
                cx.report->errors.push_back(what + ": OpenBLAS: " + err);
            } else {
                fs.sgemm_ms = t.ms;
                // How far the unconstrained order lands from ours (the reference's bits).
                const uint32_t w = expected.width;
                double diff = 0, scale = 0;
                for (uint64_t i = 0; i < c.size(); ++i) {
                    const px::Rgba px =
                        expected.pixel(uint32_t(1 + i % (w - 1)), uint32_t(prog.row_c + i / (w - 1)));
                    const uint32_t bits = uint32_t(px[0]) | uint32_t(px[1]) << 8 | uint32_t(px[2]) << 16 |
                                          uint32_t(px[3]) << 24;
                    float ours;
                    std::memcpy(&ours, &bits, 4);
                    diff = std::max(diff, double(std::fabs(ours - c[i])));
                    scale = std::max(scale, double(std::fabs(c[i])));
                }
                fs.sgemm_max_rel = scale > 0 ? diff / scale : 0.0;
            }
        }
        r.shapes.push_back(fs);
    }
    return r;
}

// The float multiply-add ceiling for `threads` threads (as limit_for scales the integer one).
double float_peak(const Ceilings& c, unsigned threads) {
    return threads > 1 ? std::max(c.fmac_t * threads / c.threads, c.fmac_1) : c.fmac_1;
}

// ---- reporting: one JSON writer, the table and the plot from the same Results -------------------

json opt_json(const std::optional<double>& v) {
    return v ? json(*v) : json(nullptr);
}
json ms_or_null(const std::optional<Timing>& t) {
    return t ? json(t->ms) : json(nullptr);
}
json gpu_ms_or_null(const std::optional<Timing>& t) {
    return t && t->gpu_ms >= 0 ? json(t->gpu_ms) : json(nullptr);
}
std::optional<double> ms_opt(const std::optional<Timing>& t) {
    return t ? std::optional<double>(t->ms) : std::nullopt;
}
std::optional<double> ratio(const std::optional<double>& num, const std::optional<double>& den) {
    if (num && den && *den > 0) return *num / *den;
    return std::nullopt;
}
std::optional<double> gmacs_of(uint64_t macs, const std::optional<double>& ms) {
    if (ms && *ms > 0) return double(macs) / (*ms * 1e6);
    return std::nullopt;
}
std::optional<double> peak_fraction(const Ceilings& c, uint64_t macs, const std::optional<double>& ms) {
    const auto g = gmacs_of(macs, ms);
    const double peak = std::max(c.gmacs_t, c.gmacs_1);
    if (g && peak > 0) return *g / peak;
    return std::nullopt;
}

json peer_info_json(const PeerInfo& p) {
    return {{"built", p.built},
            {"library", p.built ? json(p.library) : json(nullptr)},
            {"kernel", p.built ? json(p.kernel) : json(nullptr)},
            {"note", p.note},
            {"exact_int8", p.built ? json(p.exact_int8) : json(nullptr)}};
}

std::vector<PlotSeries> plot_series(const Results& r);

json to_json(const Results& r, const Report& report) {
    json j;
    j["tool"] = "pxi bench";
    j["schema"] = 3;
    j["quick"] = r.quick;
    const MachineInfo& m = r.machine;
    j["machine"] = {{"cpu", m.cpu},
                    {"hardware_threads", m.hardware_threads},
                    {"threads_used", m.threads},
                    {"gl_available", m.gl},
                    {"gl_renderer", m.gl ? json(m.gl_renderer) : json(nullptr)},
                    {"gl_unavailable_reason", m.gl ? json(nullptr) : json(m.gl_reason)}};
    const Ceilings& c = r.ceilings;
    j["limits"] = {{"madd_instruction", c.instruction},
                   {"gmacs_per_core", c.gmacs_1},
                   {"gmacs_all_threads", c.gmacs_t},
                   {"vpmaddwd_gmacs_per_core", c.madd_1},
                   {"vpmaddwd_gmacs_all_threads", c.madd_t},
                   {"vpdpbusd_gmacs_per_core", c.dpbusd_1 > 0 ? json(c.dpbusd_1) : json(nullptr)},
                   {"vpdpbusd_gmacs_all_threads", c.dpbusd_t > 0 ? json(c.dpbusd_t) : json(nullptr)},
                   {"cache_read_gbs_1_thread", c.cache_gbs_1},
                   {"cache_read_gbs_all_threads", c.cache_gbs_t},
                   {"cache_buffer_bytes", c.cache_bytes},
                   {"dram_read_gbs_1_thread", c.dram_gbs_1},
                   {"dram_read_gbs_all_threads", c.dram_gbs_t},
                   {"dram_buffer_bytes", c.dram_bytes},
                   {"l2_read_gbs_1_thread", c.l2_bytes ? json(c.l2_gbs_1) : json(nullptr)},
                   {"l2_read_gbs_all_threads", c.l2_bytes ? json(c.l2_gbs_t) : json(nullptr)},
                   {"l2_bytes_per_core", c.l2_bytes},
                   {"cache_resident_bytes", kCacheResident},
                   {"line_transfer_ns", c.line_transfer_ns > 0 ? json(c.line_transfer_ns) : json(nullptr)},
                   {"pool_run_us", c.pool_run_us > 0 ? json(c.pool_run_us) : json(nullptr)}};
    json o;
    for (int v = 0; v < kVariants; ++v)
        o[kVariantKey[v]] = ms_or_null(r.overhead[v]);
    j["limits"]["overhead_ms"] = o;
    const GlCeilings& g = r.gl_ceilings;
    j["limits"]["gl"] = {{"measured", g.measured},
                         {"error", g.measured ? json(nullptr) : json(g.error)},
                         {"renderer", m.gl ? json(m.gl_renderer) : json(nullptr)},
                         {"read_gbs", g.measured ? json(g.read_gbs) : json(nullptr)},
                         {"read_bytes", g.measured ? json(g.read_bytes) : json(nullptr)},
                         {"float_mul_add_gmacs", g.measured ? json(g.float_gmacs) : json(nullptr)},
                         {"int_mul_add_gmacs", g.measured ? json(g.int_gmacs) : json(nullptr)}};
    // A GL time's multiply-add rate as a fraction of the GL device's peak of that kind.
    auto of_gl_peak = [&](uint64_t macs, const std::optional<double>& ms, double peak) -> json {
        const auto rate = gmacs_of(macs, ms);
        return rate && g.measured && peak > 0 ? json(*rate / peak) : json(nullptr);
    };

    j["shapes"] = json::array();
    for (const ShapeResult& s : r.shapes) {
        json sj = {{"name", s.spec.name}, {"m", s.spec.M},      {"k", s.spec.K},
                   {"n", s.spec.N},       {"macs", s.macs},     {"operand_bytes", s.bytes},
                   {"width", s.width},    {"height", s.height}, {"wide", s.wide}};
        json gm, sp, lim;
        for (int v = 0; v < kVariants; ++v) {
            sj[std::string(kVariantKey[v]) + "_ms"] = ms_or_null(s.t[v]);
            gm[kVariantKey[v]] = s.t[v] ? json(double(s.macs) / (s.t[v]->ms * 1e6)) : json(nullptr);
            sp[kVariantKey[v]] = s.t[v] && s.t[kNaive] ? json(s.t[kNaive]->ms / s.t[v]->ms) : json(nullptr);
            lim[kVariantKey[v]] = s.t[v] ? json{{"fraction_of_limit", s.limit[v].fraction},
                                                {"bound", s.limit[v].bound},
                                                {"limit_ms", s.limit[v].limit_ms},
                                                {"threads", s.threads[v]}}
                                         : json(nullptr);
        }
        sj["gl_simple_gpu_ms"] = gpu_ms_or_null(s.t[kGlSimple]);
        sj["gl_tiled_gpu_ms"] = gpu_ms_or_null(s.t[kGlTiled]);
        sj["gmacs"] = gm;
        sj["speedup_vs_naive"] = sp;
        // The headline figures are the optimized CPU executor's; every variant's are in "limits".
        sj["fraction_of_limit"] = s.t[kCpu] ? json(s.limit[kCpu].fraction) : json(nullptr);
        sj["bound"] = s.t[kCpu] ? json(s.limit[kCpu].bound) : json(nullptr);
        sj["limits"] = lim;
        // Of the GL device's integer multiply-add peak (limits.gl): the bound that matters on a GPU.
        sj["of_gl_int_peak"] = {{"gl_simple", of_gl_peak(s.macs, ms_opt(s.t[kGlSimple]), g.int_gmacs)},
                                {"gl_tiled", of_gl_peak(s.macs, ms_opt(s.t[kGlTiled]), g.int_gmacs)}};
        sj["texture_update_ms"] = opt_json(s.texture_update_ms);
        j["shapes"].push_back(sj);
    }

    j["forward_passes"] = json::array();
    for (const ForwardResult& f : r.forwards) {
        json fj = {{"source", f.source},
                   {"width", f.width},
                   {"height", f.height},
                   {"naive_note", f.naive_applies
                                      ? json(nullptr)
                                      : json("the program uses opcodes the prototype did not have "
                                             "(naive baseline not applicable)")}};
        json sp;
        for (int v = 0; v < kVariants; ++v) {
            fj[std::string(kVariantKey[v]) + "_ms"] = ms_or_null(f.t[v]);
            sp[kVariantKey[v]] = f.t[v] && f.t[kNaive] ? json(f.t[kNaive]->ms / f.t[v]->ms) : json(nullptr);
        }
        fj["gl_simple_gpu_ms"] = gpu_ms_or_null(f.t[kGlSimple]);
        fj["gl_tiled_gpu_ms"] = gpu_ms_or_null(f.t[kGlTiled]);
        fj["speedup_vs_naive"] = sp;
        j["forward_passes"].push_back(fj);
    }
    if (!j["forward_passes"].empty()) j["forward_pass"] = j["forward_passes"][0];

    const PngResult& p = r.png;
    j["png"] = {{"width", p.side},
                {"height", p.side},
                {"save_ms", opt_json(p.save_ms)},
                {"load_ms", opt_json(p.load_ms)},
                {"file_bytes", p.file_bytes ? json(*p.file_bytes) : json(nullptr)},
                {"raw_bytes", uint64_t(p.side) * p.side * 4},
                {"round_trip_identical", p.round_trip}};

    const PeerResults& pr = r.peers;
    json peers = {{"threads", pr.threads},
                  {"our_kernel", pr.our_kernel},
                  {"onednn", peer_info_json(pr.onednn)},
                  {"openblas", peer_info_json(pr.openblas)},
                  {"shapes", json::array()}};
    for (const PeerShape& s : pr.shapes) {
        peers["shapes"].push_back(
            {{"name", s.name},
             {"m", s.M},
             {"k", s.K},
             {"n", s.N},
             {"za", s.za},
             {"zb", s.zb},
             {"macs", s.macs},
             {"ours_ms", opt_json(s.ours_ms)},
             {"ours_kernel_ms", opt_json(s.ours_kernel_ms)},
             {"ours_packed_ms", opt_json(s.ours_packed_ms)},
             {"onednn_ms", opt_json(s.onednn_ms())},
             {"onednn_folded_ms", opt_json(s.onednn_folded_ms)},
             {"onednn_bo_ms", opt_json(s.onednn_bo_ms)},
             {"sgemm_ms", opt_json(s.sgemm_ms)},
             {"onednn_identical", s.onednn_identical ? json(*s.onednn_identical) : json(nullptr)},
             // Speed ratios, > 1 when we are faster: the peer's time over ours.
             {"ours_vs_onednn", opt_json(ratio(s.onednn_ms(), s.ours_ms))},
             {"kernel_vs_onednn", opt_json(ratio(s.onednn_ms(), s.ours_kernel_ms))},
             {"packed_vs_onednn", opt_json(ratio(s.onednn_ms(), s.ours_packed_ms))},
             {"ours_vs_sgemm", opt_json(ratio(s.sgemm_ms, s.ours_ms))},
             {"kernel_vs_sgemm", opt_json(ratio(s.sgemm_ms, s.ours_kernel_ms))},
             {"gmacs",
              {{"ours", opt_json(gmacs_of(s.macs, s.ours_ms))},
               {"ours_kernel", opt_json(gmacs_of(s.macs, s.ours_kernel_ms))},
               {"ours_packed", opt_json(gmacs_of(s.macs, s.ours_packed_ms))},
               {"onednn", opt_json(gmacs_of(s.macs, s.onednn_ms()))},
               {"sgemm", opt_json(gmacs_of(s.macs, s.sgemm_ms))}}},
             // Of the integer multiply-add peak: the larger of limits.gmacs_all_threads and
             // gmacs_per_core (a busy machine can measure two threads below one).
             {"fraction_of_peak",
              {{"ours", opt_json(peak_fraction(r.ceilings, s.macs, s.ours_ms))},
               {"ours_kernel", opt_json(peak_fraction(r.ceilings, s.macs, s.ours_kernel_ms))},
               {"ours_packed", opt_json(peak_fraction(r.ceilings, s.macs, s.ours_packed_ms))},
               {"onednn", opt_json(peak_fraction(r.ceilings, s.macs, s.onednn_ms()))}}}});
    }
    j["peers"] = peers;

    json fl = {{"instruction", c.float_instruction},
               {"peak_gmacs_per_core", c.fmac_1},
               {"peak_gmacs_all_threads", c.fmac_t},
               {"order", "F.5: blocks of 16 summed by a halving tree, block sums in order; mul and add "
                         "separately rounded (no fma)"},
               {"shapes", json::array()}};
    for (const FloatShape& s : r.floats.shapes) {
        const double peak = float_peak(c, s.threads);
        auto frac = [&](const std::optional<double>& ms) -> json {
            const auto g = gmacs_of(s.macs, ms);
            return g && peak > 0 ? json(*g / peak) : json(nullptr);
        };
        fl["shapes"].push_back(
            {{"name", s.name},
             {"m", s.M},
             {"k", s.K},
             {"n", s.N},
             {"macs", s.macs},
             {"wide", s.wide},
             {"threads", s.threads},
             {"cpu_ref_ms", opt_json(s.cpu_ref_ms)},
             {"cpu_ms", opt_json(s.cpu_ms)},
             {"gl_simple_ms", opt_json(s.gl_simple_ms)},
             {"gl_tiled_ms", opt_json(s.gl_tiled_ms)},
             {"sgemm_ms", opt_json(s.sgemm_ms)},
             {"cpu_plain_kernel", s.plain},
             {"cpu_vs_sgemm", opt_json(ratio(s.sgemm_ms, s.cpu_ms))},
             {"sgemm_max_rel_diff", opt_json(s.sgemm_max_rel)},
             {"gmacs",
              {{"cpu_ref", opt_json(gmacs_of(s.macs, s.cpu_ref_ms))},
               {"cpu", opt_json(gmacs_of(s.macs, s.cpu_ms))},
               {"gl_simple", opt_json(gmacs_of(s.macs, s.gl_simple_ms))},
               {"gl_tiled", opt_json(gmacs_of(s.macs, s.gl_tiled_ms))},
               {"sgemm", opt_json(gmacs_of(s.macs, s.sgemm_ms))}}},
             // Of the float mul+add ceiling for the threads the executor used.
             {"fraction_of_float_peak", {{"cpu", frac(s.cpu_ms)}, {"sgemm", frac(s.sgemm_ms)}}},
             // Of the GL device's float mul+add peak (limits.gl).
             {"of_gl_float_peak",
              {{"gl_simple", of_gl_peak(s.macs, s.gl_simple_ms, g.float_gmacs)},
               {"gl_tiled", of_gl_peak(s.macs, s.gl_tiled_ms, g.float_gmacs)}}}});
    }
    j["float"] = fl;
    json lines = json::array();
    for (const PlotSeries& s : plot_series(r)) {
        json points = json::array();
        for (auto [x, y] : s.points) // x is M*N*K, a whole number
            points.push_back({uint64_t(x), y});
        lines.push_back({{"name", s.name}, {"points", points}});
    }
    j["plot_series"] = lines; // what --plot draws, point for point
    if (!r.plot_path.empty()) j["plot"] = r.plot_path;
    j["parity"] = report.parity_ok;
    j["errors"] = report.errors;
    return j;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}
std::string fmt_ms(const std::optional<double>& v) {
    return v ? fmt(*v < 10 ? "%.3f" : "%.1f", *v) : "n/a";
}
std::string fmt_ms(const std::optional<Timing>& t) {
    return fmt_ms(t ? std::optional<double>(t->ms) : std::nullopt);
}
std::string fmt_x(const std::optional<double>& v) {
    return v ? fmt("%.2fx", *v) : "n/a";
}

std::string to_table(const Results& r) {
    std::ostringstream table;
    char line[512];
    table << "MATMUL, median ms of repeated runs after a warm-up (" << r.machine.threads
          << " threads for cpu fast)\n";
    std::snprintf(line, sizeof line, "%-15s %-22s %6s %10s %9s %9s %9s %9s %8s %8s %16s %16s\n", "shape",
                  "M x K @ K x N", "width", "naive", "cpu ref", "cpu fast", "gl simpl", "gl tiled",
                  "cpu GMAC", "cpu/nv", "cpu of limit", "tiled of limit");
    table << line;
    for (const ShapeResult& s : r.shapes) {
        auto frac = [&](int v) {
            return s.t[v] ? fmt("%.3f", s.limit[v].fraction) + " " + s.limit[v].bound : std::string("n/a");
        };
        const std::string dims = std::to_string(s.spec.M) + "x" + std::to_string(s.spec.K) + " @ " +
                                 std::to_string(s.spec.K) + "x" + std::to_string(s.spec.N);
        const std::optional<double> cpu_ms = s.t[kCpu] ? std::optional<double>(s.t[kCpu]->ms) : std::nullopt;
        const std::optional<double> naive_ms =
            s.t[kNaive] ? std::optional<double>(s.t[kNaive]->ms) : std::nullopt;
        const auto g = gmacs_of(s.macs, cpu_ms);
        const auto sp = ratio(naive_ms, cpu_ms);
        std::snprintf(line, sizeof line, "%-15s %-22s %6u %10s %9s %9s %9s %9s %8s %8s %16s %16s\n",
                      s.spec.name.c_str(), dims.c_str(), s.width, fmt_ms(s.t[kNaive]).c_str(),
                      fmt_ms(s.t[kCpuRef]).c_str(), fmt_ms(s.t[kCpu]).c_str(), fmt_ms(s.t[kGlSimple]).c_str(),
                      fmt_ms(s.t[kGlTiled]).c_str(), g ? fmt("%.2f", *g).c_str() : "n/a",
                      sp ? fmt("%.1fx", *sp).c_str() : "n/a", frac(kCpu).c_str(), frac(kGlTiled).c_str());
        table << line;
    }

    table << "\nPixel-LLM forward pass, ms:\n";
    for (const ForwardResult& f : r.forwards) {
        table << "  " << f.source << " (" << f.width << "x" << f.height << "):";
        for (int v = 0; v < kVariants; ++v)
            table << "  " << kVariantLabel[v] << " " << fmt_ms(f.t[v]);
        table << "\n";
    }
    table << "PNG " << r.png.side << "x" << r.png.side << ": save " << fmt_ms(r.png.save_ms) << " ms, load "
          << fmt_ms(r.png.load_ms) << " ms, " << (r.png.file_bytes ? *r.png.file_bytes : 0) << " bytes\n";

    const PeerResults& pr = r.peers;
    table << "\nPeers, integer product (a - za) @ (b - zb), za " << (pr.shapes.empty() ? 0 : pr.shapes[0].za)
          << ", zb " << (pr.shapes.empty() ? 0 : pr.shapes[0].zb) << ", " << pr.threads
          << " threads, median ms (ratios: peer time / ours, > 1 = we are faster)\n";
    table << "  ours: execute_fast QMATMUL32 step (gather from pixels, int32 pixels out; weights packed once "
             "and reused while unchanged); kernel: gemm_u8 alone (packs B every call, like the peers); "
             "packed: gemm_u8_packed, B packed once; "
          << pr.our_kernel << "\n";
    table << "  oneDNN: "
          << (pr.onednn.built ? pr.onednn.library + ", " + pr.onednn.kernel + " (" + pr.onednn.note +
                                    "); dnn fold: bo = 0, the zero point folded into C's row offsets; "
                                    "dnn bo: bo = zb - 128 passed; ratios use the faster"
                              : pr.onednn.note)
          << "\n";
    table << "  OpenBLAS sgemm (float32, the float ceiling; pxOS has no float pixels yet): "
          << (pr.openblas.built
                  ? pr.openblas.library + ", " + pr.openblas.kernel + " (" + pr.openblas.note + ")"
                  : pr.openblas.note)
          << "\n";
    std::snprintf(line, sizeof line, "%-15s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "shape",
                  "ours", "kernel", "packed", "dnn fold", "dnn bo", "sgemm", "onednn/us", "onednn/kn",
                  "onednn/pk", "sgemm/us", "pk ofpeak", "dnn ofpeak");
    table << line;
    for (const PeerShape& s : pr.shapes) {
        const auto fk = peak_fraction(r.ceilings, s.macs, s.ours_packed_ms);
        const auto fo = peak_fraction(r.ceilings, s.macs, s.onednn_ms());
        std::snprintf(line, sizeof line, "%-15s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n",
                      s.name.c_str(), fmt_ms(s.ours_ms).c_str(), fmt_ms(s.ours_kernel_ms).c_str(),
                      fmt_ms(s.ours_packed_ms).c_str(), fmt_ms(s.onednn_folded_ms).c_str(),
                      fmt_ms(s.onednn_bo_ms).c_str(), fmt_ms(s.sgemm_ms).c_str(),
                      fmt_x(ratio(s.onednn_ms(), s.ours_ms)).c_str(),
                      fmt_x(ratio(s.onednn_ms(), s.ours_kernel_ms)).c_str(),
                      fmt_x(ratio(s.onednn_ms(), s.ours_packed_ms)).c_str(),
                      fmt_x(ratio(s.sgemm_ms, s.ours_ms)).c_str(), fk ? fmt("%.3f", *fk).c_str() : "n/a",
                      fo ? fmt("%.3f", *fo).c_str() : "n/a");
        table << line;
    }

    table << "\nFMATMUL (float32, F.5 order, no fma), median ms; sgemm: OpenBLAS, any order (fma); ratio: "
             "sgemm time / ours; of peak: of the float mul+add ceiling ("
          << r.ceilings.float_instruction << ")\n";
    std::snprintf(line, sizeof line, "%-15s %9s %9s %9s %9s %9s %9s %9s %9s %10s\n", "shape", "cpu ref",
                  "cpu fast", "gl simple", "gl tiled", "sgemm", "sgemm/us", "us ofpeak", "bl ofpeak",
                  "max rel d");
    table << line;
    for (const FloatShape& s : r.floats.shapes) {
        const double peak = float_peak(r.ceilings, s.threads);
        const auto fo = gmacs_of(s.macs, s.cpu_ms), fb = gmacs_of(s.macs, s.sgemm_ms);
        std::snprintf(line, sizeof line, "%-15s %9s %9s %9s %9s %9s %9s %9s %9s %10s\n", s.name.c_str(),
                      fmt_ms(s.cpu_ref_ms).c_str(), fmt_ms(s.cpu_ms).c_str(), fmt_ms(s.gl_simple_ms).c_str(),
                      fmt_ms(s.gl_tiled_ms).c_str(), fmt_ms(s.sgemm_ms).c_str(),
                      fmt_x(ratio(s.sgemm_ms, s.cpu_ms)).c_str(),
                      fo ? fmt("%.3f", *fo / peak).c_str() : "n/a",
                      fb ? fmt("%.3f", *fb / peak).c_str() : "n/a",
                      s.sgemm_max_rel ? fmt("%.1e", *s.sgemm_max_rel).c_str() : "n/a");
        table << line;
    }

    const Ceilings& c = r.ceilings;
    table << "Float ceiling: " << c.float_instruction << " " << fmt("%.1f", c.fmac_1) << " GMAC/s per core, "
          << fmt("%.1f", c.fmac_t) << " on " << r.machine.threads << " threads\n";
    table << "Ceilings: " << c.instruction << " " << fmt("%.1f", c.gmacs_1) << " GMAC/s per core, "
          << fmt("%.1f", c.gmacs_t) << " on " << r.machine.threads << " threads (vpmaddwd "
          << fmt("%.1f", c.madd_t) << "); read bandwidth " << fmt("%.1f", c.l2_gbs_t) << " GB/s in L2 (up to "
          << c.l2_bytes / 2 / 1024 << " KiB a thread), " << fmt("%.1f", c.cache_gbs_t)
          << " GB/s cache-resident, " << fmt("%.1f", c.dram_gbs_t) << " GB/s DRAM (" << r.machine.threads
          << " threads)\n";
    if (c.line_transfer_ns > 0)
        table << "Hand-off between threads: a cache line moves in " << fmt("%.0f", c.line_transfer_ns)
              << " ns; a ThreadPool run of two empty ranges takes " << fmt("%.2f", c.pool_run_us) << " us\n";
    table << "GL: " << (r.machine.gl ? r.machine.gl_renderer : "unavailable: " + r.machine.gl_reason) << "\n";
    const GlCeilings& g = r.gl_ceilings;
    if (g.measured) {
        table << "GL ceilings (its own compute shaders): read " << fmt("%.1f", g.read_gbs) << " GB/s over "
              << g.read_bytes / (1024 * 1024) << " MiB, float mul+add " << fmt("%.1f", g.float_gmacs)
              << " GMAC/s, integer multiply-add " << fmt("%.1f", g.int_gmacs) << " GMAC/s\n";
        table << "  GL tiled of the GL integer peak:";
        for (const ShapeResult& sr : r.shapes)
            if (const auto rate = gmacs_of(sr.macs, ms_opt(sr.t[kGlTiled])))
                table << " " << sr.spec.name << " " << fmt("%.3f", *rate / g.int_gmacs);
        table << "\n  GL tiled FMATMUL of the GL float peak:";
        for (const FloatShape& fs : r.floats.shapes)
            if (const auto rate = gmacs_of(fs.macs, fs.gl_tiled_ms))
                table << " " << fs.name << " " << fmt("%.3f", *rate / g.float_gmacs);
        table << "\n";
    } else if (r.machine.gl) {
        table << "GL ceilings: not measured: " << g.error << "\n";
    }
    return table.str();
}

// The scaling plot's lines: time against M*N*K for every executor and every peer, integer and
// float32, on the same axes (the JSON's "plot_series" lists the same points).
std::vector<PlotSeries> plot_series(const Results& r) {
    std::vector<PlotSeries> series;
    const px::Rgba colors[kVariants] = {
        {200, 40, 40, 255}, {230, 150, 20, 255}, {30, 140, 60, 255}, {60, 90, 220, 255}, {150, 50, 200, 255}};
    // GL lines name the renderer they ran on ("llvmpipe" is the CPU standing in for a GPU).
    const std::string gl_tag = " (" + r.machine.gl_renderer.substr(0, r.machine.gl_renderer.find(' ')) + ")";
    for (int v = 0; v < kVariants; ++v) {
        PlotSeries s{std::string(kVariantLabel[v]) + (v >= kGlSimple ? gl_tag : ""), colors[v], {}};
        for (const ShapeResult& sh : r.shapes)
            if (sh.t[v]) s.points.push_back({double(sh.macs), sh.t[v]->ms});
        series.push_back(s);
    }
    PlotSeries kernel{"cpu fast kernel only (gemm_u8)", {20, 200, 170, 255}, {}};
    PlotSeries dnn{"onednn u8s8s32", {0, 0, 0, 255}, {}};
    PlotSeries fmatmul{"cpu fast FMATMUL (float32)", {240, 60, 160, 255}, {}};
    PlotSeries blas{"openblas sgemm (float32)", {120, 120, 120, 255}, {}};
    for (const PeerShape& p : r.peers.shapes) {
        if (p.ours_kernel_ms) kernel.points.push_back({double(p.macs), *p.ours_kernel_ms});
        if (p.onednn_ms()) dnn.points.push_back({double(p.macs), *p.onednn_ms()});
        if (p.sgemm_ms) blas.points.push_back({double(p.macs), *p.sgemm_ms});
    }
    for (const FloatShape& f : r.floats.shapes) {
        if (f.cpu_ms) fmatmul.points.push_back({double(f.macs), *f.cpu_ms});
        if (f.sgemm_ms) blas.points.push_back({double(f.macs), *f.sgemm_ms});
    }
    series.push_back(kernel);
    series.push_back(dnn);
    series.push_back(fmatmul);
    series.push_back(blas);
    std::vector<PlotSeries> shown;
    for (auto& s : series) {
        // Lines join points in x order (sgemm has the integer shapes' and the float shapes').
        std::stable_sort(s.points.begin(), s.points.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        if (!s.points.empty()) shown.push_back(s);
    }
    return shown;
}

Image plot_of(const Results& r) {
    return draw_scaling_plot("PXI BENCH: MATMUL TIME VS M*N*K (LOG-LOG)", "M*N*K (MULTIPLY-ADDS)",
                             "MS (MEDIAN)", plot_series(r));
}

} // namespace

void naive_matmul(Image& img, uint32_t row_a, uint32_t row_b, uint32_t row_c) {
    const MatrixHeader ha = px::decode_header(img.pixel(0, row_a)),
                       hb = px::decode_header(img.pixel(0, row_b));
    const uint32_t M = ha.rows, K = ha.cols, N = hb.cols;
    img.set_pixel(0, row_c, px::encode_header({N, M}));
    for (uint32_t m = 0; m < M; ++m)
        for (uint32_t n = 0; n < N; ++n) {
            uint32_t sum = 0;
            for (uint32_t k = 0; k < K; ++k)
                sum += uint32_t(naive_at(img, row_a, uint64_t(m) * K + k)[0]) *
                       naive_at(img, row_b, uint64_t(k) * N + n)[0];
            naive_at(img, row_c, uint64_t(m) * N + n)[0] = uint8_t(std::min<uint32_t>(sum, 255));
        }
}

ProfilePeaks measure_profile_peaks(unsigned threads, uint64_t working_bytes,
                                   const std::string& working_what) {
    // The same loops as bench's ceilings, shorter: best of 3 runs of a few milliseconds each, and
    // the read bandwidth of a buffer of the working set's size (within 1 to 64 MiB), best of 12
    // runs of about 1 ms: the best of 3 ranged from 52.7 to 87.1 GB/s over the shipped GPT's
    // 9.8 MiB in three runs within an hour, and the decode's fraction of its bound with it.
    ProfilePeaks p;
    const uint64_t iters = 1'000'000;
    std::string int_instruction = madd_instruction();
    p.int_gmacs = peak_gmacs(threads, iters, 3);
#if defined(__x86_64__)
    if (px::gemm_vnni_available()) {
        const double d = peak_gmacs(threads, iters / 2, 3, dpbusd_loop_avx512);
        if (d > p.int_gmacs) p.int_gmacs = d, int_instruction = "vpdpbusd zmm";
    }
#endif
    p.float_gmacs = peak_gmacs(threads, iters / 2, 3, fmuladd_loop);
    const size_t buffer = std::clamp<uint64_t>(working_bytes, size_t(1) << 20, size_t(64) << 20);
    p.read_gbs = read_bandwidth(threads, buffer, 12, int(std::max<size_t>(1, (size_t(64) << 20) / buffer)));
    char line[512];
    std::snprintf(line, sizeof line,
                  "peaks on %u thread%s: %s %.1f GMAC/s, %s %.1f GMAC/s, read %.1f GB/s over %.1f MiB (%s)",
                  threads, threads == 1 ? "" : "s", int_instruction.c_str(), p.int_gmacs,
                  fmuladd_instruction().c_str(), p.float_gmacs, p.read_gbs, double(buffer) / (1 << 20),
                  working_what.c_str());
    p.what = line;
    return p;
}

Report run_bench(const Options& options) {
    Report report;
    Context cx;
    cx.opt = options;
    cx.report = &report;
    cx.budget = options.quick ? Budget{3, 5, 20, true, 0} : Budget{5, 25, 1000};
    cx.fast.threads = options.threads;
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const unsigned threads = options.threads ? options.threads : hw;

    // GL first: a context that cannot be had is reported, not guessed.
#if PXOS_HAVE_GL
    std::optional<px::gl::HeadlessContext> glctx;
    if (options.gl) {
        auto ctx = px::gl::create_headless_context();
        if (ctx) {
            cx.gl = true;
            cx.gl_renderer = ctx->renderer;
            glctx.emplace(std::move(*ctx));
        } else {
            cx.gl_reason = ctx.error().message;
        }
    } else {
        cx.gl_reason = "disabled with --no-gl";
    }
#else
    cx.gl_reason = "pxi was built without the OpenGL executor (PXOS_GL=OFF or pxengine_gl missing)";
#endif

    Results r;
    r.quick = options.quick;
    progress(cx, "measuring the machine's ceilings");
    cx.ceilings = measure_ceilings(threads, options.quick);
    r.ceilings = cx.ceilings;
    if (cx.gl) {
        progress(cx, "measuring the GL device's ceilings");
        r.gl_ceilings = measure_gl_ceilings(options.quick);
    } else {
        r.gl_ceilings.error = cx.gl_reason;
    }
    r.machine = measure_machine(threads, cx);
    r.overhead = measure_overheads(cx);
    for (const ShapeSpec& s : shapes_for(options.quick))
        r.shapes.push_back(measure_shape(cx, s));
    for (const std::string& asset : kForwardAssets)
        r.forwards.push_back(measure_forward(cx, asset));
    r.png = measure_png(cx);
    r.peers = measure_peers(cx, threads);
    r.floats = measure_float(cx);

    if (!options.plot_path.empty()) {
        if (auto st = px::save_png(plot_of(r), options.plot_path); !st)
            report.plot_error = st.error().message;
        else
            r.plot_path = options.plot_path;
    }
    report.json = to_json(r, report);
    report.table = to_table(r);
    return report;
}

} // namespace pxbench
