// Shared parts of the text-generation opcodes (gen_ops.h). Compiled without fp contraction like
// the whole engine; every float operation is fmath's.
#include "gen_ops.h"

#include "dtype.h"
#include "float_ops.h"
#include "fmath.h"
#include "fmath_vec.h"
#include "kernel_clones.h"
#include "layout.h"

#include <algorithm>
#include <cstdio>
#include <functional>

namespace px {

// The largest key in one pass that vectorizes, then the first index holding it (the loop that kept
// the index of the largest so far took 3 us of 4096 logits, a greedy token's SAMPLE, measured).
PX_CLONES uint32_t argmax_bits(const uint32_t* x, uint32_t n) {
    uint32_t best_key = 0;
    for (uint32_t i = 0; i < n; ++i)
        best_key = std::max(best_key, logit_key(x[i]));
    uint32_t i = 0;
    while (logit_key(x[i]) != best_key)
        ++i;
    return i;
}

namespace {
// The keys of a row are looked at 16 at a time: a block whose largest key cannot enter the top-k
// set is passed over whole.
constexpr uint32_t kKeyBlock = 16;

// keys[i] = logit_key(x[i]), and the largest key of each block of kKeyBlock (the last may be
// short) into block_max; returns the row's largest key. One pass that vectorizes.
PX_CLONES uint32_t row_keys(const uint32_t* x, uint32_t n, uint32_t* keys, uint32_t* block_max) {
    uint32_t best = 0;
    for (uint32_t b = 0; b * kKeyBlock < n; ++b) {
        const uint32_t end = std::min(n, (b + 1) * kKeyBlock);
        uint32_t m = 0;
        for (uint32_t i = b * kKeyBlock; i < end; ++i) {
            keys[i] = logit_key(x[i]);
            m = std::max(m, keys[i]);
        }
        block_max[b] = m;
        best = std::max(best, m);
    }
    return best;
}

// f(i) for every i with keys[i] >= bound, in index order, reading only the blocks whose largest
// key reaches the bound.
template <class F>
void each_key_reaching(const uint32_t* keys, const uint32_t* block_max, uint32_t n, uint32_t bound, F&& f) {
    for (uint32_t b = 0; b * kKeyBlock < n; ++b)
        if (block_max[b] >= bound)
            for (uint32_t i = b * kKeyBlock; i < std::min(n, (b + 1) * kKeyBlock); ++i)
                if (keys[i] >= bound) f(i);
}

// The k-th largest of keys (counted with repeats), 1 <= k < n. Where there are at least k blocks,
// the k-th largest block maximum is a lower bound (k distinct keys reach it) that leaves few keys
// to select among: those of the blocks whose maximum reaches it (the min-heap over the whole row
// it replaces made SAMPLE at top-k 40 over 4096 logits 4.8 us instead of 3.3, measured;
// std::nth_element on a copy of the row took about 20 us of 4096 quantized logits, whose many
// equal keys it keeps moving). Otherwise nth_element.
uint32_t kth_largest(const uint32_t* keys, const uint32_t* block_max, uint32_t n, uint32_t k,
                     std::vector<uint32_t>& pool) {
    const uint32_t blocks = (n + kKeyBlock - 1) / kKeyBlock;
    if (k <= blocks) {
        pool.assign(block_max, block_max + blocks);
        std::nth_element(pool.begin(), pool.begin() + (k - 1), pool.end(), std::greater<uint32_t>());
        const uint32_t bound = pool[k - 1];
        pool.clear();
        each_key_reaching(keys, block_max, n, bound, [&](uint32_t i) { pool.push_back(keys[i]); });
    } else {
        pool.assign(keys, keys + n);
    }
    std::nth_element(pool.begin(), pool.begin() + (k - 1), pool.end(), std::greater<uint32_t>());
    return pool[k - 1];
}

// e[i] = exp(mul(sub(x_i, m), r)) where keys[i] != 0 (not NaN), else +0, over the whole row:
// mul(sub(x_i, m), r) as IEEE operations each canonicalized as fm::sub and fm::mul do, in a loop
// that vectorizes, then the softmax's exponential packs (exp(sub(d, +0)) = exp(d) for canonical d).
PX_CLONES void scaled_differences(const uint32_t* x, float m, float r, float* d, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t s = fm::canon_bits_select(fm::bits(fm::from_bits(x[i]) - m));
        d[i] = fm::from_bits(fm::canon_bits_select(fm::bits(fm::from_bits(s) * r)));
    }
}
PX_CLONES void zero_where_nan(const uint32_t* keys, float* e, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
        e[i] = keys[i] != 0 ? e[i] : 0.0f;
}
void exps_where(const uint32_t* x, const uint32_t* keys, float m, float r, float* e, uint32_t n) {
    scaled_differences(x, m, r, e, n);
    fm::exp_shifted_run(e, 0.0f, e, n);
    zero_where_nan(keys, e, n);
}

// fm::sum of SAMPLE's weights, block by block as F.5 adds them, visiting only the blocks of
// fm::kBlock that hold a member of the set: every other block holds only +0, its tree is +0, and
// add(acc, +0) = acc for every canonical acc, so the bits are fm::sum's. With top-k 40 of 4096
// logits at most 40 of the 256 blocks are summed. A set that fills most blocks is summed whole.
float weights_sum(const std::vector<float>& e, const std::vector<uint32_t>& members) {
    if (members.size() * fm::kBlock >= e.size()) return fm::sum_run(e.data(), e.size());
    float acc = 0.0f;
    size_t done = 0; // blocks before this one are summed or all +0
    for (uint32_t i : members) {
        const size_t j = i / fm::kBlock * fm::kBlock;
        if (j < done) continue;
        acc = fm::add(acc,
                      fm::sum_run(e.data() + j, std::min(fm::kBlock, e.size() - j))); // add(+0, tree) = tree
        done = j + fm::kBlock;
    }
    return acc;
}
} // namespace

