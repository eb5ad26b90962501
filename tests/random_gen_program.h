// random_gen_program.h — seeded random programs of the text-generation opcodes (PROTOCOL.md §13)
// with loops, for the parity tests: CPU reference vs fast executor (gen_ops_test.cpp) and vs the
// GL executor with both matmul kernels (gl_gen_random_test.cpp). Each is a generation loop:
//
//   top:  GATHER emb, tok|seq -> x      (mode index on the last token, or prefix/last on seq)
//         GATHER table, tok -> logits   (the "forward pass": a row of transition logits)
//         PENALIZE logits, seq -> logits|pen   (sometimes; random penalty and window)
//         ARGMAX logits|pen -> tok  |  SAMPLE logits|pen, state -> tok   (random T, top-k)
//         APPEND tok -> seq              (capacity sometimes too small: OUT_OF_RANGE mid-loop)
//         APPEND x -> cache              (f32 or u8 rows, like a key/value cache)
//         LOOP counter, top              (counter 0..7, sometimes never ending: STEP_LIMIT)
//         HALT
//
// with hostile logits (ties, NaN, +-inf, -0, subnormals), random placement and widths (so
// continuation rows and WIDE-free small images both occur) and a share of parameter errors.
#pragma once
#include "image.h"
#include "layout.h"
#include "opcodes.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace pxtest {

struct GenProgram {
    px::Image image;
    std::string what;
    uint64_t step_limit = 65536;
};

