// TEMPORARY ADAPTER (see README.md): region inference only, until engine/debuginfo.cpp lands.
#include "debuginfo.h"

#include "vm.h"

#include <algorithm>

namespace px {

std::vector<Region> program_regions(const Image& image) {
    std::vector<Region> regions;
    if (image.width == 0 || image.height == 0) return regions;
    auto fetch = image_fetch(image);
    for (uint32_t pc = 0; pc < image.width;) {
        Decoded d = decode(fetch, image.width, pc);
        if (d.ins.info)
            for (int i = 0; i < 3; ++i) {
                const uint32_t row = d.ins.operand[i];
                const OperandKind k = d.ins.info->operands[i];
                if (k == OperandKind::None || k == OperandKind::ScalarOut || row == 0 || row >= image.height)
                    continue;
                if (std::any_of(regions.begin(), regions.end(),
                                [&](const Region& r) { return r.row == row; }))
                    continue;
                regions.push_back({"m" + std::to_string(row), row, decode_header(image.pixel(0, row))});
            }
        pc += std::max<uint32_t>(1, d.ins.length);
        if (d.ins.opcode == uint8_t(Opcode::HALT) && d.ins.info) break;
    }
    std::sort(regions.begin(), regions.end(), [](const Region& a, const Region& b) { return a.row < b.row; });
    return regions;
}

const Region* region_at(const std::vector<Region>& regions, const Image& image, uint32_t x, uint32_t y) {
    for (const Region& r : regions)
        for (const Rect& rect : matrix_rects(r.row, r.shape, image.width))
            if (rect.contains(x, y)) return &r;
    return nullptr;
}

} // namespace px
