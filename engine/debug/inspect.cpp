#include "inspect.h"

#include "quant.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace px {
namespace {

std::string hex_rgba(Rgba p) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
    return buf;
}

std::string rgba_line(Rgba p) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "RGBA (%u, %u, %u, %u)  #%02X%02X%02X%02X", p[0], p[1], p[2], p[3], p[0],
                  p[1], p[2], p[3]);
    return buf;
}

std::string shape_text(MatrixHeader h) {
    return std::to_string(h.rows) + "x" + std::to_string(h.cols);
}

const Region* region_for_row(const std::vector<Region>& regions, uint32_t row) {
    for (const Region& r : regions)
        if (r.row == row) return &r;
    return nullptr;
}

std::string instruction_text(const Instruction& ins, const std::vector<Region>& regions, const Image& image) {
    if (!ins.info) return "unknown opcode " + std::to_string(ins.opcode) + " (traps BAD_OPCODE)";
    std::string s =
        std::string(ins.info->name) + (ins.wide ? ".wide" : "") + " — " + std::string(ins.info->meaning);
    static const char* kNames[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; ++i) {
        if (ins.info->operands[i] == OperandKind::None) continue;
        s += "\n  ";
        s += kNames[i];
        s += " = " + operand_text(ins, i, regions, image);
    }
    if (ins.param_count > 0) {
        s += "\n  " + std::to_string(ins.param_count) + " parameter pixel(s):";
        for (uint32_t k = 0; k < ins.param_count; ++k)
            s += " " + hex_rgba(ins.params[k]);
        if (const std::string q = describe_params(ins); !q.empty()) s += "\n  " + q;
    }
    return s;
}

} // namespace

int64_t Row0Listing::index_at_pc(uint32_t pc) const {
    if (pc >= owner.size()) return -1;
    const uint32_t i = owner[pc];
    return instructions[i].ins.pc == pc ? int64_t(i) : -1;
}

Row0Listing decode_row0(const Image& image) {
    Row0Listing out;
    if (image.width == 0 || image.height == 0) return out;
    out.owner.assign(image.width, 0);
    const PixelFetch fetch = image_fetch(image);
    for (uint32_t pc = 0; pc < image.width;) {
        Decoded d = decode(fetch, image.width, pc);
        const uint32_t len = std::max<uint32_t>(1, std::min(d.ins.length, image.width - pc));
        for (uint32_t k = 0; k < len; ++k)
            out.owner[pc + k] = uint32_t(out.instructions.size());
        out.instructions.push_back(std::move(d));
        pc += len;
    }
    return out;
}

std::string operand_text(const Instruction& ins, int i, const std::vector<Region>& regions,
                         const Image& image) {
    const uint32_t row = ins.operand[i];
    const OperandKind kind = ins.info ? ins.info->operands[i] : OperandKind::None;
    std::string kind_name(operand_kind_name(kind));
    if (row == 0 || row >= image.height)
        return "row " + std::to_string(row) + " (" + kind_name + ", not a data row)";
    if (kind == OperandKind::ScalarOut) return "pixel (0, " + std::to_string(row) + ") (" + kind_name + ")";
    const MatrixHeader now = decode_header(image.pixel(0, row));
    if (const Region* r = region_for_row(regions, row))
        return r->name + " (" + shape_text(now) + ", " + kind_name + ", row " + std::to_string(row) + ")";
    return "row " + std::to_string(row) + " (" + shape_text(now) + ", " + kind_name + ")";
}

std::optional<double> dequantize(const Region& region, double q) {
    if (!region.scale) return std::nullopt;
    return *region.scale * (q - double(region.zero_point.value_or(0)));
}

const char* element_type_name(ElementType t) {
    switch (t) {
    case ElementType::U8: return "uint8";
    case ElementType::I32: return "int32";
    }
    return "?";
}