void sample_weights_into(SampleWeights& w, SampleScratch& scratch, const uint32_t* x, uint32_t n,
                         uint32_t temperature, uint32_t top_k) {
    w.top = 0, w.greedy = true, w.total = 0;
    w.e.clear(), w.members.clear();
    std::vector<uint32_t>&keys = scratch.keys, &block_max = scratch.block_max;
    keys.resize(n), block_max.resize((n + kKeyBlock - 1) / kKeyBlock);
    const uint32_t best = row_keys(x, n, keys.data(), block_max.data());
    uint32_t first_block = 0; // argmax_bits: the first index of the largest key
    while (block_max[first_block] != best)
        ++first_block;
    w.top = first_block * kKeyBlock;
    while (keys[w.top] != best)
        ++w.top;
    const uint32_t m = x[w.top];
    // Temperature 0 is the argmax; so is a row whose largest is +-inf or NaN.
    if (temperature == 0 || (m & 0x7FFFFFFFu) >= 0x7F800000u) return;
    w.greedy = false;
    // The k items of largest key, ties to the lower index: every key above the k-th largest key
    // `cut`, then the lowest indices whose key equals it until there are k. (Which items, not
    // their order, is what step 4 needs: a stable sort of the whole row took 0.27 ms of a 0.40 ms
    // uint8 GPT token at top-k 40 over 4096 logits, measured; selecting the k-th key is linear.)
    // e_i one by one for a small set; for a large one (4096 scalar exponentials took 68 us,
    // measured) in vectors over the whole row.
    const uint32_t k = top_k == 0 || top_k > n ? n : top_k;
    const float r = fm::recip(fm::from_bits(temperature));
    w.e.assign(n, 0.0f);
    if (k == n) { // every item but the NaNs: each weight computed in vectors
        w.members.reserve(n);
        for (uint32_t i = 0; i < n; ++i)
            if (keys[i] != 0) w.members.push_back(i);
        exps_where(x, keys.data(), fm::from_bits(m), r, w.e.data(), n);
    } else {
        const uint32_t cut = kth_largest(keys.data(), block_max.data(), n, k, scratch.pool);
        std::vector<uint32_t>& candidates = scratch.candidates; // key >= cut, in index order
        candidates.clear();
        uint32_t above = 0;
        each_key_reaching(keys.data(), block_max.data(), n, cut, [&](uint32_t i) {
            candidates.push_back(i);
            above += keys[i] > cut;
        });
        uint32_t at_cut = k - above; // how many of key `cut` to take
        w.members.reserve(k);
        for (uint32_t i : candidates) {
            bool in_set = keys[i] > cut;
            if (keys[i] == cut && at_cut > 0) in_set = true, --at_cut;
            if (in_set && keys[i] != 0) w.members.push_back(i); // NaN: weight +0
        }
        if (w.members.size() * 8 >= n) { // a large set: the whole row in vectors, kept for the members
            std::vector<float>& all = scratch.all;
            all.resize(n);
            exps_where(x, keys.data(), fm::from_bits(m), r, all.data(), n);
            for (uint32_t i : w.members)
                w.e[i] = all[i];
        } else {
            for (uint32_t i : w.members)
                w.e[i] = fm::exp(fm::mul(fm::sub(fm::from_bits(x[i]), fm::from_bits(m)), r));
        }
    }
    w.total = weights_sum(w.e, w.members);
}

SampleWeights sample_weights(const uint32_t* x, uint32_t n, uint32_t temperature, uint32_t top_k) {
    SampleWeights w;
    SampleScratch scratch;
    sample_weights_into(w, scratch, x, n, temperature, top_k);
    return w;
}

uint32_t sample_bits(SampleWeights& w, SampleScratch& scratch, const uint32_t* x, uint32_t n,
                     uint32_t temperature, uint32_t top_k, uint32_t z) {
    sample_weights_into(w, scratch, x, n, temperature, top_k);
    if (w.greedy) return w.top;
    const float u = float(z >> 8) * 0x1p-24f; // exact
    const float t = fm::mul(u, w.total);
    // add(c, +0) = c: c_i changes only at members. Every e_i is +0 or a normal number in (0, 1]
    // (canonical, and x_i <= m, r > 0), so every running sum c + e_i is +0, e_i itself, or at
    // least the normal c and finite: canon changes none of them, and the plain add gives fm::add's
    // bits without a select on the scan's chain of dependent adds.
    float c = 0.0f;
    for (uint32_t i : w.members) {
        c = c + w.e[i];
        if (t < c) return i;
    }
    return w.top;
}