inline GenProgram random_gen_program(std::mt19937& g) {
    using namespace px;
    auto below = [&g](uint32_t n) { return n ? uint32_t(g() % n) : 0u; };
    auto range = [&](uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); };
    auto chance = [&](uint32_t percent) { return below(100) < percent; };
    auto f32 = [](float f) {
        uint32_t b;
        std::memcpy(&b, &f, 4);
        return b;
    };
    auto logit = [&]() -> uint32_t {
        static constexpr uint32_t kHostile[] = {0x7FC12345, 0x7F800000, 0xFF800000, 0x80000000,
                                                0x00000001, 0x00800000, 0x3F800000, 0x3F800000};
        if (chance(8)) return kHostile[below(8)];
        if (chance(30)) return f32(float(int(range(0, 4)) - 2)); // ties
        return f32(std::normal_distribution<float>(0, 2)(g));
    };

    const uint32_t V = range(1, 20), D = range(1, 5), steps_wanted = range(0, 7);
    const uint32_t width = range(24, 48);
    const uint32_t stride = width - 1;
    auto rows_for = [&](uint64_t n) { return uint32_t(std::max<uint64_t>(1, (n + stride - 1) / stride)); };
    const bool sample = chance(60);
    const uint8_t mode = uint8_t(below(3)); // the embedding GATHER: index (on tok), prefix, last (on seq)
    const bool seq_start = mode != 0 || chance(50); // modes 1, 2 read seq's header: not empty
    const uint32_t cap = chance(10) ? range(1, steps_wanted + 1) : steps_wanted + 1 + seq_start + range(0, 3);
    const bool cache_f32 = chance(60);
    const bool penalize = seq_start && chance(50); // b must not be empty (BAD_HEADER otherwise)
    const bool penalize_in_place = chance(50);

    // Data rows: table V x V f32, emb V x D (u8 or f32), tok 1x1, seq cap x 1 (i32, starts empty
    // or with one token), logits 1 x V, x (rows of emb), cache cap' x D, counter, state.
    uint32_t next = 1;
    auto place = [&](uint64_t elements) {
        const uint32_t r = next;
        next += rows_for(elements) + (chance(20) ? 1 : 0);
        return r;
    };
    const uint32_t r_table = place(uint64_t(V) * V), r_emb = place(uint64_t(V) * D), r_tok = place(1),
                   r_seq = place(cap), r_logits = place(V), r_x = place(uint64_t(cap + 1) * D),
                   r_cache = place(uint64_t(cap + 1) * D * 2), r_counter = place(1), r_state = place(1),
                   r_pen = penalize && !penalize_in_place ? place(V) : r_logits;
    const uint32_t height = next + (chance(10) ? 0 : 1);
    if (height > 255) return random_gen_program(g);
    Image img = make_image(width, height);
    auto put_word = [&](uint32_t row, uint64_t i, uint32_t w) {
        img.set_pixel(element_x(i, width), uint32_t(element_y(i, row, width)),
                      {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)});
    };
    auto header = [&](uint32_t row, uint32_t cols, uint32_t rows) {
        img.set_pixel(0, row, encode_header({cols, rows}));
    };

    header(r_table, V, V);
    for (uint64_t i = 0; i < uint64_t(V) * V; ++i)
        put_word(r_table, i, logit());
    const uint8_t emb_type = cache_f32 ? 1 : 0;
    header(r_emb, D, V);
    for (uint64_t i = 0; i < uint64_t(V) * D; ++i)
        put_word(r_emb, i, emb_type ? f32(std::normal_distribution<float>(0, 1)(g)) : uint32_t(g()));
    const uint32_t tok0 = chance(5) ? V + below(3) : below(V); // sometimes out of range
    header(r_tok, 1, 1);
    put_word(r_tok, 0, tok0);
    header(r_seq, 1, seq_start ? 1 : 0);
    if (seq_start) put_word(r_seq, 0, tok0);
    header(r_cache, D, 0);
    header(r_counter, 1, 1);
    put_word(r_counter, 0, chance(5) ? uint32_t(-int32_t(range(1, 3))) : steps_wanted);
    header(r_state, 1, 1);
    put_word(r_state, 0, uint32_t(g()));

    // Row 0.
    std::vector<Rgba> code;
    auto ins = [&](Opcode op, uint32_t a, uint32_t b, uint32_t c, std::vector<Rgba> params) {
        code.push_back({uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        code.insert(code.end(), params.begin(), params.end());
    };
    std::string what = "V=" + std::to_string(V) + " D=" + std::to_string(D) +
                       " loops=" + std::to_string(steps_wanted) + " cap=" + std::to_string(cap) +
                       (sample ? " SAMPLE" : " ARGMAX") + " mode=" + std::to_string(mode);
    const uint32_t top = 0; // the loop starts at the first instruction
    ins(Opcode::GATHER, r_emb, mode == 0 ? r_tok : r_seq, r_x,
        {{emb_type, uint8_t(mode == 0 ? 3 : 3), emb_type, 0}, {mode, 0, 0, 0}});
    ins(Opcode::GATHER, r_table, r_tok, r_logits, {{1, 3, 1, 0}, {0, 0, 0, 0}});
    if (penalize) {
        const float penalties[] = {0.0f, 0.5f, 1.5f, 1e30f, 1e-40f, 3.0f};
        uint32_t pen = f32(penalties[below(6)]);
        if (chance(4)) pen = f32(-1.0f); // BAD_PARAM
        const uint32_t window = chance(30) ? 0 : chance(20) ? range(cap, 300) : range(1, cap + 1);
        ins(Opcode::PENALIZE, r_logits, r_seq, r_pen,
            {{1, 3, 1, 0},
             {uint8_t(pen), uint8_t(pen >> 8), uint8_t(pen >> 16), uint8_t(pen >> 24)},
             {uint8_t(window), uint8_t(window >> 8), 0, 0}});
        what += " PENALIZE p=" + std::to_string(pen) + " window=" + std::to_string(window) +
                (penalize_in_place ? " in place" : "");
    }
    if (sample) {
        const float temps[] = {0.0f, 0.5f, 1.0f, 2.0f, 1e-30f, 1e30f};
        uint32_t t = f32(temps[below(6)]);
        if (chance(4)) t = f32(-1.0f); // BAD_PARAM
        const uint32_t k = chance(30) ? 0 : chance(20) ? V + range(0, 300) : range(1, V);
        ins(Opcode::SAMPLE, r_pen, r_state, r_tok,
            {{1, 3, 3, 0},
             {uint8_t(t), uint8_t(t >> 8), uint8_t(t >> 16), uint8_t(t >> 24)},
             {uint8_t(k), uint8_t(k >> 8), 0, 0}});
        what += " T=" + std::to_string(t) + " k=" + std::to_string(k);
    } else {
        ins(Opcode::ARGMAX, r_pen, 0, r_tok, {{1, 0, 3, 0}});
    }
    ins(Opcode::APPEND, r_tok, 0, r_seq, {{3, 0, 3, 0}, {uint8_t(cap), 0, 0, 0}});
    // x has 1 row (index on tok, or last), or rows(seq) rows (prefix): append its last row only
    // when it is 1 x D; else the whole x (the cache's capacity covers it or traps).
    const uint32_t cache_cap = uint32_t(std::min<uint64_t>(65535, (cap + 1) * 2 * (mode == 1 ? cap : 1)));
    const bool cache_fits = matrix_fits(r_cache, {D, cache_cap}, width, height);
    ins(Opcode::APPEND, r_x, 0, r_cache,
        {{emb_type, 0, emb_type, 0},
         {uint8_t(cache_fits ? cache_cap : 2 * (cap + 1)),
          uint8_t((cache_fits ? cache_cap : 2 * (cap + 1)) >> 8), 0, 0}});
    ins(Opcode::LOOP, r_counter, 0, 0, {{3, 0, 0, 0}, {uint8_t(top), uint8_t(top >> 8), 0, 0}});
    code.push_back({0, 0, 0, 0}); // HALT
    if (code.size() > width) return random_gen_program(g);
    for (size_t x = 0; x < code.size(); ++x)
        img.set_pixel(uint32_t(x), 0, code[x]);
    GenProgram p{std::move(img), what};
    if (chance(10)) { // a loop that outlives its step limit
        p.step_limit = range(3, 40);
        p.what += " step_limit=" + std::to_string(p.step_limit);
    }
    return p;
}

} // namespace pxtest