ElementType element_type(const Row0Listing& row0, uint32_t row) {
    if (row == 0) return ElementType::U8;
    for (const Decoded& d : row0.instructions) {
        const Instruction& ins = d.ins;
        if (!ins.info) continue;
        const Opcode op = Opcode(ins.opcode);
        if (op == Opcode::QMATMUL32 && ins.operand[2] == row) return ElementType::I32;
        // The bias of QMATMUL and QMATMUL32 is int32 pixels: the one row their parameters name.
        if (op == Opcode::QMATMUL || op == Opcode::QMATMUL32) {
            const std::vector<uint32_t> bias = param_rows(ins);
            if (std::find(bias.begin(), bias.end(), row) != bias.end()) return ElementType::I32;
        }
    }
    return ElementType::U8;
}

double element_value(Rgba p, ElementType t) {
    switch (t) {
    case ElementType::U8: return p[0];
    case ElementType::I32: return rgba_to_i32(p);
    }
    return p[0];
}

Result<TypedMatrix> read_typed_matrix(const Image& image, uint32_t row, ElementType type,
                                      const Region* region) {
    auto codes = read_matrix(image, row); // validates header and extent
    if (!codes) return codes.error();
    TypedMatrix out;
    out.shape = decode_header(image.pixel(0, row));
    out.type = type;
    const uint64_t n = out.shape.elements();
    out.stored.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
        const uint32_t x = element_x(i, image.width);
        const uint32_t y = uint32_t(element_y(i, row, image.width));
        out.stored[i] = element_value(image.pixel(x, y), type);
    }
    if (region && region->scale) {
        out.real.resize(n);
        for (uint64_t i = 0; i < n; ++i)
            out.real[i] = *dequantize(*region, out.stored[i]);
    }
    return out;
}

namespace {

PixelMeaning describe(const Image& image, const std::vector<Region>& regions, const Row0Listing& row0,
                      uint32_t x, uint32_t y, bool full) {
    PixelMeaning m;
    if (!image.contains(x, y)) return m;
    const Rgba p = image.pixel(x, y);
    const std::string where =
        full ? "(" + std::to_string(x) + ", " + std::to_string(y) + ")  " + rgba_line(p) : "";
    m.label = hex_rgba(p);
    if (y == 0 && x < row0.owner.size()) {
        const uint32_t idx = row0.owner[x];
        const Decoded& d = row0.instructions[idx];
        m.instruction = idx;
        const uint32_t opcode_x = d.ins.pc + (d.ins.wide ? 1 : 0);
        const std::string head =
            "instruction #" + std::to_string(idx) + " at pc " + std::to_string(d.ins.pc) + ": ";
        if (d.ins.wide && x == d.ins.pc) {
            m.role = PixelRole::WidePrefix;
            m.label = "WIDE";
            if (full)
                m.text = where + "\nWIDE prefix (high bytes of the row operands) of " + head +
                         instruction_text(d.ins, regions, image);
        } else if (x == opcode_x) {
            m.role = PixelRole::Opcode;
            if (d.ins.info) m.label = std::string(d.ins.info->name);
            if (full)
                m.text = where + "\n" + head + instruction_text(d.ins, regions, image) +
                         (d.truncated ? "\n  truncated: runs past the end of row 0 (traps TRUNCATED)" : "");
        } else {
            m.role = PixelRole::Param;
            m.label = hex_rgba(p);
            if (full)
                m.text = where + "\nparameter pixel " + std::to_string(x - opcode_x - 1) + " of " + head +
                         instruction_text(d.ins, regions, image);
        }
        return m;
    }
    // A scalar-out operand's pixel first: it may also read as some region's header.
    if (x == 0 && y > 0) {
        for (size_t k = 0; k < row0.instructions.size(); ++k) {
            const Instruction& ins = row0.instructions[k].ins;
            if (!ins.info) continue;
            for (int i = 0; i < 3; ++i)
                if (ins.info->operands[i] == OperandKind::ScalarOut && ins.operand[i] == y) {
                    const uint32_t v =
                        uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
                    m.role = PixelRole::Scalar;
                    m.instruction = int64_t(k);
                    m.label = std::to_string(v);
                    if (full)
                        m.text = where + "\nscalar output of instruction #" + std::to_string(k) + " (" +
                                 std::string(ins.info->name) +
                                 "): uint32 little-endian RGBA = " + std::to_string(v);
                    return m;
                }
        }
    }
    if (const Region* r = region_at(regions, image, x, y)) {
        m.region = r;
        if (x == 0 && y == r->row) {
            const MatrixHeader h = decode_header(p);
            m.role = PixelRole::Header;
            m.label = shape_text(h);
            if (full)
                m.text = where + "\nheader of matrix " + r->name + ": " + shape_text(h) + " (rows " +
                         std::to_string(h.rows) + " = B + 256*A, cols " + std::to_string(h.cols) +
                         " = R + 256*G)";
            if (!(h == r->shape)) m.text += "\n  debug symbols declare " + shape_text(r->shape);
            return m;
        }
        const MatrixHeader h = r->shape;
        const uint64_t i = uint64_t(y - r->row) * (image.width - 1) + (x - 1);
        if (x >= 1 && h.cols > 0 && i < h.elements()) {
            m.role = PixelRole::Element;
            m.element = i;
            m.m = uint32_t(i / h.cols);
            m.n = uint32_t(i % h.cols);
            const ElementType type = element_type(row0, r->row);
            const double v = element_value(p, type);
            m.type = type;
            m.value = v;
            m.label = std::to_string(int64_t(v));
            if (full)
                m.text = where + "\nelement [" + std::to_string(m.m) + ", " + std::to_string(m.n) +
                         "] of matrix " + r->name + " (" + shape_text(h) +
                         ") = " + std::to_string(int64_t(v)) +
                         (type == ElementType::U8 ? " (uint8 code, R channel)" : " (int32, whole pixel)");
            if (auto real = dequantize(*r, v)) {
                m.real = real;
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.6g", *real);
                if (full) m.text += "\n  dequantized: " + std::string(buf) + " = scale * (q - zero_point)";
            }
            return m;
        }
    }
    if (full) m.text = where + "\nnot part of any matrix or instruction";
    return m;
}

} // namespace

