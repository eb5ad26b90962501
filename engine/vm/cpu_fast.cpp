#include "cpu_fast.h"
#include "huge_pages.h"
#include "kernel_clones.h"
#include "parallel.h"
#include "split_tuner.h"

#include "cpu_gemm.h"
#include "fmath.h"
#include "fmath_simd.h"
#include "fmath_vec.h"
#include "ops/float_ops.h"
#include "ops/gen_ops.h"
#include "ops/qint_ops.h"

#include "quant.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace px {
namespace {

// Pixels are read as little-endian uint32 words (R in the low byte, an int32 pixel as itself).
static_assert(std::endian::native == std::endian::little, "cpu_fast reads pixels as little-endian words");

// Shapes with at most this many rows of A skip the packing of B where the CPU lacks VNNI
// (matrix-vector products read every element of B once, so a transposed copy would cost more than
// it saves unless it is kept and read at one byte a weight: execute_matmul).
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

// dst[j] = R(pixel j): the R channel of a run of pixels, read as little-endian uint32 words.
PX_CLONES void gather_r_run(uint8_t* __restrict dst, const uint8_t* __restrict px, uint32_t len) {
    for (uint32_t j = 0; j < len; ++j) {
        uint32_t v;
        std::memcpy(&v, px + 4 * size_t(j), 4);
        dst[j] = uint8_t(v);
    }
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

// One matrix product: a is M x K, b is K x N. The quantized opcodes multiply (a - za) by (b - zb)
// (PROTOCOL.md §5.5); MATMUL has za = zb = 0.
// The gathered operands and accumulators stay allocated in the executor's context from one
// instruction to the next: fresh multi-megabyte vectors would be page-faulted in again on every
// step, which costs more than packing them. Above kKeepScratchBytes they are released after use.
struct Scratch {
    std::vector<uint32_t> a, acc;
    std::vector<uint8_t> a8;
    // FMATMUL's a, c and bias; FADD's and FMUL's a and b; LAYERNORM's x, y and gain then bias (no
    // allocation per decode step; no instruction reads what another left in them).
    std::vector<float> fa, fc, fbias;
    std::vector<uint8_t> canon_rows; // FMATMUL's rows for the canonicalizing kernel (1) or not (0)
    // FATTENTION's q and out (its K and V are CacheCopy's).
    std::vector<float> att_q, att_out;
    std::vector<float> cache_rows; // a float cache copy's new elements, before they go to their blocks
    std::vector<float> norm_sq;    // LAYERNORM's squared deviations
    // QADD's, QLUT's and QLAYERNORM's codes (a, b, c) and QLAYERNORM's gains and biases and
    // deviations (qdev; DEQUANT's int32 a too): a uint8 decode step's 22 element-wise steps
    // allocated three vectors each.
    std::vector<uint8_t> ua, ub, uc;
    std::vector<int32_t> qgb;
    std::vector<int32_t> qdev;
    // ARGMAX's, SAMPLE's and PENALIZE's row of logits and PENALIZE's window, and SAMPLE's weights and
    // their scratch (gen_ops.h): kept, so that no token allocates (over GPT-2's 50,257 logits a fresh
    // vector may come by mmap and fault its pages in on every call: gen_ops.h).
    std::vector<uint32_t> row_words, window_words;
    SampleWeights sample;
    SampleScratch sample_scratch;
    GemmWorkspace gemm;
    size_t bytes() const {
        const SampleScratch& ss = sample_scratch;
        return (a.capacity() + acc.capacity() + fa.capacity() + fc.capacity() + fbias.capacity() +
                att_q.capacity() + att_out.capacity() + cache_rows.capacity() + norm_sq.capacity() +
                row_words.capacity() + window_words.capacity() + sample.e.capacity() +
                sample.members.capacity() + ss.keys.capacity() + ss.block_max.capacity() +
                ss.pool.capacity() + ss.candidates.capacity() + ss.all.capacity()) *
                   4 +
               a8.capacity() + canon_rows.capacity() + gemm.bytes() + ua.capacity() + ub.capacity() +
               uc.capacity() + qgb.capacity() * 4 + qdev.capacity() * 4;
    }
};
constexpr size_t kKeepScratchBytes = size_t(64) << 20;

// A weight matrix (B of a MATMUL, QMATMUL or QMATMUL32) packed for gemm_u8_packed, kept between
// instructions so that a program run step after step packs each weight once.
//
// Invalidation rule: the packed copy is used only when B's R bytes are known to equal `source`,
// the bytes it was packed from. Known by checking: every R byte of B read on this step is compared
// with `source` in the same pass that gathers B, which needs nothing from whoever wrote the image:
// an instruction that rewrites its weights, a debugger edit, a reloaded file or another image all
// give different bytes, and the weight is packed again before it is used. Or known by the run:
// within one run() call only the instructions write the image, each exactly its Plan::writes
// (Plan::run_seq), so a weight checked once in a run stays `trusted`, and is used without reading B,
// until a plan of the run writes one of B's rows (header row to last_row; FastContext drops the
// trust after each plan); its next use checks again. A plan that does not continue the run of the
// previous one (numbered 0, as every step() call's and any plan made outside run() is, not the next
// number, or on another image) drops every trust first, so between calls nothing is trusted and
// the check finds any change. Equal bytes give an equal packed copy (packing is a function of the
// bytes, K, N and zb, which are the key), so a hit is exact by construction.
struct PackedWeight {
    uint32_t row_b = 0, K = 0, N = 0;
    int32_t zb = 0;
    ArenaVector<uint8_t> source; // the R bytes of B, row-major, `packed` came from
    GemmPackedB packed;
    uint64_t last_use = 0;
    uint32_t last_row = 0; // the last image row B's elements occupy (row_b holds its header)
    bool trusted = false;  // checked in this run and its rows not written since (see above)
    size_t bytes() const { return source.capacity() + packed.bytes(); }
};

// The strips' storage is aligned to 64 bytes (a cache line: KeepArena's blocks, huge_pages.h). The float
// kernels load b's strips in 32- and 64-byte vectors; from malloc's 16-byte alignment half of those
// loads (all, for zmm) would straddle two lines, which measured 1.4x slower on the AVX2 kernel
// (fmatmul_strip_avx2).

// FMATMUL's b kept between instructions the same way, as the strips the float kernels read
// (canonical values, 16 columns a strip, each strip Kp x 16 with K padded to a multiple of 16 by
// zero rows and missing columns zero) with its smallest exponent (the plain kernel's condition).
// Same invalidation rule as PackedWeight: a use that is not trusted (the first in a run, or after
// a write to b's rows) compares b's pixel words with `source`, the words the strips were made from,
// run by run in element order (two sequential reads); a run that differs is copied into `source`
// and canonicalized into the strips in place, and only then is the copy used. (Comparing with the
// strips directly read them 16 words per strip row, a page apart: half of a float32 GPT decode step
// went there; the compare with `source` was still a quarter of it, which the trust within a run
// removes: a decode pass uses each b once, so only its first pass of a run compares.) Equal
// canonical words give equal strips and an equal smallest exponent, so a hit is exact by
// construction.
struct PackedFloatWeight {
    uint32_t row_b = 0, K = 0, N = 0;
    ArenaVector<float> strips;
    ArenaVector<uint32_t> source; // b's pixel words as read, element order
    uint32_t min_exp = 255;       // smallest biased exponent among b's nonzero finite values
    uint64_t last_use = 0;
    uint32_t last_row = 0; // the last image row b's elements occupy (row_b holds its header)
    bool trusted = false;  // checked in this run and its rows not written since (PackedWeight)
    size_t bytes() const { return strips.capacity() * 4 + source.capacity() * 4; }
};

// A key or value cache of FATTENTION or QATTENTION as its kernel reads it (canonical floats, or
// uint8 codes less the instruction's zero point as int16), kept between instructions so that a
// decode step reads from the pixels only the rows appended since the step before. Gathering the
// whole caches every step was 28% of a float32 GPT decode step (FATTENTION 0.093 ms of 0.325,
// measured), and fresh vectors that size page-faulted on every step (317 us at 225 positions).
//
// Trust, as PackedWeight's but element by element: elements [0, valid) equal what a gather of the
// image gives now. Within one run() call every write is a plan's Plan::writes, and each written
// rectangle cuts `valid` back to the first element it covers (elements follow the image rows in
// order, so every later one may have changed: first_element_covered); a plan that does not continue
// the run sets it to 0, so between calls nothing is trusted. A use gathers the elements from
// `valid` to those it reads, then reads the copy. An APPEND of a row to the cache covers only the
// new row's pixels and the header pixel (column 0, no element), so the next step reads one row.
struct CacheCopy {
    uint32_t row = 0;     // the header row of the cache's matrix
    int32_t zero = -1;    // -1: canonical f32 elements in `f`; else uint8 codes less `zero` in `c`
    ArenaVector<float> f; // (a vector each: the kernels read them with their own element types)
    ArenaVector<int16_t> c;
    uint64_t valid = 0;
    // f32: at most the smallest biased exponent of any element gathered since valid was last 0 (a
    // lower bound for [0, valid): FATTENTION's plain kernels need only that).
    uint32_t min_exp = 255;
    // f32 only: 0, elements in row order; else the width D of the rows, and `f` holds them in blocks
    // of 16 rows, each block transposed (D x 16: row p's element k at f[(p / 16) * 16 * D + k * 16 +
    // p % 16]), so that FATTENTION's scores run 16 positions to a vector (fm::dot16_cols, FMATMUL's
    // kernel) instead of one dot product at a time. Lanes past the last row hold zeros or older
    // rows; what is computed from them is never read.
    uint32_t blocks_of = 0;
    uint64_t last_use = 0;
    size_t bytes() const { return f.capacity() * 4 + c.capacity() * 2; }
};

// Packed weights (integer and float) and cache copies kept at most (least recently used go
// first): twice the bytes of the image being run, at least kKeepWeightBytes. A program's kept
// copies take at most about twice its pixels' bytes (a float32 weight's strips and source bytes),
// so every weight of the program in hand stays. A fixed 64 MiB held a tenth of a GPT-2-small
// program's 495 MB of weights: each token packed every weight again, the least recently used
// being always the next one needed.
constexpr size_t kKeepWeightBytes = size_t(64) << 20;
size_t keep_bytes_for(const Image& image) {
    return std::max(kKeepWeightBytes, 2 * image.rgba.size());
}

} // namespace

// What a fast executor keeps between instructions: its settings, its scratch buffers, its packed
// weights and its worker threads.
struct FastContext {
    FastSettings settings;
    Scratch scratch;
    // The kept buffers' storage (huge_pages.h): declared before what it holds, destroyed after.
    KeepArena arena;
    std::vector<PackedWeight> weights;
    std::vector<PackedFloatWeight> fweights;
    std::vector<CacheCopy> caches;
    uint64_t uses = 0;
    size_t keep_bytes = kKeepWeightBytes; // keep_bytes_for the image of the last plan
    ThreadPool pool;
    // The last plan carried out to its end (its run_seq, on `run_image`), whose successor in the
    // same run() call may use trusted weights (PackedWeight). False before the first plan and while
    // one is carried out, so a kernel that throws leaves nothing trusted for the next.
    bool run_continues = false;
    uint64_t run_seq = 0;
    const Image* run_image = nullptr;
    // Which work-per-thread threshold the loop iteration under way runs under (split_tuner.h), and
    // when the iteration began (its first plan after a taken LOOP of this run).
    SplitTuner tuner;
    bool iteration_timed = false;
    std::chrono::steady_clock::time_point iteration_start;
};

namespace {

unsigned threads_for_min(unsigned threads, uint64_t min_macs, uint64_t macs) {
    // hardware_concurrency() reads /sys on every call (microseconds): asked once.
    static const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
    if (threads == 0) threads = hardware;
    if (min_macs > 0) threads = unsigned(std::clamp<uint64_t>(macs / min_macs, 1, threads));
    return threads;
}

// The threads a kernel of `macs` multiply-adds (or its count of similar work) runs on: under the
// threshold of the loop iteration under way (SplitTuner).
unsigned threads_for(const FastContext& cx, uint64_t macs) {
    const bool eager = cx.tuner.running == SplitTuner::kEager;
    return threads_for_min(cx.settings.threads,
                           eager ? cx.settings.min_macs_per_thread_eager : cx.settings.min_macs_per_thread,
                           macs);
}

struct MatmulShape {
    uint32_t M, K, N;
    uint32_t row_a, row_b;
    int32_t za = 0, zb = 0;
};

// acc = (A - za) @ (B - zb) modulo 2^32 with B read straight from the image, for few rows of A:
// sum over k of (a - za) * b, less zb times the sum of (a - za), all in uint32 (wrapping is exact).
void matmul_direct(FastContext& cx, const Image& image, const MatmulShape& s, unsigned threads,
                   std::vector<uint32_t>& acc) {
    const uint32_t w = image.width;
    std::vector<uint32_t>& a = cx.scratch.a;
    a.resize(size_t(s.M) * s.K);
    for_runs(image.rgba.data(), w, s.row_a, 0, a.size(), [&](uint64_t i, const uint8_t* px, uint32_t len) {
        for (uint32_t j = 0; j < len; ++j)
            a[i + j] = uint32_t(int32_t(px[4 * size_t(j)]) - s.za);
    });
    acc.assign(size_t(s.M) * s.N, 0);
    parallel_ranges(&cx.pool, threads, s.N, [&](uint32_t n0, uint32_t n1) {
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
    if (s.zb == 0) return;
    for (uint32_t m = 0; m < s.M; ++m) {
        uint32_t sum_a = 0;
        for (uint32_t k = 0; k < s.K; ++k)
            sum_a += a[size_t(m) * s.K + k];
        const uint32_t correction = sum_a * uint32_t(s.zb);
        for (uint32_t n = 0; n < s.N; ++n)
            acc[size_t(m) * s.N + n] -= correction;
    }
}

// Whether the R bytes of a run of pixels differ from dst[0, len), then dst[j] = R(pixel j) where
// they do. The compare alone reads both and writes nothing: a weight checked at every one-step
// run (the first use in each run) is unchanged, and storing its bytes back cost a store per byte.
PX_CLONES bool r_run_differs(const uint8_t* __restrict dst, const uint8_t* __restrict px, uint32_t len) {
    uint32_t diff = 0;
    for (uint32_t j = 0; j < len; ++j) {
        uint32_t v;
        std::memcpy(&v, px + 4 * size_t(j), 4);
        diff |= uint32_t(dst[j]) ^ (v & 0xFFu);
    }
    return diff != 0;
}
bool gather_r_run_changed(uint8_t* __restrict dst, const uint8_t* __restrict px, uint32_t len) {
    if (!r_run_differs(dst, px, len)) return false;
    gather_r_run(dst, px, len);
    return true;
}

// The packed weight for B at s.row_b, packed again unless its source bytes equal B's R bytes now
// (see PackedWeight). B is gathered by threads taking ranges of k.
const GemmPackedB& packed_weight(FastContext& cx, const Image& image, const MatmulShape& s,
                                 unsigned threads) {
    auto it = std::find_if(cx.weights.begin(), cx.weights.end(), [&](const PackedWeight& w) {
        return w.row_b == s.row_b && w.K == s.K && w.N == s.N && w.zb == s.zb;
    });
    bool changed = false;
    if (it == cx.weights.end()) {
        PackedWeight w;
        w.row_b = s.row_b, w.K = s.K, w.N = s.N, w.zb = s.zb;
        use_arena(w.source, &cx.arena);
        w.packed.use_arena(&cx.arena);
        cx.weights.push_back(std::move(w));
        it = cx.weights.end() - 1;
        changed = true;
    }
    PackedWeight& w = *it;
    w.last_use = ++cx.uses;
    if (w.trusted) { // checked earlier in this run, its rows not written since: B is `source`
        if (cx.settings.stats) ++cx.settings.stats->weights_reused, ++cx.settings.stats->weights_trusted;
        return w.packed;
    }
    w.source.resize(size_t(s.K) * s.N);
    uint8_t* src = w.source.data();
    std::atomic<bool> any_changed{false};
    parallel_ranges(&cx.pool, threads, s.K, [&](uint32_t k0, uint32_t k1) {
        bool c = false;
        for_runs(image.rgba.data(), image.width, s.row_b, uint64_t(k0) * s.N, uint64_t(k1) * s.N,
                 [&](uint64_t i, const uint8_t* px, uint32_t len) {
                     c |= gather_r_run_changed(src + i, px, len);
                 });
        if (c) any_changed.store(true, std::memory_order_relaxed);
    });
    changed = changed || any_changed.load();
    if (changed) {
        gemm_pack_b(src, s.K, s.N, s.zb, GemmKernel::Auto, threads, &cx.pool, w.packed);
        if (cx.settings.stats) ++cx.settings.stats->weights_packed;
    } else if (cx.settings.stats) {
        ++cx.settings.stats->weights_reused;
    }
    w.last_row = s.row_b + uint32_t(rows_for_elements(uint64_t(s.K) * s.N, image.width)) - 1;
    w.trusted = true; // until a write to its rows or a plan that does not continue the run
    return w.packed;
}

// The scratch buffers are kept between steps up to kKeepScratchBytes, and released past it.
void trim_scratch(FastContext& cx) {
    if (cx.scratch.bytes() > kKeepScratchBytes) cx.scratch = Scratch{};
}

// Least recently used packed weights and cache copies go until the rest fit in cx.keep_bytes.
void trim_weights(FastContext& cx) {
    size_t total = 0;
    auto add = [&](const auto& kept) {
        for (const auto& w : kept)
            total += w.bytes();
    };
    add(cx.weights), add(cx.fweights), add(cx.caches);
    auto oldest = [](auto& kept) {
        return std::min_element(kept.begin(), kept.end(),
                                [](const auto& x, const auto& y) { return x.last_use < y.last_use; });
    };
    auto use_of = [](auto& kept, auto it) { return it == kept.end() ? UINT64_MAX : it->last_use; };
    while (total > cx.keep_bytes) {
        auto oi = oldest(cx.weights);
        auto of = oldest(cx.fweights);
        auto oc = oldest(cx.caches);
        const uint64_t ui = use_of(cx.weights, oi), uf = use_of(cx.fweights, of), uc = use_of(cx.caches, oc);
        if (ui == UINT64_MAX && uf == UINT64_MAX && uc == UINT64_MAX) break;
        if (ui <= uf && ui <= uc) {
            total -= oi->bytes();
            cx.weights.erase(oi);
        } else if (uf <= uc) {
            total -= of->bytes();
            cx.fweights.erase(of);
        } else {
            total -= oc->bytes();
            cx.caches.erase(oc);
        }
    }
    if (cx.settings.stats) cx.settings.stats->arena_bytes = cx.arena.chunk_bytes();
}

// acc = (A - za) @ (B - zb) modulo 2^32: A gathered out of the pixel layout into contiguous uint8,
// B packed (or its packed copy reused, see PackedWeight), then gemm_u8_packed (cpu_gemm.h). The
// gathers read every operand pixel once.
void matmul_packed(FastContext& cx, const Image& image, const MatmulShape& s, unsigned threads,
                   std::vector<uint32_t>& acc) {
    Scratch& sc = cx.scratch;
    sc.a8.resize(size_t(s.M) * s.K);
    uint8_t* a8 = sc.a8.data();
    // A batch's A on the threads, by ranges of rows (a 256 x 1024 A is 1 MB of pixels); a decode
    // step's few rows on the caller, where a hand-off would cost more than the gather.
    const unsigned gather_threads = uint64_t(s.M) * s.K >= kCopyOnThreadsMin ? threads : 1;
    parallel_ranges(&cx.pool, gather_threads, s.M, [&](uint32_t m0, uint32_t m1) {
        for_runs(image.rgba.data(), image.width, s.row_a, uint64_t(m0) * s.K, uint64_t(m1) * s.K,
                 [&](uint64_t i, const uint8_t* px, uint32_t len) { gather_r_run(a8 + i, px, len); });
    });
    const GemmPackedB& b = packed_weight(cx, image, s, threads);
    acc.resize(size_t(s.M) * s.N);
    gemm_u8_packed(a8, s.M, s.za, b, threads, acc.data(), sc.gemm, &cx.pool);
}

// The three output rules of the integer products on a run of pixels (R only for the uint8 ones).
// Plain loops without branches on the values: MATMUL's saturation written as a branch cost 0.6 ms
// of a 3.4 ms 256 x 1024 @ 1024 x 1024 step in mispredictions (measured; its sums straddle 255).
PX_CLONES void store_saturated_run(uint8_t* __restrict px, const uint32_t* __restrict acc, uint32_t len) {
    for (uint32_t j = 0; j < len; ++j)
        px[4 * size_t(j)] = uint8_t(std::min<uint32_t>(acc[j], 255));
}
PX_CLONES void store_requantized_run(uint8_t* __restrict px, const uint32_t* __restrict acc, uint32_t len,
                                     const QMatmulParams& q) {
    for (uint32_t j = 0; j < len; ++j)
        px[4 * size_t(j)] = clamp_add(rounding_mul_shift(int32_t(acc[j]), q.multiplier, q.shift), q.zc,
                                      q.clamp_lo, q.clamp_hi);
}
// An int32 pixel is the value's little-endian bytes (i32_to_rgba), which is how this machine
// holds it (static_assert above): a copy. Byte by byte it was 7% of a 256 x 1024 @ 1024 x 1024 step.
void store_i32_run(uint8_t* __restrict px, const uint32_t* __restrict acc, uint32_t len) {
    std::memcpy(px, acc, 4 * size_t(len));
}

// acc[j] += add[j] modulo 2^32 over a run (vectorized): QMATMUL's and QMATMUL32's int32 bias on a row.
PX_CLONES void add_run(uint32_t* __restrict acc, const uint32_t* __restrict add, size_t n) {
    for (size_t j = 0; j < n; ++j)
        acc[j] += add[j];
}

// MATMUL, QMATMUL and QMATMUL32: the same integer product, then each opcode's output rule. The
// zero points and the bias row come decoded in the plan.
void execute_matmul(FastContext& cx, Image& image, const Plan& p) {
    const Opcode op = Opcode(p.ins.opcode);
    MatmulShape s{p.shape[0].rows, p.shape[0].cols, p.shape[1].cols, p.ins.operand[0], p.ins.operand[1]};
    const uint32_t row_c = p.ins.operand[2];
    QMatmulParams q;
    uint32_t bias_row = 0;
    if (op == Opcode::QMATMUL) {
        q = std::get<QMatmulParams>(p.params);
        s.za = q.za, s.zb = q.zb, bias_row = q.bias_row;
    } else if (op == Opcode::QMATMUL32) {
        const QMatmul32Params& q32 = std::get<QMatmul32Params>(p.params);
        s.za = q32.za, s.zb = q32.zb, bias_row = q32.bias_row;
    }
    const unsigned threads = threads_for(cx, uint64_t(s.M) * s.N * s.K);
    // Every read happens here, before any write (PROTOCOL.md §4.2): c may be a, b or the bias.
    std::vector<uint32_t>& acc = cx.scratch.acc;
    // With VNNI the few-rows product runs on the kept packed weight (cpu_gemm.cpp, vnni_rows_panel):
    // one byte a weight instead of the pixel's four. A decode step of the shipped uint8 GPT measured
    // QMATMUL at 0.29 ms a token read straight from the pixels.
    if (s.M <= kDirectMaxM && !gemm_vnni_available())
        matmul_direct(cx, image, s, threads, acc);
    else
        matmul_packed(cx, image, s, threads, acc);
    if (bias_row != 0) { // a 1 x N matrix of int32 pixels, checked by the plan
        std::vector<uint32_t> bias(s.N);
        for_runs(image.rgba.data(), image.width, bias_row, 0, s.N,
                 [&](uint64_t i, const uint8_t* px, uint32_t len) {
                     for (uint32_t j = 0; j < len; ++j)
                         std::memcpy(&bias[i + j], px + 4 * size_t(j), 4); // little-endian
                 });
        // Row by row: an index modulo N per element was 12% of a 1 x 192 @ 192 x 192 QMATMUL (perf).
        for (size_t m = 0; m < s.M; ++m)
            add_run(&acc[m * s.N], bias.data(), s.N);
    }
    image.set_pixel(0, row_c, encode_header(p.out_shape));
    // The output rule on threads taking ranges of rows of C, run by run of pixels.
    parallel_ranges(&cx.pool, threads, s.M, [&](uint32_t m0, uint32_t m1) {
        for_runs(image.rgba.data(), image.width, row_c, uint64_t(m0) * s.N, uint64_t(m1) * s.N,
                 [&](uint64_t i, uint8_t* px, uint32_t len) {
                     const uint32_t* a = &acc[i];
                     switch (op) {
                     case Opcode::QMATMUL: store_requantized_run(px, a, len, q); break;
                     case Opcode::QMATMUL32: store_i32_run(px, a, len); break;
                     default: store_saturated_run(px, a, len); break;
                     }
                 });
    });
    trim_scratch(cx);
    trim_weights(cx);
}

// The R channel of a checked matrix's first n elements, row-major, walking the layout run by run,
// into v (resized to n).
void gather_r_into(const Image& image, uint32_t row, uint64_t n, std::vector<uint8_t>& v) {
    v.resize(n);
    for_runs(image.rgba.data(), image.width, row, 0, n,
             [&](uint64_t i, const uint8_t* px, uint32_t len) { gather_r_run(&v[i], px, len); });
}
std::vector<uint8_t> gather_r(const Image& image, uint32_t row, uint64_t n) {
    std::vector<uint8_t> v;
    gather_r_into(image, row, n, v);
    return v;
}

// Writes c's header and its u8 elements' R (G, B, A kept).
void store_r(Image& image, uint32_t row, MatrixHeader h, const uint8_t* c) {
    image.set_pixel(0, row, encode_header(h));
    for_runs(image.rgba.data(), image.width, row, 0, h.elements(),
             [&](uint64_t i, uint8_t* px, uint32_t len) {
                 for (uint32_t j = 0; j < len; ++j)
                     px[4 * size_t(j)] = c[i + j];
             });
}

// QADD (quant.cpp's qadd_u8, the reference) on a run of n elements, as a loop that vectorizes:
// the products are int32 x int32 widened, and the rounding shift is LogicalRoundingShift's
// (|v| < 2^40: Ma, Mb < 2^31, codes less zero points within +-255).
PX_CLONES void qadd_run(uint8_t* __restrict c, const uint8_t* __restrict a, const uint8_t* __restrict b,
                        size_t n, const QAddParams& p) {
    const LogicalRoundingShift round(p.shift);
    const int32_t za = p.za, zb = p.zb, ma = p.ma, mb = p.mb;
    for (size_t i = 0; i < n; ++i) {
        const int64_t v = int64_t(int32_t(a[i]) - za) * ma + int64_t(int32_t(b[i]) - zb) * mb;
        c[i] = clamp_add(round(v), p.zc, p.clamp_lo, p.clamp_hi);
    }
}

// ADD and QADD: element-wise. ADD runs the reference's own kernel on the gathered values; QADD
// runs qadd_run in the executor's scratch, row by row when b is one row.
void execute_add(FastContext& cx, Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    if (Opcode(p.ins.opcode) == Opcode::ADD) {
        const std::vector<uint8_t> a = gather_r(image, op[0], p.shape[0].elements());
        const std::vector<uint8_t> b = gather_r(image, op[1], p.shape[1].elements());
        store_r(image, op[2], p.out_shape, add_u8(a, p.shape[0], b, p.shape[1]).data());
        return;
    }
    std::vector<uint8_t>&a = cx.scratch.ua, &b = cx.scratch.ub, &c = cx.scratch.uc;
    gather_r_into(image, op[0], p.shape[0].elements(), a);
    gather_r_into(image, op[1], p.shape[1].elements(), b);
    c.resize(a.size());
    const size_t step = b.size(); // all of a, or one row of it when b is 1 x cols (the plan checked)
    for (size_t i = 0; i < a.size(); i += step)
        qadd_run(&c[i], &a[i], b.data(), step, std::get<QAddParams>(p.params));
    store_r(image, op[2], p.out_shape, c.data());
    trim_scratch(cx);
}

// f32 elements [i0, i0 + n) of the matrix at `row`, canonicalized on load (PROTOCOL.md F.3).
PX_CLONES void canon_run(uint32_t* __restrict dst, const uint8_t* __restrict px, uint32_t len) {
    for (uint32_t j = 0; j < len; ++j) {
        uint32_t w;
        std::memcpy(&w, px + 4 * size_t(j), 4);
        dst[j] = fm::canon_bits_select(w);
    }
}

// FMATMUL outputs kept in flight per row of a: the halving tree of F.5 runs on 16 x kFloatN
// products at once, vectorized across the outputs (every output still sums its own terms in the
// defined order: blocks of 16 by the tree, block sums in order), reading b's rows contiguously.
constexpr uint32_t kFloatN = 16;

// c[i] = fm::add(a[i], b[i]) or fm::mul(a[i], b[i]) on a run (canonical operands: the sum or
// product, then fm::canon_bits_select, so the loop vectorizes). FADD and FMUL, and FMATMUL's bias: the
// scalar form was 0.4 us of each 384-column half of a 1 x 192 @ 192 x 768 decode product
// (measured).
template <bool Mul>
PX_CLONES void fbinary_run(float* c, const float* a, const float* b, size_t n) { // c may be a
    for (size_t i = 0; i < n; ++i) {
        const float r = Mul ? a[i] * b[i] : a[i] + b[i];
        uint32_t w;
        std::memcpy(&w, &r, 4);
        w = fm::canon_bits_select(w);
        std::memcpy(&c[i], &w, 4);
    }
}

// canon_run into words that already hold a copy, and whether any word changed.
inline bool canon_run_changed(uint32_t* __restrict dst, const uint8_t* __restrict px, uint32_t len) {
    uint32_t diff = 0;
    for (uint32_t j = 0; j < len; ++j) {
        uint32_t w;
        std::memcpy(&w, px + 4 * size_t(j), 4);
        const uint32_t v = fm::canon_bits_select(w);
        diff |= dst[j] ^ v;
        dst[j] = v;
    }
    return diff != 0;
}

// canon_run_changed over a run of b's pixels starting at element (k, n) of a K x N matrix, into
// strips of kFloatN columns, Kp rows each (PackedFloatWeight's layout): the run is cut where a strip
// row ends. One call per run, not per piece: the pieces are at most kFloatN words, and a call
// through the clones' dispatch for each cost more than the words (measured 1 ms a step at 1024 x
// 1024).
PX_CLONES bool canon_run_into_strips(uint32_t* __restrict strips, uint32_t Kp, uint32_t N, uint64_t k,
                                     uint32_t n, const uint8_t* __restrict px, uint32_t len) {
    bool changed = false;
    for (uint32_t done = 0; done < len;) {
        const uint32_t chunk = std::min({len - done, kFloatN - n % kFloatN, N - n});
        uint32_t* d = strips + (size_t(n / kFloatN) * Kp + k) * kFloatN + n % kFloatN;
        changed |= canon_run_changed(d, px + 4 * size_t(done), chunk);
        done += chunk, n += chunk;
        if (n == N) n = 0, ++k;
    }
    return changed;
}

// Elements [i0, i0 + n) of the f32 matrix at `row`, canonicalized, into out[0 .. n).
void gather_f32_range(const Image& image, uint32_t row, uint64_t i0, uint64_t n, float* out) {
    static_assert(sizeof(float) == sizeof(uint32_t));
    for_runs(image.rgba.data(), image.width, row, i0, i0 + n,
             [&](uint64_t i, const uint8_t* px, uint32_t len) {
                 canon_run(reinterpret_cast<uint32_t*>(out + (i - i0)), px, len);
             });
}
void gather_f32_runs(const Image& image, uint32_t row, uint64_t n, float* out) {
    gather_f32_range(image, row, 0, n, out);
}

PX_CLONES void fmatmul_row(const float* __restrict a, const float* __restrict b, uint32_t K, uint32_t N,
                           uint32_t n0, uint32_t nn, float* __restrict acc) {
    if (nn == kFloatN && fm::dot_runs_vectorized()) return fm::dot16_cols(a, b + n0, N, K, acc);
    float u[16][kFloatN];
    for (uint32_t j = 0; j < nn; ++j)
        acc[j] = 0.0f;
    for (uint32_t k0 = 0; k0 < K; k0 += 16) {
        const uint32_t terms = std::min<uint32_t>(16, K - k0);
        for (uint32_t i = 0; i < 16; ++i) {
            if (i < terms) {
                const float av = a[k0 + i];
                const float* brow = b + size_t(k0 + i) * N + n0;
                for (uint32_t j = 0; j < kFloatN; ++j)
                    u[i][j] = j < nn ? fm::mul(av, brow[j]) : 0.0f;
            } else {
                for (uint32_t j = 0; j < kFloatN; ++j)
                    u[i][j] = 0.0f; // missing terms of the last block are +0 (F.5)
            }
        }
        for (uint32_t h = 8; h >= 1; h /= 2)
            for (uint32_t i = 0; i < h; ++i)
                for (uint32_t j = 0; j < kFloatN; ++j)
                    u[i][j] = fm::add(u[i][j], u[i + h][j]);
        for (uint32_t j = 0; j < nn; ++j)
            acc[j] = fm::add(acc[j], u[0][j]);
    }
}

// ---- FMATMUL without per-operation canonicalization, when that is provably the same ----------
//
// F.5 defines every product and every partial sum as canon(IEEE result). canon changes a value
// in three ways: NaN -> the one NaN, -0 -> +0, and 0 < |v| <= 2^-126 -> +0. The first two never
// change what a later add or mul gives beyond the same two distinctions (NaN stays NaN; a zero of
// either sign added to x != 0 gives x, two zeros give a zero), so canonicalizing once at the end
// gives the same bits. The third can matter, and it cannot happen when
//     min |a| * min |b| >= 2^-100   (over the nonzero finite elements of a and of b):
// every product is then 0, inf, NaN or of magnitude >= 2^-100, so a multiple of 2^-123; a sum
// of multiples of 2^-123 is one too (below 2^-100 it is exact, above it its own ulp is >= 2^-123),
// so no finite partial sum is ever nonzero with |v| < 2^-123, let alone <= 2^-126. When the
// exponents allow it (checked per FMATMUL in O(MK + KN)), the kernel below runs plain vmulps and
// vaddps in exactly the F.5 tree; otherwise the canonicalizing kernel above runs. Both give the
// reference's bits (tests/cpu_fast_test.cpp runs both sides of the boundary).
constexpr uint32_t kFloatExpSumMin = 254 - 100; // biased exponents: (ea - 127) + (eb - 127) >= -100

// The smallest biased exponent among the nonzero finite values (255 when there are none).
// Asked of every FMATMUL's a and of every attention row: as selects on whole words, so the loop
// vectorizes (the scalar form was 0.5 us of a 1 x 768 @ 768 x 192 decode product of 8, measured).
PX_CLONES uint32_t min_exponent(const float* __restrict v, size_t n) {
    uint32_t lo = 255;
    for (size_t i = 0; i < n; ++i) {
        uint32_t w;
        std::memcpy(&w, v + i, 4);
        const uint32_t e = (w >> 23) & 0xFFu;
        lo = std::min(lo, e == 0 ? 255u : e); // canonical: exponent 0 is +0 only; 255 is inf/NaN
    }
    return lo;
}

// FMATMUL's b as strips (PackedFloatWeight), brought up to date with the pixels now: one pass over
// b's pixels by threads taking ranges of k, each run cut where a strip ends.
const PackedFloatWeight& packed_float_weight(FastContext& cx, const Image& image, uint32_t row_b, uint32_t K,
                                             uint32_t N, unsigned threads) {
    auto it = std::find_if(cx.fweights.begin(), cx.fweights.end(), [&](const PackedFloatWeight& w) {
        return w.row_b == row_b && w.K == K && w.N == N;
    });
    const uint32_t strips = (N + kFloatN - 1) / kFloatN, Kp = (K + 15) / 16 * 16;
    bool changed = false, fresh = false;
    if (it == cx.fweights.end()) {
        PackedFloatWeight w;
        w.row_b = row_b, w.K = K, w.N = N;
        use_arena(w.strips, &cx.arena), use_arena(w.source, &cx.arena);
        w.strips.assign(size_t(strips) * Kp * kFloatN, 0.0f); // the padding stays zero
        w.source.resize(size_t(K) * N);
        cx.fweights.push_back(std::move(w));
        it = cx.fweights.end() - 1;
        changed = fresh = true;
    }
    PackedFloatWeight& w = *it;
    w.last_use = ++cx.uses;
    if (w.trusted) { // checked earlier in this run, its rows not written since: b is `source`
        if (cx.settings.stats) ++cx.settings.stats->fweights_reused, ++cx.settings.stats->fweights_trusted;
        return w;
    }
    uint32_t* dst = reinterpret_cast<uint32_t*>(w.strips.data());
    std::atomic<bool> any_changed{false};
    parallel_ranges(&cx.pool, threads, K, [&](uint32_t k0, uint32_t k1) {
        bool c = false;
        for_runs(image.rgba.data(), image.width, row_b, uint64_t(k0) * N, uint64_t(k1) * N,
                 [&](uint64_t i, const uint8_t* px, uint32_t len) {
                     // Pixels are little-endian words (static_assert above), so bytes compare as words.
                     if (!fresh && std::memcmp(px, &w.source[i], 4 * size_t(len)) == 0) return;
                     std::memcpy(&w.source[i], px, 4 * size_t(len));
                     c |= canon_run_into_strips(dst, Kp, N, i / N, uint32_t(i % N), px, len);
                 });
        if (c) any_changed.store(true, std::memory_order_relaxed);
    });
    changed = changed || any_changed.load();
    if (changed) {
        w.min_exp = min_exponent(w.strips.data(), w.strips.size()); // the padding zeros count for nothing
        if (cx.settings.stats) ++cx.settings.stats->fweights_packed;
    } else if (cx.settings.stats) {
        ++cx.settings.stats->fweights_reused;
    }
    w.last_row = row_b + uint32_t(rows_for_elements(uint64_t(K) * N, image.width)) - 1;
    w.trusted = true; // until a write to its rows or a plan that does not continue the run
    return w;
}

// The plain FMATMUL kernels (AVX-512 and AVX2) are built for x86-64 with GCC or clang; which one
// runs is the CPU's choice at run time (plain_float_kernel).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PX_FMATMUL_X86 1

// A one-row product (a decode step's) reads each float of b once, as a stream that starts afresh
// at every instruction: 25 products of 147 KB to 3 MB a float32 GPT token, a few microseconds
// each, too short for the hardware prefetcher to reach its stride before the stream ends. So the
// one-row kernel asks for the block 4 KiB ahead of the one it reads, non-temporal: nothing reads
// the weights again before the next token, and 10 MB of them pass through 1 MB of L2 per token.
// Measured on the float32 GPT's decode (2 threads, builds alternating, 10 runs of 32 tokens
// each): FMATMUL 106 to 108 -> 93 to 98 us a token on a quiet host, 120 to 141 -> 115 to 126 on
// a busy one; GPT-2-small's, from DRAM, 11.6 to 13.4 -> 9.5 to 11.3 ms (BENCHMARKS.md, eighteenth
// pass). 2, 6 or 8 KiB ahead, or a temporal hint, did about as well; the block being read, no
// better than none. The same in the uint8 program's VNNI decode kernel (cpu_gemm.cpp) made its
// QMATMULs slower in four of five pairs (44 to 54 -> 52 to 64 us a token), so it is not there.
// The address is computed as a number: it may lie past the end of b, which a prefetch may name
// (it never faults) but pointer arithmetic may not.
inline void prefetch_block_ahead(const float* block) {
    constexpr uintptr_t kAhead = 4096;
    const uintptr_t at = reinterpret_cast<uintptr_t>(block) + kAhead;
    for (uintptr_t line = 0; line < 16 * 16 * sizeof(float); line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(at + line), _MM_HINT_NTA);
}

// R rows of a (stride lda) times a strip of 16 columns of b (16 floats a row, Kp rows: K padded
// with zero rows to a multiple of 16) into out (stride ldc, `mask` = the columns that exist): per
// block of 16 k, each output's 16 products summed by the F.5 halving tree, then added to its
// running sum, block by block in order. No canonicalization in between (see above), once on the
// way out: canonicalizing after the masked store, 16 floats at a time in scalar code, reloaded
// what the store had not yet written (a store-forwarding stall): 12% of a 1 x 192 @ 192 x 4096
// product (perf). The last block's missing terms come from zero-padded copies of a, so every block
// is the same code.
template <int R>
PX_AVX512F_TARGET void fmatmul_tile_avx512(const float* __restrict a, uint32_t lda, uint32_t K,
                                           const float* __restrict strip, __mmask16 mask,
                                           float* __restrict out, uint32_t ldc) {
    __m512 acc[R];
    for (int r = 0; r < R; ++r)
        acc[r] = _mm512_setzero_ps();
    alignas(64) float tail[R][16];
    for (uint32_t k0 = 0; k0 < K; k0 += 16) {
        const float* ar[R];
        if (k0 + 16 <= K) {
            for (int r = 0; r < R; ++r)
                ar[r] = a + size_t(r) * lda + k0;
        } else {
            for (int r = 0; r < R; ++r) {
                for (uint32_t i = 0; i < 16; ++i)
                    tail[r][i] = k0 + i < K ? a[size_t(r) * lda + k0 + i] : 0.0f;
                ar[r] = tail[r];
            }
        }
        __m512 bv[16];
        if constexpr (R == 1) // one row: a stream of b that nothing reads again this product
            prefetch_block_ahead(strip + size_t(k0) * 16);
#pragma GCC unroll 16
        for (uint32_t i = 0; i < 16; ++i)
            bv[i] = _mm512_loadu_ps(strip + size_t(k0 + i) * 16);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const float* x = ar[r];
#define PX_P(i) _mm512_mul_ps(_mm512_set1_ps(x[i]), bv[i])
            // v_i = u_i + u_{i+8}; then + v_{i+4}; then + v_{i+2}; then v_0 + v_1 (F.5 step 2).
            const __m512 t0 =
                _mm512_add_ps(_mm512_add_ps(PX_P(0), PX_P(8)), _mm512_add_ps(PX_P(4), PX_P(12)));
            const __m512 t2 =
                _mm512_add_ps(_mm512_add_ps(PX_P(2), PX_P(10)), _mm512_add_ps(PX_P(6), PX_P(14)));
            const __m512 t1 =
                _mm512_add_ps(_mm512_add_ps(PX_P(1), PX_P(9)), _mm512_add_ps(PX_P(5), PX_P(13)));
            const __m512 t3 =
                _mm512_add_ps(_mm512_add_ps(PX_P(3), PX_P(11)), _mm512_add_ps(PX_P(7), PX_P(15)));
#undef PX_P
            acc[r] = _mm512_add_ps(acc[r], _mm512_add_ps(_mm512_add_ps(t0, t2), _mm512_add_ps(t1, t3)));
        }
    }
    for (int r = 0; r < R; ++r)
        _mm512_mask_storeu_ps(out + size_t(r) * ldc, mask, fm::canon_avx512(acc[r]));
}

// c = a @ b by fmatmul_tile_avx512 (canonical on the way out). b comes packed into strips
// of 16 columns, each Kp x 16 contiguous (PackedFloatWeight): read in place, rows N floats apart
// fall in a few cache sets when N is a multiple of 1024 and came from L3 on every tile (measured
// 10x slower at 1024 x 1024). Rows of a go in blocks of about 256 KiB so a block stays in L2 while
// every strip passes over it (without the blocks, 256 x 1024 ran 2.5x slower than 4 times 64 x 1024).
// `epilogue` as for fmatmul_plain_avx2 below: when every row fits one block it runs on each range
// of strips in the same hand-out. Returns whether it ran.
bool fmatmul_plain(FastContext& cx, const float* a, const float* bp, float* c, uint32_t M, uint32_t K,
                   uint32_t N, unsigned threads, const std::function<void(uint32_t, uint32_t)>* epilogue) {
    const uint32_t strips = (N + kFloatN - 1) / kFloatN;
    const uint32_t Kp = (K + 15) / 16 * 16;
    const uint32_t block = std::max<uint32_t>(4, uint32_t((size_t(256) << 10) / (size_t(K) * 4)) / 4 * 4);
    const bool fused = epilogue && M <= block;
    for (uint32_t m0 = 0; m0 < M; m0 += block) {
        const uint32_t m1 = std::min(M, m0 + block);
        parallel_ranges(&cx.pool, threads, strips, [&](uint32_t s0, uint32_t s1) {
            for (uint32_t s = s0; s < s1; ++s) {
                const uint32_t n0 = s * kFloatN, nn = std::min(kFloatN, N - n0);
                const __mmask16 mask = __mmask16((1u << nn) - 1);
                const float* strip = bp + size_t(s) * Kp * kFloatN;
                uint32_t m = m0;
                for (; m + 4 <= m1; m += 4)
                    fmatmul_tile_avx512<4>(a + size_t(m) * K, K, K, strip, mask, c + size_t(m) * N + n0, N);
                for (; m < m1; ++m)
                    fmatmul_tile_avx512<1>(a + size_t(m) * K, K, K, strip, mask, c + size_t(m) * N + n0, N);
            }
            if (fused) (*epilogue)(s0, s1);
        });
    }
    return fused;
}

// One row of a (x: 16 * blocks terms) times one strip (16 columns as two ymm vectors, 16 floats
// a row of k, b at the strip's row of x[0]), added block by block to acc[0..15]. Each block's 16
// products per output are summed by the F.5 halving tree, walked depth first
//     y = (((u0 + u8) + (u4 + u12)) + ((u2 + u10) + (u6 + u14)))
//       + (((u1 + u9) + (u5 + u13)) + ((u3 + u11) + (u7 + u15)))
// (the same additions as F.5's level by level v_i = u_i + u_{i+8}, then + v_{i+4}, + v_{i+2},
// v_0 + v_1), so at most five partial sums per column vector are alive at once and the 16 ymm
// registers hold both columns' trees, the accumulators and the broadcast terms of a. Each
// broadcast of a serves both columns; b is read from L1 (the caller keeps a chunk of the strip
// there). Plain vmulps and vaddps: no canonicalization (see above), the caller does it.
PX_AVX2_TARGET void fmatmul_strip_avx2(const float* __restrict x, const float* __restrict b, uint32_t blocks,
                                       float* __restrict acc) {
    __m256 c0 = _mm256_loadu_ps(acc), c1 = _mm256_loadu_ps(acc + 8);
    for (uint32_t blk = 0; blk < blocks; ++blk, x += 16, b += 256) {
        // r0, r1 = u_i + u_{i+8} for both column vectors.
#define PX_PAIR(i, r0, r1)                                                                                   \
    const __m256 r0##p = _mm256_broadcast_ss(x + (i)), r0##q = _mm256_broadcast_ss(x + (i) + 8);             \
    const __m256 r0 = _mm256_add_ps(_mm256_mul_ps(r0##p, _mm256_loadu_ps(b + (i)*16)),                       \
                                    _mm256_mul_ps(r0##q, _mm256_loadu_ps(b + ((i) + 8) * 16)));              \
    const __m256 r1 = _mm256_add_ps(_mm256_mul_ps(r0##p, _mm256_loadu_ps(b + (i)*16 + 8)),                   \
                                    _mm256_mul_ps(r0##q, _mm256_loadu_ps(b + ((i) + 8) * 16 + 8)))
        // r0, r1 = w_j = v_j + v_{j+4}.
#define PX_QUAD(j, r0, r1)                                                                                   \
    PX_PAIR(j, r0##v, r1##v);                                                                                \
    PX_PAIR((j) + 4, r0##u, r1##u);                                                                          \
    const __m256 r0 = _mm256_add_ps(r0##v, r0##u), r1 = _mm256_add_ps(r1##v, r1##u)
        PX_QUAD(0, w0a, w0b);
        PX_QUAD(2, w2a, w2b);
        const __m256 x0a = _mm256_add_ps(w0a, w2a), x0b = _mm256_add_ps(w0b, w2b);
        PX_QUAD(1, w1a, w1b);
        PX_QUAD(3, w3a, w3b);
        const __m256 x1a = _mm256_add_ps(w1a, w3a), x1b = _mm256_add_ps(w1b, w3b);
#undef PX_QUAD
#undef PX_PAIR
        c0 = _mm256_add_ps(c0, _mm256_add_ps(x0a, x1a));
        c1 = _mm256_add_ps(c1, _mm256_add_ps(x0b, x1b));
    }
    _mm256_storeu_ps(acc, c0);
    _mm256_storeu_ps(acc + 8, c1);
}

// c = a @ b by fmatmul_strip_avx2, canonicalized once at the end; b in strips as for the AVX-512
// kernel. Per strip, k goes in chunks of 256 (a 16 KiB piece of the strip, which stays in L1 while
// every row of the block passes over it: the whole strip is 64 KiB at K = 1024, past L1), each
// row's 16 running sums kept in `acc` between chunks (a float stored and loaded back is the same
// float, and the block sums are still added in order). The last block's missing terms come from
// a zero-padded copy of the row's tail, as F.5's +0 terms.
// `epilogue`, if set and M fits one block of rows, runs on each range of strips right after it is
// computed (its columns of every row), in the same hand-out to the threads: decode's one-row
// products then cost one hand-out each, not two, and the bias and activation meet c in cache.
// Returns whether it ran.
bool fmatmul_plain_avx2(FastContext& cx, const float* a, const float* bp, float* c, uint32_t M, uint32_t K,
                        uint32_t N, unsigned threads,
                        const std::function<void(uint32_t, uint32_t)>* epilogue) {
    constexpr uint32_t kRows = 64, kChunkBlocks = 16;
    const uint32_t strips = (N + kFloatN - 1) / kFloatN;
    const uint32_t Kp = (K + 15) / 16 * 16, full = K / 16, rem = K % 16;
    const bool fused = epilogue && M <= kRows;
    for (uint32_t m0 = 0; m0 < M; m0 += kRows) {
        const uint32_t rows = std::min(kRows, M - m0);
        parallel_ranges(&cx.pool, threads, strips, [&](uint32_t s0, uint32_t s1) {
            alignas(32) float acc[kRows][16];
            alignas(32) float tail[16];
            for (uint32_t s = s0; s < s1; ++s) {
                const uint32_t n0 = s * kFloatN, nn = std::min(kFloatN, N - n0);
                const float* strip = bp + size_t(s) * Kp * kFloatN;
                std::memset(acc, 0, sizeof(float) * 16 * rows);
                for (uint32_t q0 = 0; q0 < full; q0 += kChunkBlocks) {
                    const uint32_t nb = std::min(kChunkBlocks, full - q0);
                    for (uint32_t r = 0; r < rows; ++r)
                        fmatmul_strip_avx2(a + size_t(m0 + r) * K + size_t(q0) * 16, strip + size_t(q0) * 256,
                                           nb, acc[r]);
                }
                if (rem)
                    for (uint32_t r = 0; r < rows; ++r) {
                        const float* x = a + size_t(m0 + r) * K + size_t(full) * 16;
                        for (uint32_t i = 0; i < 16; ++i)
                            tail[i] = i < rem ? x[i] : 0.0f;
                        fmatmul_strip_avx2(tail, strip + size_t(full) * 256, 1, acc[r]);
                    }
                for (uint32_t r = 0; r < rows; ++r)
                    for (uint32_t j = 0; j < nn; ++j)
                        c[size_t(m0 + r) * N + n0 + j] = fm::canon(acc[r][j]);
            }
            if (fused) (*epilogue)(s0, s1);
        });
    }
    return fused;
}
#else
#define PX_FMATMUL_X86 0
#endif

// Which kernel computes an FMATMUL: a plain one (mul and add without canon per operation, exact
// when no value can be flushed: see above) on the widest vectors the CPU has, else the
// canonicalizing row kernel.
enum class FloatKernel { Canon, Avx512, Avx2 };

FloatKernel plain_float_kernel() {
#if PX_FMATMUL_X86
    if (fm::best_pack_isa() == fm::PackIsa::Avx512) return FloatKernel::Avx512;
    if (fm::best_pack_isa() == fm::PackIsa::Avx2) return FloatKernel::Avx2;
#endif
    return FloatKernel::Canon;
}

// FMATMUL: the reference's order (F.5), vectorized across outputs and split over column strips
// on threads, b read from its packed strips (kept between steps: PackedFloatWeight). Every read
// happens before any write (§4.2).
void execute_fmatmul(FastContext& cx, Image& image, const Plan& p) {
    const auto& q = std::get<FMatmulParams>(p.params);
    const uint32_t M = p.shape[0].rows, K = p.shape[0].cols, N = p.shape[1].cols;
    Scratch& sc = cx.scratch;
    std::vector<float>&a = sc.fa, &c = sc.fc, &bias = sc.fbias;
    a.resize(size_t(M) * K);
    gather_f32_runs(image, p.ins.operand[0], a.size(), a.data());
    if (q.bias_row) {
        bias.resize(N);
        gather_f32_runs(image, q.bias_row, N, bias.data());
    }
    const unsigned threads = threads_for(cx, uint64_t(M) * N * K);
    const PackedFloatWeight& b = packed_float_weight(cx, image, p.ins.operand[1], K, N, threads);
    c.resize(size_t(M) * N); // every element is written below
    const uint32_t strips = (N + kFloatN - 1) / kFloatN, Kp = (K + 15) / 16 * 16;
    // A row of a whose values could be flushed with b's (see above) runs the canonicalizing kernel,
    // the others the plain one: rows are independent outputs, so which kernel computes one never
    // changes the bytes. (Deciding for the whole of a sent a 36-token prefill's MLP product to the
    // canonicalizing kernel whenever one GELU output was tiny: 1 in 25 of its products, measured.)
    FloatKernel kernel = plain_float_kernel();
    std::vector<uint8_t>& canon_row = sc.canon_rows;
    canon_row.assign(M, 0);
    uint32_t canon_rows = 0;
    for (uint32_t m = 0; m < M && kernel != FloatKernel::Canon; ++m)
        if (min_exponent(&a[size_t(m) * K], K) + b.min_exp < kFloatExpSumMin) canon_row[m] = 1, ++canon_rows;
    if (canon_rows == M) kernel = FloatKernel::Canon, canon_rows = 0; // canon after every operation
    const bool plain = kernel != FloatKernel::Canon;
    if (FastStats* st = cx.settings.stats)
        ++(plain ? st->fmatmul_plain : st->fmatmul_canon), st->fmatmul_canon_rows += canon_rows;
    const bool epilogue = q.bias_row || FActivation(q.activation) != FActivation::None;
    // Bias and activation on the columns of strips [s0, s1), row by row.
    const std::function<void(uint32_t, uint32_t)> finish = [&](uint32_t s0, uint32_t s1) {
        const uint32_t j0 = s0 * kFloatN, j1 = std::min(N, s1 * kFloatN);
        for (uint32_t r = 0; r < M && epilogue; ++r) {
            float* out = &c[size_t(r) * N];
            if (q.bias_row) fbinary_run<false>(out + j0, out + j0, bias.data() + j0, j1 - j0);
            ops::activate_run(out + j0, j1 - j0, q.activation);
        }
    };
    // The plain kernel computes every row (the canonicalizing rows again below), with the epilogue
    // in its own hand-out unless some rows are still to be computed.
    const std::function<void(uint32_t, uint32_t)>* fused = epilogue && canon_rows == 0 ? &finish : nullptr;
    bool finished = false;
#if PX_FMATMUL_X86
    if (kernel == FloatKernel::Avx512)
        finished = fmatmul_plain(cx, a.data(), b.strips.data(), c.data(), M, K, N, threads, fused);
    if (kernel == FloatKernel::Avx2)
        finished = fmatmul_plain_avx2(cx, a.data(), b.strips.data(), c.data(), M, K, N, threads, fused);
#endif
    // c is canonical already: after a plain kernel with no bias, no activation and no canonicalizing
    // rows nothing is left.
    const bool rest = !finished && (!plain || epilogue || canon_rows > 0);
    parallel_ranges(&cx.pool, threads, rest ? strips : 0, [&](uint32_t s0, uint32_t s1) {
        for (uint32_t s = s0; s < s1; ++s) {
            const uint32_t n0 = s * kFloatN, nn = std::min(kFloatN, N - n0);
            const float* strip = b.strips.data() + size_t(s) * Kp * kFloatN; // K x 16, row stride 16
            for (uint32_t m = 0; m < M && (!plain || canon_rows > 0); ++m)
                if (!plain || canon_row[m])
                    fmatmul_row(&a[size_t(m) * K], strip, K, kFloatN, 0, nn, &c[size_t(m) * N + n0]);
        }
        finish(s0, s1);
    });
    const uint32_t row_c = p.ins.operand[2];
    image.set_pixel(0, row_c, encode_header(p.out_shape));
    for_runs(image.rgba.data(), image.width, row_c, 0, c.size(), [&](uint64_t i, uint8_t* px, uint32_t len) {
        std::memcpy(px, &c[i], 4 * size_t(len)); // canonical f32 values, little-endian
    });
    trim_scratch(cx);
    trim_weights(cx);
}

// Writes c's header and its f32 elements as whole pixels (canonical values, little-endian).
void store_f32(Image& image, uint32_t row, MatrixHeader h, const float* c) {
    image.set_pixel(0, row, encode_header(h));
    for_runs(image.rgba.data(), image.width, row, 0, h.elements(),
             [&](uint64_t i, uint8_t* px, uint32_t len) { std::memcpy(px, c + i, 4 * size_t(len)); });
}

// FADD and FMUL: element-wise, one operation per element, so what is worth removing is the
// reference's division per element in gather and scatter, and its scalar loop; the arithmetic is
// the reference's (fm::add / fm::mul, vectorized by fbinary_run), row by row when b is one row.
void execute_fbinary(FastContext& cx, Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    std::vector<float>&a = cx.scratch.fa, &b = cx.scratch.fbias;
    a.resize(p.shape[0].elements()), b.resize(p.shape[1].elements());
    gather_f32_runs(image, op[0], a.size(), a.data());
    gather_f32_runs(image, op[1], b.size(), b.data());
    const bool mul = Opcode(p.ins.opcode) == Opcode::FMUL;
    const size_t step = b.size(); // all of a, or one row of it when b is 1 x cols (the plan checked)
    for (size_t i = 0; i < a.size(); i += step)
        (mul ? fbinary_run<true> : fbinary_run<false>)(&a[i], &a[i], b.data(), step);
    store_f32(image, op[2], p.out_shape, a.data());
    trim_scratch(cx);
}

// ---- The float conversions and row functions (PROTOCOL.md §11.4-11.7) ----

PX_CLONES void dequant_run(float* __restrict out, const uint8_t* __restrict q, size_t n, uint8_t zp,
                           float scale) {
    for (size_t i = 0; i < n; ++i)
        out[i] = fm::dequantize(q[i], zp, scale);
}

PX_CLONES void quant_run(uint8_t* __restrict out, const float* __restrict x, size_t n, float inv_scale,
                         uint8_t zp) {
    for (size_t i = 0; i < n; ++i)
        out[i] = fm::quantize(x[i], inv_scale, zp);
}

// DEQUANT and QUANT: a gather of the whole operand (every read before any write, §4.2), one
// fm::dequantize / fm::quantize per element, the layout walked run by run.
void execute_qconvert(FastContext& cx, Image& image, const Plan& p) {
    const auto& q = std::get<QConvertParams>(p.params);
    const uint64_t n = p.shape[0].elements();
    const uint32_t row_c = p.ins.operand[2];
    if (Opcode(p.ins.opcode) == Opcode::DEQUANT && q.dtype.a == uint8_t(DType::I32)) {
        // The uint8 GPT's logits every token: kept scratch, as SAMPLE's (a GPT-2-sized vocabulary's
        // fresh vectors may fault their pages in on every call: gen_ops.h).
        std::vector<int32_t>& a = cx.scratch.qdev; // whole int32 pixels (§16.4)
        std::vector<float>& c = cx.scratch.fc;
        a.resize(n), c.resize(n);
        for_runs(
            image.rgba.data(), image.width, p.ins.operand[0], 0, n,
            [&](uint64_t i, const uint8_t* px, uint32_t len) { std::memcpy(&a[i], px, 4 * size_t(len)); });
        // dequant_i32_f32, fm::mul(float(a[i]), scale), as two loops that vectorize: the scalar
        // loop took about 3 us of the uint8 GPT's 4096 int32 logits a token.
        std::copy(a.begin(), a.end(), c.begin()); // int32 -> binary32 rounds to nearest even, as there
        fm::scale_run(c.data(), n, fm::from_bits(q.scale_bits));
        store_f32(image, row_c, p.out_shape, c.data());
        trim_scratch(cx);
        return;
    }
    if (Opcode(p.ins.opcode) == Opcode::DEQUANT) {
        const std::vector<uint8_t> a = gather_r(image, p.ins.operand[0], n);
        std::vector<float> c(n);
        dequant_run(c.data(), a.data(), n, q.zero_point, fm::from_bits(q.scale_bits));
        store_f32(image, row_c, p.out_shape, c.data());
        return;
    }
    std::vector<float> a(n);
    gather_f32_runs(image, p.ins.operand[0], n, a.data());
    std::vector<uint8_t> c(n);
    quant_run(c.data(), a.data(), n, fm::from_bits(q.scale_bits), q.zero_point);
    image.set_pixel(0, row_c, encode_header(p.out_shape));
    for_runs(image.rgba.data(), image.width, row_c, 0, n, [&](uint64_t i, uint8_t* px, uint32_t len) {
        for (uint32_t j = 0; j < len; ++j)
            px[4 * size_t(j)] = c[i + j]; // R only: G, B, A kept (u8 elements, F.1)
    });
}

// FCONVERT: f16 pairs are whole pixels, so both directions walk pixel runs of ceil(n/2) or n words.
void execute_fconvert(FastContext&, Image& image, const Plan& p) {
    const uint64_t n = p.shape[0].elements(), pairs = (n + 1) / 2;
    const uint32_t row_a = p.ins.operand[0], row_c = p.ins.operand[2];
    const bool to_f16 = std::get<FUnaryParams>(p.params).dtype.c == uint8_t(DType::F16);
    if (to_f16) {
        std::vector<float> a(n);
        gather_f32_runs(image, row_a, n, a.data());
        std::vector<uint32_t> w(pairs);
        for (uint64_t j = 0; j < pairs; ++j)
            w[j] =
                fm::pack_f16x2(fm::to_f16(a[2 * j]), 2 * j + 1 < n ? fm::to_f16(a[2 * j + 1]) : uint16_t(0));
        image.set_pixel(0, row_c, encode_header(p.out_shape));
        for_runs(image.rgba.data(), image.width, row_c, 0, pairs,
                 [&](uint64_t i, uint8_t* px, uint32_t len) { std::memcpy(px, &w[i], 4 * size_t(len)); });
        return;
    }
    std::vector<uint32_t> w(pairs);
    for_runs(image.rgba.data(), image.width, row_a, 0, pairs,
             [&](uint64_t i, const uint8_t* px, uint32_t len) { std::memcpy(&w[i], px, 4 * size_t(len)); });
    std::vector<float> c(n);
    for (uint64_t i = 0; i < n; ++i)
        c[i] = fm::from_f16(uint16_t(i % 2 ? w[i / 2] >> 16 : w[i / 2] & 0xFFFFu));
    store_f32(image, row_c, p.out_shape, c.data());
}

// GELU: fm::gelu per element (about 60 operations; 32 at a time where the CPU can: fm::gelu_run),
// split over threads.
void execute_gelu(FastContext& cx, Image& image, const Plan& p) {
    const uint64_t n = p.shape[0].elements();
    std::vector<float> v(n);
    gather_f32_runs(image, p.ins.operand[0], n, v.data());
    const uint32_t chunks = uint32_t((n + 4095) / 4096);
    parallel_ranges(&cx.pool, threads_for(cx, n * 64), chunks, [&](uint32_t c0, uint32_t c1) {
        const uint64_t i0 = uint64_t(c0) * 4096, i1 = std::min<uint64_t>(n, uint64_t(c1) * 4096);
        fm::gelu_run(v.data() + i0, size_t(i1 - i0));
    });
    store_f32(image, p.ins.operand[2], p.out_shape, v.data());
}

// FSOFTMAX: rows are independent, so they are split over threads; each row is the definition's
// fm::softmax_row on mul(x, scale) (F.11), its exponentials 32 at a time (fm::softmax_run).
void execute_fsoftmax(FastContext& cx, Image& image, const Plan& p) {
    const MatrixHeader h = p.shape[0];
    std::vector<float> x(h.elements());
    gather_f32_runs(image, p.ins.operand[0], x.size(), x.data());
    const float scale = fm::canon(fm::from_bits(std::get<FSoftmaxParams>(p.params).scale));
    const unsigned threads = threads_for(cx, h.elements() * 32); // ~30 operations an element
    parallel_ranges(&cx.pool, threads, h.rows, [&](uint32_t r0, uint32_t r1) {
        for (uint32_t r = r0; r < r1; ++r) {
            float* row = &x[size_t(r) * h.cols];
            fm::scale_run(row, h.cols, scale);
            fm::softmax_run(row, row, h.cols);
        }
    });
    store_f32(image, p.ins.operand[2], p.out_shape, x.data());
}

// One row of LAYERNORM (fm::layernorm_row's steps, F.6/F.10) with the element-wise passes as
// plain loops the compiler vectorizes and the sums by fm::sum_run. tmp holds n floats.
PX_CLONES void layernorm_row_fast(const float* __restrict x, const float* __restrict g,
                                  const float* __restrict b, float eps, float r, float* __restrict y,
                                  float* __restrict tmp, size_t n) {
    const float mean = fm::mul(fm::sum_run(x, n), r);
    for (size_t i = 0; i < n; ++i)
        y[i] = fm::sub(x[i], mean);
    for (size_t i = 0; i < n; ++i)
        tmp[i] = fm::mul(y[i], y[i]);
    const float s = fm::rsqrt(fm::add(fm::mul(fm::sum_run(tmp, n), r), eps));
    for (size_t i = 0; i < n; ++i)
        y[i] = fm::add(fm::mul(fm::mul(y[i], s), g[i]), b[i]);
}

// LAYERNORM: rows split over threads; operands gathered (canonicalized) before any write (§4.2).
void execute_layernorm(FastContext& cx, Image& image, const Plan& p) {
    const auto& q = std::get<LayerNormParams>(p.params);
    const uint32_t M = p.shape[0].rows, N = p.shape[0].cols;
    // In the executor's scratch: a decode step's nine 1 x 192 layer norms spent a third of their
    // time allocating five vectors each (measured).
    std::vector<float>&x = cx.scratch.fa, &y = cx.scratch.fc, &gb = cx.scratch.fbias,
    &sq = cx.scratch.norm_sq;
    x.resize(size_t(M) * N), y.resize(x.size()), sq.resize(x.size()), gb.resize(2 * size_t(N));
    gather_f32_runs(image, p.ins.operand[0], x.size(), x.data());
    gather_f32_runs(image, p.ins.operand[1], N, gb.data());
    if (q.bias_row)
        gather_f32_runs(image, q.bias_row, N, gb.data() + N);
    else
        std::fill(gb.begin() + N, gb.end(), 0.0f);
    const float eps = fm::from_bits(q.eps_bits), r = fm::recip(float(N));
    parallel_ranges(&cx.pool, threads_for(cx, uint64_t(M) * N * 16), M, [&](uint32_t m0, uint32_t m1) {
        for (uint32_t m = m0; m < m1; ++m)
            layernorm_row_fast(&x[size_t(m) * N], gb.data(), gb.data() + N, eps, r, &y[size_t(m) * N],
                               &sq[size_t(m) * N], N);
    });
    store_f32(image, p.ins.operand[2], p.out_shape, y.data());
    trim_scratch(cx);
}

// Elements [i0, i1) of the uint8 matrix at `row` as codes less `zero` (int16), run by run: what
// QATTENTION's kernels read (its q, and its K and V copies).
void gather_centered(const Image& image, uint32_t row, uint64_t i0, uint64_t i1, int32_t zero, int16_t* dst) {
    for_runs(image.rgba.data(), image.width, row, i0, i1, [&](uint64_t i, const uint8_t* px, uint32_t len) {
        for (uint32_t j = 0; j < len; ++j)
            dst[i - i0 + j] = int16_t(int32_t(px[4 * size_t(j)]) - zero);
    });
}

// v holds at least n elements. resize grows the capacity geometrically and initializes only the
// new elements (resizing to twice the size instead zeroed the whole doubled buffer at each growth).
template <class V> void grow_to(V& v, uint64_t n) {
    if (v.size() < n) v.resize(n);
}

// The copy of the cache whose header is at `row` (CacheCopy), extended to hold its first n
// elements as the kernel reads them: canonical f32 (zero = -1), in row order or (blocks_of = D, the
// row width) in transposed blocks of 16 rows, or R codes less `zero`. Returns its index in
// cx.caches: a reference would not survive the next call's push_back.
size_t cache_copy(FastContext& cx, const Image& image, uint32_t row, uint64_t n, int32_t zero,
                  uint32_t blocks_of = 0) {
    auto it = std::find_if(cx.caches.begin(), cx.caches.end(), [&](const CacheCopy& c) {
        return c.row == row && c.zero == zero && c.blocks_of == blocks_of;
    });
    if (it == cx.caches.end()) {
        cx.caches.push_back({.row = row, .zero = zero, .blocks_of = blocks_of});
        use_arena(cx.caches.back().f, &cx.arena), use_arena(cx.caches.back().c, &cx.arena);
        it = cx.caches.end() - 1;
    }
    CacheCopy& c = *it;
    c.last_use = ++cx.uses;
    if (c.valid < n) {
        if (cx.settings.stats) cx.settings.stats->cache_elements_read += n - c.valid;
        const uint64_t n_new = n - c.valid;
        if (zero < 0 && blocks_of == 0) {
            grow_to(c.f, n);
            gather_f32_range(image, row, c.valid, n_new, c.f.data() + c.valid);
        } else if (zero < 0) {
            const uint64_t D = blocks_of, rows = (n + D - 1) / D;
            grow_to(c.f, (rows + 15) / 16 * 16 * D);
            std::vector<float>& got = cx.scratch.cache_rows;
            got.resize(n_new);
            gather_f32_range(image, row, c.valid, n_new, got.data());
            // Row p, column k of element i, stepped instead of divided per element: two 64-bit
            // divisions an element were 0.1 us of a decode step's 0.53 here (measured; the rest is
            // the 192 cache lines a new row of 192 lands in, one float each).
            uint64_t p = c.valid / D, k = c.valid % D;
            for (uint64_t i = c.valid; i < n; ++i) {
                c.f[(p / 16) * 16 * D + k * 16 + p % 16] = got[i - c.valid];
                if (++k == D) k = 0, ++p;
            }
        } else {
            grow_to(c.c, n);
            gather_centered(image, row, c.valid, n, zero, c.c.data() + c.valid);
        }
        if (zero < 0) {
            if (c.valid == 0) c.min_exp = 255;
            const float* added = blocks_of ? cx.scratch.cache_rows.data() : c.f.data() + c.valid;
            c.min_exp = std::min(c.min_exp, min_exponent(added, n_new));
        }
        c.valid = n;
    }
    if (cx.settings.stats) cx.settings.stats->cache_elements_used += n;
    return size_t(it - cx.caches.begin());
}

// FATTENTION: one unit of work per (head, query row), split over threads, on the kept copies of K
// and V (cache_copy: only rows new since the last step are read from the pixels). Scores are F.5
// dot products: 16 positions at a time on the transposed keys (fm::dot16_cols, each lane the same
// tree as fm::dot; a decode step of the shipped model spent about 5 us a FATTENTION in one-row
// dot_rows), or fm::dot_rows without AVX2; plain forms where the exponents allow. The softmax is the
// definition's, and the weighted sum over positions is FMATMUL's row kernel on p (1 x n) and V's
// head columns (n x hd, row stride D; dot16_cols_plain where allowed): the same F.5 order,
// vectorized across 16 output columns. All reads happen before the one write of out (it may be q,
// K or V).
void execute_fattention(FastContext& cx, Image& image, const Plan& p) {
    const auto& prm = std::get<FAttentionParams>(p.params);
    const uint32_t T = p.shape[0].rows, D = p.shape[0].cols, L = p.shape[1].rows, heads = prm.heads;
    const uint32_t hd = D / heads, units = T * heads;
    const unsigned parts = std::min<unsigned>(threads_for(cx, uint64_t(T) * L * D * 2), std::max(1u, units));
    std::vector<float>&q = cx.scratch.att_q, &out = cx.scratch.att_out;
    q.resize(size_t(T) * D), out.resize(size_t(T) * D);
    gather_f32_runs(image, p.ins.operand[0], q.size(), q.data());
    // The keys in transposed blocks where the 16-position kernels run (AVX2), else in row order.
    const bool vectorized = fm::dot_runs_vectorized();
    const size_t ik = cache_copy(cx, image, p.ins.operand[1], uint64_t(L) * D, -1, vectorized ? D : 0);
    const size_t iv = cache_copy(cx, image, prm.v_row, uint64_t(L) * D, -1);
    const float *k = cx.caches[ik].f.data(), *v = cx.caches[iv].f.data();
    const uint32_t k_min_exp = cx.caches[ik].min_exp, v_min_exp = cx.caches[iv].min_exp;
    const float scale = fm::canon(fm::from_bits(prm.scale));
    // The plain kernels (no canonicalization per operation, fmath_vec.h) where the operands'
    // exponents prove them equal, as for FMATMUL (kFloatExpSumMin): q's row against K, and the
    // probabilities against V. Every operand is canonical (gathered so; softmax writes canonical).
    std::atomic<uint32_t> plain_units{0};
    parallel_ranges(&cx.pool, parts, units, [&](uint32_t u0, uint32_t u1) {
        std::vector<float> s((L + 15) / 16 * 16);
        uint32_t plain = 0;
        for (uint32_t u = u0; u < u1; ++u) {
            const uint32_t h = u / T, t = u % T, col = h * hd;
            const uint32_t n = L - T + t + 1; // causal: rows 0 .. L-T+t
            const float* qt = &q[size_t(t) * D + col];
            const bool plain_scores = vectorized && min_exponent(qt, hd) + k_min_exp >= kFloatExpSumMin;
            if (vectorized) {
                for (uint32_t j0 = 0; j0 < n; j0 += 16) // block j0 / 16 starts at j0 * D
                    (plain_scores ? fm::dot16_cols_plain : fm::dot16_cols)(
                        qt, k + size_t(j0) * D + size_t(col) * 16, 16, hd, s.data() + j0);
            } else {
                fm::dot_rows(qt, k + col, D, n, hd, s.data());
            }
            fm::scale_run(s.data(), n, scale);
            fm::softmax_run(s.data(), s.data(), n);
            const bool plain_sum =
                vectorized && hd % kFloatN == 0 && min_exponent(s.data(), n) + v_min_exp >= kFloatExpSumMin;
            for (uint32_t d0 = 0; d0 < hd; d0 += kFloatN) {
                float* o = &out[size_t(t) * D + col + d0];
                if (plain_sum)
                    fm::dot16_cols_plain(s.data(), v + col + d0, D, n, o);
                else
                    fmatmul_row(s.data(), v + col, n, D, d0, std::min(kFloatN, hd - d0), o);
            }
            plain += plain_scores && plain_sum;
        }
        plain_units.fetch_add(plain, std::memory_order_relaxed);
    });
    if (cx.settings.stats) {
        cx.settings.stats->fattention_plain_units += plain_units.load();
        cx.settings.stats->fattention_units += units;
    }
    store_f32(image, p.ins.operand[2], p.out_shape, out.data());
    trim_weights(cx);
}

// ---- The integer transformer opcodes (PROTOCOL.md §16) ----
// Integer arithmetic is exact, so any order gives the reference's bytes; what is optimized is the
// layout walk (run by run, no division per element), threads over rows or (query row, head)
// units, and QATTENTION's inner loops on int16 differences that vectorize. The definitions that
// are not loops (the row statistics, iexp, the probabilities) are qint_ops.h's, shared.

void execute_qlut(FastContext& cx, Image& image, const Plan& p) {
    std::vector<uint8_t>&a = cx.scratch.ua, &table = cx.scratch.ub, &c = cx.scratch.uc;
    gather_r_into(image, p.ins.operand[0], p.shape[0].elements(), a);
    gather_r_into(image, p.ins.operand[1], 256, table); // 1 x 256 (the plan checked)
    c.resize(a.size());
    for (size_t i = 0; i < a.size(); ++i)
        c[i] = table[a[i]];
    store_r(image, p.ins.operand[2], p.out_shape, c.data());
    trim_scratch(cx);
}

void execute_qlayernorm(FastContext& cx, Image& image, const Plan& p) {
    const auto& q = std::get<QLayerNormParams>(p.params);
    const uint32_t R = p.shape[0].rows, N = p.shape[0].cols;
    std::vector<uint8_t>&a = cx.scratch.ua, &c = cx.scratch.uc;
    std::vector<int32_t>& gb = cx.scratch.qgb; // gains, then biases: whole int32 pixels
    std::vector<int32_t>& dev = cx.scratch.qdev;
    gather_r_into(image, p.ins.operand[0], uint64_t(R) * N, a);
    gb.resize(2 * size_t(N));
    for_runs(image.rgba.data(), image.width, p.ins.operand[1], 0, gb.size(),
             [&](uint64_t i, const uint8_t* px, uint32_t len) { std::memcpy(&gb[i], px, 4 * size_t(len)); });
    c.resize(a.size()), dev.resize(a.size());
    // About 8 ns an element on one thread with the reference's row (a 36 x 192 prefill row block:
    // 57 us, measured), the work of some 64 multiply-adds of a product: counted as 3, a prefill's
    // layer norms stayed on one thread once min_macs_per_thread was 24 K (the uint8 prefill 0.15 ms
    // slower). layernorm_row_fast takes about half that.
    parallel_ranges(&cx.pool, threads_for(cx, uint64_t(R) * N * 64), R, [&](uint32_t r0, uint32_t r1) {
        for (uint32_t r = r0; r < r1; ++r)
            qint::layernorm_row_fast(&a[size_t(r) * N], N, gb.data(), gb.data() + N, q, &c[size_t(r) * N],
                                     &dev[size_t(r) * N]);
    });
    store_r(image, p.ins.operand[2], p.out_shape, c.data());
    trim_scratch(cx);
}

// The int32 scores of one query head against key rows 0 .. n-1 (each D codes apart, from the
// head's first column): s[j] = sum over d of (q - zq)(k - zk) modulo 2^32. One clone for the whole
// row of scores: a clone called per key row cost an indirect call and a reload of q each time.
PX_CLONES void qscores(const int16_t* __restrict q, const int16_t* __restrict k, size_t D, uint32_t hd,
                       uint32_t n, int32_t* __restrict s) {
    for (uint32_t j = 0; j < n; ++j) {
        const int16_t* kj = k + size_t(j) * D;
        uint32_t acc = 0;
        for (uint32_t d = 0; d < hd; ++d)
            acc += uint32_t(int32_t(q[d]) * int32_t(kj[d]));
        s[j] = int32_t(acc);
    }
}

// o[d] = sum over the n visible rows of p_j * v[j][d], in int32: the reference sums in int64, but
// each p is at most 2^kP = 2^22 and they sum to at most 2^22 (floors of shares of 2^22), and
// |v| <= 255, so every partial sum is below 255 * 2^22 < 2^30 in magnitude: the same integers, in
// lanes twice as many as int64's (which AVX2 cannot multiply at all).
static_assert(qint::kP <= 22, "qweighted_sum's int32 sums need 255 * 2^kP < 2^31");
PX_CLONES void qweighted_sum(const int64_t* __restrict p, const int16_t* __restrict v, size_t D, uint32_t hd,
                             uint32_t n, int32_t* __restrict o) {
    for (uint32_t d = 0; d < hd; ++d)
        o[d] = 0;
    for (uint32_t j = 0; j < n; ++j) {
        const int16_t* vj = v + size_t(j) * D;
        const int32_t pj = int32_t(p[j]);
        for (uint32_t d = 0; d < hd; ++d)
            o[d] += pj * vj[d];
    }
}

void execute_qattention(FastContext& cx, Image& image, const Plan& p) {
    const auto& prm = std::get<QAttentionParams>(p.params);
    const uint32_t T = p.shape[0].rows, D = p.shape[0].cols, L = p.shape[1].rows, heads = prm.heads;
    const uint32_t hd = D / heads;
    // Codes minus their zero points, every read before any write (§4.2).
    std::vector<int16_t> q(size_t(T) * D);
    gather_centered(image, p.ins.operand[0], 0, q.size(), prm.zq, q.data());
    // K and V from their kept copies: only rows new since the last step are read (CacheCopy).
    const size_t ik = cache_copy(cx, image, p.ins.operand[1], uint64_t(L) * D, prm.zk);
    const size_t iv = cache_copy(cx, image, prm.v_row, uint64_t(L) * D, prm.zv);
    const int16_t *k = cx.caches[ik].c.data(), *v = cx.caches[iv].c.data();
    std::vector<uint8_t> out(size_t(T) * D);
    parallel_ranges(&cx.pool, threads_for(cx, uint64_t(T) * L * D * 2), T * heads,
                    [&](uint32_t u0, uint32_t u1) {
                        std::vector<int32_t> s(L);
                        std::vector<int64_t> prob(L);
                        std::vector<int32_t> o(hd);
                        for (uint32_t u = u0; u < u1; ++u) {
                            const uint32_t t = u / heads, col = (u % heads) * hd;
                            const uint32_t n = L - T + t + 1; // causal: rows 0 .. L-T+t
                            qscores(&q[size_t(t) * D + col], &k[col], D, hd, n, s.data());
                            qint::softmax_row_fast(s.data(), n, prm, prob.data());
                            qweighted_sum(prob.data(), &v[col], D, hd, n, o.data());
                            for (uint32_t d = 0; d < hd; ++d)
                                out[size_t(t) * D + col + d] =
                                    clamp_add(rounding_mul_shift(int32_t(o[d]), prm.mo, prm.shift_o), prm.zc,
                                              prm.clamp_lo, prm.clamp_hi);
                        }
                    });
    store_r(image, p.ins.operand[2], p.out_shape, out.data());
    trim_weights(cx);
}

// ---- Text generation (PROTOCOL.md §13): row copies and the next-token choice ----

// Words [i0, i0 + n) of the matrix at `row` as they are read for dtype `code` (u8: R; f32:
// canonical bits; i32: the word), run by run.
void read_words(const Image& image, uint32_t row, uint64_t i0, uint64_t n, uint8_t code, uint32_t* out) {
    for_runs(image.rgba.data(), image.width, row, i0, i0 + n,
             [&](uint64_t i, const uint8_t* px, uint32_t len) {
                 uint32_t* o = out + (i - i0);
                 std::memcpy(o, px, 4 * size_t(len));
                 if (code == 0)
                     for (uint32_t j = 0; j < len; ++j)
                         o[j] &= 0xFFu;
                 else if (code == 1)
                     for (uint32_t j = 0; j < len; ++j)
                         o[j] = fm::canon_bits(o[j]);
             });
}

// Writes words to elements [i0, i0 + n): u8 writes R only, f32 and i32 whole pixels.
void write_words(Image& image, uint32_t row, uint64_t i0, uint64_t n, uint8_t code, const uint32_t* in) {
    for_runs(image.rgba.data(), image.width, row, i0, i0 + n, [&](uint64_t i, uint8_t* px, uint32_t len) {
        const uint32_t* v = in + (i - i0);
        if (code == 0)
            for (uint32_t j = 0; j < len; ++j)
                px[4 * size_t(j)] = uint8_t(v[j]);
        else
            std::memcpy(px, v, 4 * size_t(len));
    });
}

// GATHER: one run-wise row copy per picked row (the indices were range-checked by the plan).
void execute_gather(FastContext&, Image& image, const Plan& p) {
    const auto& q = std::get<GatherParams>(p.params);
    const auto& op = p.ins.operand;
    const uint32_t D = p.shape[0].cols, n = p.out_shape.rows;
    std::vector<uint32_t> rows(n);
    if (GatherMode(q.mode) == GatherMode::Index) read_words(image, op[1], 0, n, 3, rows.data());
    for (uint32_t r = 0; r < n; ++r)
        if (GatherMode(q.mode) != GatherMode::Index)
            rows[r] = GatherMode(q.mode) == GatherMode::Last ? p.shape[1].rows - 1 : r;
    std::vector<uint32_t> v(uint64_t(n) * D);
    for (uint32_t r = 0; r < n; ++r)
        read_words(image, op[0], uint64_t(rows[r]) * D, D, q.dtype.a, &v[uint64_t(r) * D]);
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    write_words(image, op[2], 0, v.size(), q.dtype.c, v.data());
}

// APPEND: a's elements copied run by run after c's last row.
void execute_append(FastContext&, Image& image, const Plan& p) {
    const auto& q = std::get<AppendParams>(p.params);
    const auto& op = p.ins.operand;
    std::vector<uint32_t> v(p.shape[0].elements());
    read_words(image, op[0], 0, v.size(), q.dtype.a, v.data());
    const uint64_t offset = uint64_t(p.out_shape.rows - p.shape[0].rows) * p.out_shape.cols;
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    write_words(image, op[2], offset, v.size(), q.dtype.c, v.data());
}

// ARGMAX and SAMPLE: the last row read run by run; the choice is gen_ops.h's (one definition).
void execute_select(FastContext& cx, Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const MatrixHeader h = p.shape[0];
    std::vector<uint32_t>& x = cx.scratch.row_words;
    x.resize(h.cols);
    read_words(image, op[0], uint64_t(h.rows - 1) * h.cols, h.cols, 1, x.data());
    uint32_t token;
    if (Opcode(p.ins.opcode) == Opcode::SAMPLE) {
        const auto& q = std::get<SampleParams>(p.params);
        uint32_t state;
        read_words(image, op[1], 0, 1, 3, &state);
        state += kPrngStep;
        token = sample_bits(cx.scratch.sample, cx.scratch.sample_scratch, x.data(), h.cols,
                            fm::canon_bits(q.temperature), q.top_k, mix32(state));
        write_words(image, op[1], 0, 1, 3, &state); // b first, then c
    } else {
        token = argmax_bits(x.data(), h.cols);
    }
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    write_words(image, op[2], 0, 1, 3, &token);
    trim_scratch(cx);
}

// PENALIZE: a's last row and b's window read run by run; the arithmetic is gen_ops.h's.
void execute_penalize(FastContext& cx, Image& image, const Plan& p) {
    const auto& q = std::get<PenalizeParams>(p.params);
    const auto& op = p.ins.operand;
    const MatrixHeader h = p.shape[0];
    std::vector<uint32_t>&x = cx.scratch.row_words, &tokens = cx.scratch.window_words;
    x.resize(h.cols);
    read_words(image, op[0], uint64_t(h.rows - 1) * h.cols, h.cols, 1, x.data());
    const uint64_t elements = p.shape[1].elements(), first = q.window_first(elements);
    tokens.resize(elements - first);
    read_words(image, op[1], first, tokens.size(), 3, tokens.data());
    penalize_bits(x.data(), h.cols, tokens.data(), tokens.size(), fm::canon_bits(q.penalty));
    image.set_pixel(0, op[2], encode_header(p.out_shape));
    write_words(image, op[2], 0, x.size(), 1, x.data());
    trim_scratch(cx);
}

// The reference's own semantics, chosen explicitly: opcodes with nothing worth optimizing.
void execute_as_reference(FastContext&, Image& image, const Plan& p) {
    execute_reference(image, p);
}

using FastKernel = void (*)(FastContext& cx, Image& image, const Plan& plan);

// One kernel per opcode, no default: a new opcode makes the compiler warn (-Wswitch) and
// fast_has_kernel() false (tests/opcodes_test.cpp) until it is given a kernel or the reference.
FastKernel fast_kernel(Opcode op) {
    switch (op) {
    case Opcode::HALT:
    case Opcode::DOT:
    case Opcode::RELU:
    case Opcode::QRELU: return execute_as_reference;
    case Opcode::MATMUL:
    case Opcode::QMATMUL:
    case Opcode::QMATMUL32: return execute_matmul;
    case Opcode::FMATMUL: return execute_fmatmul;
    case Opcode::FADD:
    case Opcode::FMUL: return execute_fbinary;
    case Opcode::DEQUANT:
    case Opcode::QUANT: return execute_qconvert;
    case Opcode::FCONVERT: return execute_fconvert;
    case Opcode::LAYERNORM: return execute_layernorm;
    case Opcode::GELU: return execute_gelu;
    case Opcode::FSOFTMAX: return execute_fsoftmax;
    case Opcode::FATTENTION: return execute_fattention;
    case Opcode::ADD:
    case Opcode::QADD: return execute_add;
    case Opcode::LOOP: return execute_as_reference; // one pixel: nothing to optimize
    case Opcode::GATHER: return execute_gather;
    case Opcode::APPEND: return execute_append;
    case Opcode::ARGMAX:
    case Opcode::SAMPLE: return execute_select;
    case Opcode::PENALIZE: return execute_penalize;
    case Opcode::QLAYERNORM: return execute_qlayernorm;
    case Opcode::QLUT: return execute_qlut;
    case Opcode::QATTENTION: return execute_qattention;
    }
    return nullptr;
}

// The packed weights' trust (PackedWeight): all of it dropped, or that of the weights on rows a
// plan wrote (a write rectangle that meets any row from the header row to the last element row).
void distrust_all(FastContext& cx) {
    for (PackedWeight& w : cx.weights)
        w.trusted = false;
    for (PackedFloatWeight& w : cx.fweights)
        w.trusted = false;
    for (CacheCopy& c : cx.caches)
        c.valid = 0;
}

// The first element of the matrix whose header is at `row` that rectangle r covers (UINT64_MAX:
// none): element i is pixel (1 + i % (width - 1), row + i / (width - 1)), so it is the pixel of r
// past column 0 on its first row at or below `row`.
uint64_t first_element_covered(const Rect& r, uint32_t row, uint32_t width) {
    if (r.empty() || uint64_t(r.y) + r.h <= row || uint64_t(r.x) + r.w <= 1) return UINT64_MAX;
    const uint32_t y = std::max(r.y, row), x = std::max<uint32_t>(r.x, 1);
    return uint64_t(y - row) * (width - 1) + (x - 1);
}

void distrust_written(FastContext& cx, const std::vector<Rect>& writes, uint32_t width) {
    for (const Rect& r : writes) {
        if (r.empty()) continue;
        const uint64_t y0 = r.y, y1 = uint64_t(r.y) + r.h - 1;
        auto drop = [&](auto& w) {
            if (y0 <= w.last_row && w.row_b <= y1) w.trusted = false;
        };
        for (PackedWeight& w : cx.weights)
            drop(w);
        for (PackedFloatWeight& w : cx.fweights)
            drop(w);
        for (CacheCopy& c : cx.caches)
            c.valid = std::min(c.valid, first_element_covered(r, c.row, width));
    }
}

// A taken LOOP at `pc` ended an iteration: the tuner hears how long it took, if it was timed from
// its start, and chooses the threshold of the next. (A program that never loops stays under
// min_macs_per_thread.)
void time_iteration(FastContext& cx, uint32_t pc) {
    const uint64_t eager = cx.settings.min_macs_per_thread_eager;
    // Nothing to choose with one thread, or without a smaller threshold.
    const bool one_thread = threads_for_min(cx.settings.threads, 0, 0) < 2;
    if (eager == 0 || eager >= cx.settings.min_macs_per_thread || one_thread) return;
    const auto now = std::chrono::steady_clock::now();
    if (cx.iteration_timed) {
        const uint8_t ran = cx.tuner.running;
        const uint64_t switches = cx.tuner.switches;
        split_tuner_iteration_end(cx.tuner, pc,
                                  std::chrono::duration<double, std::nano>(now - cx.iteration_start).count());
        if (FastStats* st = cx.settings.stats) {
            ++(ran == SplitTuner::kEager ? st->split_iterations_eager : st->split_iterations_few);
            st->split_switches += cx.tuner.switches - switches;
        }
    }
    cx.iteration_timed = true;
    cx.iteration_start = now;
}

// One plan. Only a plan that continues the run of the last one carried out here (the next number
// of one run() call, on the same image: Plan::run_seq) may use trusted weights; after it, the
// weights on rows it wrote are trusted no more, whichever kernel wrote them.
void run_fast(FastContext& cx, Image& image, const Plan& plan) {
    const bool continues =
        cx.run_continues && plan.run_seq != 0 && plan.run_seq == cx.run_seq + 1 && &image == cx.run_image;
    if (!continues) {
        distrust_all(cx);
        split_tuner_interrupted(cx.tuner); // an iteration begun in another run is not timed
        cx.iteration_timed = false;
    }
    cx.keep_bytes = keep_bytes_for(image);
    cx.run_continues = false; // until this plan's writes are accounted for
    const FastKernel kernel = fast_kernel(Opcode(plan.ins.opcode));
    (kernel ? kernel : execute_as_reference)(cx, image, plan);
    distrust_written(cx, plan.writes, image.width);
    cx.run_continues = true, cx.run_seq = plan.run_seq, cx.run_image = &image;
    if (plan.jump) time_iteration(cx, plan.ins.pc);
}

} // namespace

unsigned fast_threads_for(const FastSettings& settings, uint64_t macs) {
    return threads_for_min(settings.threads, settings.min_macs_per_thread, macs);
}

bool fast_has_kernel(uint8_t opcode) {
    return opcode_info(opcode) && fast_kernel(Opcode(opcode)) != nullptr;
}

PlanExecutor fast_executor(const FastSettings& settings) {
    // std::function copies its callable: the context is shared by the copies, never by two
    // executors made by two calls.
    auto cx = std::make_shared<FastContext>();
    cx->settings = settings;
    return [cx](Image& image, const Plan& plan) { run_fast(*cx, image, plan); };
}

void execute_fast(Image& image, const Plan& plan) {
    FastContext cx;
    run_fast(cx, image, plan);
}

} // namespace px
