// test_util.h — small helpers shared by the tests: paths into the source tree, building images.
#pragma once
#include "image.h"
#include "layout.h"
#include "opcodes.h"
#include "vm.h"

#include <algorithm>

#include <string>
#include <vector>

namespace pxtest {

inline std::string source_path(const std::string& rel) {
    return std::string(PXOS_SOURCE_DIR) + "/" + rel;
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