PixelMeaning describe_pixel(const Image& image, const std::vector<Region>& regions, const Row0Listing& row0,
                            uint32_t x, uint32_t y) {
    return describe(image, regions, row0, x, y, true);
}

PixelMeaning describe_pixel_label(const Image& image, const std::vector<Region>& regions,
                                  const Row0Listing& row0, uint32_t x, uint32_t y) {
    return describe(image, regions, row0, x, y, false);
}

PixelMeaning describe_pixel(const Image& image, const std::vector<Region>& regions, uint32_t x, uint32_t y) {
    return describe_pixel(image, regions, decode_row0(image), x, y);
}

std::string hash_hex(uint64_t hash) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
    return buf;
}

PixelDiff diff_images(const Image& a, const Image& b) {
    PixelDiff d;
    if (a.width != b.width || a.height != b.height) {
        d.count = std::max(uint64_t(a.width) * a.height, uint64_t(b.width) * b.height);
        return d;
    }
    const size_t n = size_t(a.width) * a.height;
    for (size_t i = 0; i < n; ++i) {
        if (std::memcmp(&a.rgba[i * 4], &b.rgba[i * 4], 4) == 0) continue;
        if (d.count++ == 0) d.first_x = uint32_t(i % a.width), d.first_y = uint32_t(i / a.width);
    }
    return d;
}

PixelDiff diff_rect(const Image& a, Rect rect, const uint8_t* rgba) {
    PixelDiff d;
    for (uint32_t yy = 0; yy < rect.h; ++yy)
        for (uint32_t xx = 0; xx < rect.w; ++xx) {
            const uint8_t* pa = a.at(rect.x + xx, rect.y + yy);
            const uint8_t* pb = rgba + (size_t(yy) * rect.w + xx) * 4;
            if (std::memcmp(pa, pb, 4) == 0) continue;
            if (d.count++ == 0) d.first_x = rect.x + xx, d.first_y = rect.y + yy;
        }
    return d;
}

} // namespace px
