// gpt_build.h — pieces both GPT program builders share (gpt.cpp: float32; gpt_u8.cpp: uint8):
// splitting and transposing the .npz matrices, and writing instructions into row 0. Internal to
// engine/models; nothing outside the two builders includes it.
#pragma once
#include "image.h"
#include "protocol.h"

#include <array>
#include <cstdint>
#include <vector>

namespace px::gpt_detail {

// The column block [from, from + n) of a row-major rows x cols matrix.
inline std::vector<float> columns(const std::vector<float>& m, uint32_t rows, uint32_t cols, uint32_t from,
                                  uint32_t n) {
    std::vector<float> out(size_t(rows) * n);
    for (uint32_t r = 0; r < rows; ++r)
        std::copy_n(m.begin() + size_t(r) * cols + from, n, out.begin() + size_t(r) * n);
    return out;
}

template <class T> std::vector<T> transpose(const std::vector<T>& m, uint32_t rows, uint32_t cols) {
    std::vector<T> out(m.size());
    for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t c = 0; c < cols; ++c)
            out[size_t(c) * rows + r] = m[size_t(r) * cols + c];
    return out;
}

// Writes instructions into row 0 from x = 0 (WIDE prefix when a row operand exceeds 255).
struct Emitter {
    Image& img;
    uint32_t x = 0;
    uint32_t count = 0;
    uint32_t emit(uint8_t op, std::array<uint32_t, 3> rows, const std::vector<Rgba>& params) {
        const uint32_t at = x;
        if (rows[0] > 255 || rows[1] > 255 || rows[2] > 255)
            img.set_pixel(x++, 0,
                          {kWidePrefix, uint8_t(rows[0] >> 8), uint8_t(rows[1] >> 8), uint8_t(rows[2] >> 8)});
        img.set_pixel(x++, 0, {op, uint8_t(rows[0]), uint8_t(rows[1]), uint8_t(rows[2])});
        for (const Rgba& p : params)
            img.set_pixel(x++, 0, p);
        ++count;
        return at;
    }
    uint32_t emit(Opcode op, std::array<uint32_t, 3> rows, const std::vector<Rgba>& params) {
        return emit(uint8_t(op), rows, params);
    }
};

} // namespace px::gpt_detail
