// random_program.h — seeded random pxOS programs for the property tests of the validator and
// the interpreter. Biased toward programs that run (shapes from a small set, so inner dimensions
// often match; operands mostly naming real matrices), with a share of everything that traps:
// unknown opcodes, WIDE prefixes in odd places, rows outside the image, empty and overflowing
// headers, DOT results read back as headers.
#pragma once
#include "image.h"
#include "layout.h"
#include "opcodes.h"

#include <random>
#include <vector>

namespace pxtest {

inline px::Image random_program(std::mt19937& rng) {
    auto pick = [&rng](uint32_t lo, uint32_t hi) {
        return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
    };
    auto chance = [&rng](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

    const uint32_t width = pick(2, 40);
    const uint32_t height = chance(0.15) ? pick(257, 300) : pick(2, 60);
    px::Image img = px::make_image(width, height);

    // Matrices at random rows, most of them fitting.
    struct M {
        uint32_t row;
        px::MatrixHeader h;
    };
    std::vector<M> mats;
    const uint32_t matrices = pick(1, 8);
    for (uint32_t m = 0; m < matrices; ++m) {
        const uint32_t row = pick(1, height - 1);
        px::MatrixHeader h{pick(1, 3), pick(1, 3)};
        if (chance(0.05)) h = {pick(0, 65535), pick(0, 65535)}; // garbage, usually overflowing
        if (chance(0.03)) h.cols = 0;
        img.set_pixel(0, row, px::encode_header(h));
        if (px::matrix_fits(row, h, width, height))
            for (uint64_t i = 0; i < h.elements(); ++i)
                img.at(px::element_x(i, width), uint32_t(px::element_y(i, row, width)))[0] =
                    uint8_t(chance(0.2) ? pick(0, 255) : pick(0, 9));
        mats.push_back({row, h});
    }
    // A few stray non-zero pixels anywhere below row 0.
    for (uint32_t k = pick(0, 3); k > 0; --k)
        img.at(pick(0, width - 1), pick(1, height - 1))[pick(0, 3)] = uint8_t(pick(1, 255));

    auto any_row = [&]() -> uint32_t {
        if (chance(0.95)) return mats[pick(0, uint32_t(mats.size() - 1))].row;
        if (chance(0.3)) return 0;
        return pick(1, height + 5);
    };
    // A matrix whose header (in the file) satisfies pred, or any row.
    auto matching = [&](auto pred) -> uint32_t {
        std::vector<uint32_t> ok;
        for (const M& m : mats)
            if (pred(m.h)) ok.push_back(m.row);
        return ok.empty() ? any_row() : ok[pick(0, uint32_t(ok.size() - 1))];
    };
    auto header_at = [&](uint32_t row) {
        return row < height ? px::decode_header(img.pixel(0, row)) : px::MatrixHeader{};
    };
    // A row where a matrix of this shape fits, tried a few times.
    auto output_row = [&](px::MatrixHeader h) -> uint32_t {
        for (int t = 0; t < 4; ++t) {
            const uint32_t r = pick(1, height - 1);
            if (px::matrix_fits(r, h, width, height)) return r;
        }
        return any_row();
    };
    static constexpr px::Opcode kOps[] = {px::Opcode::MATMUL, px::Opcode::ADD, px::Opcode::DOT,
                                          px::Opcode::RELU};
    uint32_t x = 0;
    const uint32_t count = pick(0, width);
    for (uint32_t n = 0; n < count && x < width; ++n) {
        if (chance(0.02)) { // an unknown opcode or a lone WIDE prefix
            img.set_pixel(x++, 0,
                          {uint8_t(chance(0.5) ? pick(5, 255) : px::kWidePrefix), uint8_t(pick(0, 2)), 0, 0});
            continue;
        }
        if (chance(0.04)) {
            img.set_pixel(x++, 0, {0, uint8_t(chance(0.1) ? 1 : 0), 0, 0}); // HALT mid-row
            continue;
        }
        const px::Opcode op = kOps[pick(0, 3)];
        uint32_t a = any_row(), b = any_row(), c = any_row();
        if (chance(0.9)) { // aim for a valid instruction, by the headers in the file
            const px::MatrixHeader ha = header_at(a);
            switch (op) {
            case px::Opcode::MATMUL:
                b = matching([&](px::MatrixHeader h) { return h.rows == ha.cols; });
                c = output_row({header_at(b).cols, ha.rows});
                break;
            case px::Opcode::ADD:
                b = matching(
                    [&](px::MatrixHeader h) { return h == ha || (h.rows == 1 && h.cols == ha.cols); });
                c = chance(0.2) ? a : output_row(ha);
                break;
            case px::Opcode::DOT:
                b = matching([&](px::MatrixHeader h) { return h.elements() == ha.elements(); });
                c = chance(0.8) ? pick(1, height - 1) : a;
                break;
            default: break;
            }
        }
        if (op == px::Opcode::RELU) b = c = chance(0.1) ? pick(0, 255) : 0;
        const bool wide = a > 255 || b > 255 || c > 255 || chance(0.05);
        if (wide) {
            if (x + 1 >= width && chance(0.7)) break;
            img.set_pixel(x++, 0, {px::kWidePrefix, uint8_t(a >> 8), uint8_t(b >> 8), uint8_t(c >> 8)});
            if (x >= width) break; // a WIDE prefix at the end of row 0
        }
        img.set_pixel(x++, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
    }
    // Pixels left in row 0 are zero, i.e. HALT; sometimes fill them so the program runs off the end.
    if (chance(0.15))
        for (; x < width; ++x)
            img.set_pixel(x, 0, {uint8_t(px::Opcode::RELU), uint8_t(mats[0].row), 0, 0});
    return img;
}

} // namespace pxtest