uint32_t sample_bits(const uint32_t* x, uint32_t n, uint32_t temperature, uint32_t top_k, uint32_t z) {
    SampleWeights w;
    SampleScratch scratch;
    return sample_bits(w, scratch, x, n, temperature, top_k, z);
}

void penalize_bits(uint32_t* x, uint32_t n, const uint32_t* tokens, uint64_t count, uint32_t penalty) {
    // Each result is a function of the original x[t], so a repeated token must not be penalized
    // again: the first occurrence marks it done.
    std::vector<uint8_t> done(n, 0);
    const float p = fm::from_bits(penalty);
    for (uint64_t i = 0; i < count; ++i) {
        const uint32_t t = tokens[i];
        if (done[t]) continue;
        done[t] = 1;
        x[t] = fm::bits(fm::sub(fm::from_bits(x[t]), p));
    }
}

namespace ops {

std::string check_nonnegative_finite(const Instruction& ins, uint32_t k, const char* what, uint32_t bits) {
    const uint32_t t = fm::canon_bits(bits);
    if (t == 0 || (!(t & 0x80000000u) && t < fm::kPosInf)) return {};
    char buf[120];
    std::snprintf(buf, sizeof buf, "%s 0x%08X (%g) is not 0 or a positive finite float32", what,
                  unsigned(bits), double(fm::from_bits(bits)));
    return param_pixel_name(ins, k) + ": " + buf;
}

WordCountParams decode_word_count(const Instruction& ins) {
    WordCountParams p;
    p.dtype = decode_dtypes(ins.params[0]);
    p.word = pixel_word(ins.params[1]);
    p.count = param_u16(ins, 2);
    p.reserved[0] = ins.params[2][2], p.reserved[1] = ins.params[2][3];
    return p;
}

std::vector<Rgba> encode_word_count(const FloatDtypes& dtype, uint32_t word, uint16_t count,
                                    const uint8_t (&reserved)[2]) {
    return {encode_dtypes(dtype),
            word_pixel(word),
            {uint8_t(count), uint8_t(count >> 8), reserved[0], reserved[1]}};
}

std::string check_word_count(const Instruction& ins, const FloatDtypes& dtype,
                             const std::vector<uint8_t> (&accepted)[3], const char* word_name,
                             uint32_t word) {
    if (auto e = check_gen_dtypes(ins, dtype, accepted); !e.empty()) return e;
    if (auto e = check_nonnegative_finite(ins, 1, word_name, word); !e.empty()) return e;
    return check_reserved(ins, 2, {2, 3});
}

std::string dtype_code_text(uint8_t code) {
    if (auto t = dtype_from_code(code)) return std::string(dtype_name(*t));
    return "dtype " + std::to_string(code);
}

std::string check_gen_dtypes(const Instruction& ins, const FloatDtypes& d,
                             const std::vector<uint8_t> (&accepted)[3]) {
    const uint8_t got[3] = {d.a, d.b, d.c};
    static constexpr const char* kName[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; ++i) {
        if (std::find(accepted[i].begin(), accepted[i].end(), got[i]) != accepted[i].end()) continue;
        std::string list;
        for (uint8_t c : accepted[i])
            list += (list.empty() ? "" : " or ") + dtype_code_text(c) + " (code " + std::to_string(c) + ")";
        return param_pixel_name(ins, 0) + ": operand " + kName[i] + " is declared " +
               dtype_code_text(got[i]) + " (code " + std::to_string(got[i]) + "); " +
               std::string(ins.info ? ins.info->name : "") + " accepts only " + list + " there";
    }
    return check_reserved(ins, 0, {3});
}

std::pair<uint32_t, uint32_t> element_pixel(uint32_t row, uint64_t i, uint32_t width) {
    return {element_x(i, width), uint32_t(element_y(i, row, width))};
}

uint32_t element_word(const Image& image, uint32_t row, uint64_t i) {
    const auto [x, y] = element_pixel(row, i, image.width);
    return pixel_word(image.pixel(x, y));
}

void set_element_word(Image& image, uint32_t row, uint64_t i, uint32_t w) {
    const auto [x, y] = element_pixel(row, i, image.width);
    image.set_pixel(x, y, word_pixel(w));
}

uint32_t read_typed(const Image& image, uint32_t row, uint64_t i, uint8_t code) {
    const uint32_t w = element_word(image, row, i);
    if (code == 0) return w & 0xFFu;
    if (code == 1) return fm::canon_bits(w);
    return w;
}

void write_typed(Image& image, uint32_t row, uint64_t i, uint8_t code, uint32_t v) {
    const auto [x, y] = element_pixel(row, i, image.width);
    if (code == 0)
        image.at(x, y)[0] = uint8_t(v);
    else
        image.set_pixel(x, y, word_pixel(v));
}

} // namespace ops
} // namespace px
