// test_util.h — small helpers shared by the tests: paths into the source tree, building images.
#pragma once
#include "image.h"
#include "layout.h"
#include "opcodes.h"
#include "vm.h"

#include <algorithm>
#include <cstdint>

#include <string>
#include <vector>

namespace pxtest {

inline std::string source_path(const std::string& rel) {
    return std::string(PXOS_SOURCE_DIR) + "/" + rel;
}

// Built with AddressSanitizer (the asan preset). Under it the tests skip what only repeats, over
// millions of pixels, code that smaller inputs already run there: assets over kLargeAssetBytes (the
// GPT models; the same policy as the large_asset ctest label, tests/CMakeLists.txt), and the second
// GL matmul kernel where a test runs both (the host code around the two is the same). The default
// build runs everything.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif
inline constexpr uintmax_t kLargeAssetBytes = uintmax_t(4) << 20;
inline bool skipped_under_sanitizer(uintmax_t file_bytes) {
    return kSanitized && file_bytes > kLargeAssetBytes;
}

// Writes an instruction pixel at x of row 0.
inline void put_ins(px::Image& img, uint32_t x, px::Opcode op, uint8_t a = 0, uint8_t b = 0, uint8_t c = 0) {
    img.set_pixel(x, 0, {uint8_t(op), a, b, c});
}

inline void put_matrix(px::Image& img, uint32_t row, uint32_t rows, uint32_t cols,
                       const std::vector<uint8_t>& v) {
    auto st = px::write_matrix(img, row, {cols, rows}, v);
    (void)st;
}

// The first pixel that differs between two images of one size and lies outside every rect (its
// coordinates in bx, by), or false: a step's changes against the rectangles it reported.
inline bool changed_outside(const px::Image& before, const px::Image& after,
                            const std::vector<px::Rect>& rects, uint32_t& bx, uint32_t& by) {
    for (uint32_t y = 0; y < before.height; ++y)
        for (uint32_t x = 0; x < before.width; ++x) {
            if (std::equal(before.at(x, y), before.at(x, y) + 4, after.at(x, y))) continue;
            bool inside = false;
            for (const px::Rect& r : rects)
                inside |= r.contains(x, y);
            if (!inside) {
                bx = x, by = y;
                return true;
            }
        }
    return false;
}

// A decoded instruction with these parameter pixels, as plan_instruction would see it (for
// the tests of OpDef decode/check/describe).
inline px::Instruction fins(px::Opcode op, std::vector<px::Rgba> params) {
    px::Instruction ins;
    ins.opcode = uint8_t(op);
    ins.info = px::opcode_info(ins.opcode);
    ins.param_count = uint32_t(params.size());
    std::copy(params.begin(), params.end(), ins.params.begin());
    return ins;
}

} // namespace pxtest
