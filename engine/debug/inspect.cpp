#include "inspect.h"

#include "fmath.h"
#include "quant.h"

#include <algorithm>
#include <cmath>
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
    // Types from the instructions a run can execute: up to the first HALT or undecodable one.
    std::vector<Instruction> program;
    for (const Decoded& d : out.instructions) {
        if (d.truncated || !d.ins.info) break;
        program.push_back(d.ins);
        if (Opcode(d.ins.opcode) == Opcode::HALT) break;
    }
    out.types = matrix_types(program);
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

DType element_type(const Row0Listing& row0, uint32_t row, const Region* region) {
    if (region && region->row == row && region->dtype) return *region->dtype;
    if (row == 0) return DType::U8;
    return row0.types.of(row).value_or(DType::U8);
}

double element_value(Rgba p, DType t, int half) {
    const uint32_t w = pixel_word(p);
    switch (t) {
    case DType::U8: return p[0];
    case DType::I32: return int32_t(w);
    case DType::F32: return double(fm::from_bits(w));
    case DType::F16: return double(fm::from_f16(uint16_t(half ? w >> 16 : w)));
    }
    return p[0];
}

bool is_special(double v) {
    return !std::isfinite(v);
}

std::string value_text(double v, DType t) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
    char buf[48];
    if (t == DType::F32 || t == DType::F16)
        std::snprintf(buf, sizeof buf, t == DType::F32 ? "%.9g" : "%.5g", v);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    return buf;
}

Result<TypedMatrix> read_typed_matrix(const Image& image, uint32_t row, DType type, const Region* region) {
    if (row < 1 || row >= image.height)
        return make_error(ErrorCode::Invalid, "row " + std::to_string(row) + " is outside the data rows 1.." +
                                                  std::to_string(image.height == 0 ? 0 : image.height - 1));
    TypedMatrix out;
    out.shape = decode_header(image.pixel(0, row));
    out.type = type;
    if (!typed_matrix_fits(row, out.shape, type, image.width, image.height))
        return make_error(ErrorCode::Invalid, std::string(dtype_name(type)) + " matrix at row " +
                                                  std::to_string(row) + " (" + shape_text(out.shape) +
                                                  ") runs past the last row " +
                                                  std::to_string(image.height - 1));
    const uint64_t n = out.shape.elements();
    out.stored.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
        const uint64_t j = element_pixel_index(type, i);
        const uint32_t x = element_x(j, image.width);
        const uint32_t y = uint32_t(element_y(j, row, image.width));
        out.stored[i] = element_value(image.pixel(x, y), type, int(i % 2));
    }
    if (region && region->scale && (type == DType::U8 || type == DType::I32)) {
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
        const DType type = element_type(row0, r->row, r);
        const uint64_t j = uint64_t(y - r->row) * (image.width - 1) + (x - 1); // element pixel
        const uint64_t i = type == DType::F16 ? 2 * j : j;                     // its first element
        if (x >= 1 && h.cols > 0 && i < h.elements()) {
            m.role = PixelRole::Element;
            m.element = i;
            m.m = uint32_t(i / h.cols);
            m.n = uint32_t(i % h.cols);
            const double v = element_value(p, type);
            m.type = type;
            m.value = v;
            const bool is_float = type == DType::F32 || type == DType::F16;
            if (type == DType::F16) {
                m.elements_here = i + 1 < h.elements() ? 2 : 1;
                m.value2 = m.elements_here == 2 ? element_value(p, type, 1) : std::nan("");
            }
            if (is_float) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.4g", v);
                m.label = is_special(v) ? value_text(v, type) : std::string(buf);
            } else {
                m.label = value_text(v, type);
            }
            auto element_line = [&](uint64_t e) {
                std::string s = "element [" + std::to_string(e / h.cols) + ", " + std::to_string(e % h.cols) +
                                "] of matrix " + r->name + " (" + shape_text(h) + ", " +
                                std::string(dtype_name(type)) + ") = ";
                if (!is_float)
                    return s + value_text(v, type) +
                           (type == DType::U8 ? " (uint8 code, R channel)" : " (int32, whole pixel)");
                const double ev = e == i ? v : m.value2;
                s += value_text(ev, type) + "  [" + format_element(image, r->row, type, e) + "]";
                if (std::isnan(ev)) s += "  NOT A NUMBER";
                if (std::isinf(ev)) s += "  INFINITE";
                return s;
            };
            if (full) {
                m.text = where + "\n" + element_line(i);
                if (m.elements_here == 2) m.text += "\n" + element_line(i + 1);
                if (type == DType::F16)
                    m.text += "\n  f16: two elements per pixel (R,G and B,A)";
                else if (type == DType::F32)
                    m.text += "\n  f32: IEEE 754 binary32, whole pixel, little-endian";
            }
            if (auto real = is_float ? std::nullopt : dequantize(*r, v)) {
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
