// validate.cpp — the static checker, built on the interpreter's own checks.
//
// The walk calls plan_instruction() (engine/vm.h) for each instruction of row 0 in execution
// order, through a "shadow" fetch: the image's pixels, except that a header pixel (0, r) an
// earlier instruction writes reads as what it will hold then. Only headers matter to the checks,
// and instructions write headers in two ways: a MatrixOut writes the plan's out_shape (known
// statically), a DOT writes its 32-bit sum (data, unknown statically). Row 0 is never written
// (operands name rows 1..), and element writes never touch column 0. So the shadow is exact,
// except for DOT results, and reading one of those as a header is an error: whether that
// instruction traps depends on the data. That is what makes the guarantee hold: a program this
// accepts runs exactly the plans the walk saw, none of which traps.
#include "validate.h"

#include "quant.h"
#include "tokenizer_image.h"
#include "typing.h"

#include "vm.h"

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>

namespace px {
namespace {

std::string pixel_text(uint32_t x, uint32_t y) {
    return "(" + std::to_string(x) + "," + std::to_string(y) + ")";
}

std::string trap_code_text(TrapCode code) {
    std::string s(trap_name(code));
    for (char& c : s)
        c = c == '_' ? '-' : char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool rects_intersect(const Rect& a, const Rect& b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

bool any_intersect(const std::vector<Rect>& a, const std::vector<Rect>& b) {
    for (const Rect& ra : a)
        for (const Rect& rb : b)
            if (!ra.empty() && !rb.empty() && rects_intersect(ra, rb)) return true;
    return false;
}

// A matrix some executed instruction reads or writes, for the overlap and coverage warnings.
struct Region {
    uint32_t row = 0;
    MatrixHeader shape;
    DType dtype = DType::U8; // f16 matrices occupy ceil(n/2) pixels
    uint32_t pc = 0;         // opcode pixel x of the first instruction that named it
};

constexpr size_t kMaxOverlapWarnings = 50;

} // namespace

bool ValidationReport::ok() const {
    return std::none_of(diagnostics.begin(), diagnostics.end(),
                        [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

std::string_view severity_name(Severity s) {
    switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Info: return "info";
    }
    return "?";
}

ValidationReport validate(const Image& image) {
    ValidationReport report;
    auto add = [&report](Severity sev, std::string code, std::string message, uint32_t x, uint32_t y) {
        report.diagnostics.push_back({sev, std::move(code), std::move(message), x, y});
    };
    const uint32_t width = image.width, height = image.height;
    if (width == 0 || height == 0 || image.rgba.size() != size_t(width) * height * 4) {
        add(Severity::Error, "empty-image",
            "the image is " + std::to_string(width) + "x" + std::to_string(height) +
                (width && height ? " but its pixel buffer has the wrong size"
                                 : "; a program needs at least 1x1"),
            0, 0);
        return report;
    }

    // Shadow headers: what (0, r) holds when the instruction being checked runs.
    std::unordered_map<uint32_t, Rgba> written_header;
    std::unordered_map<uint32_t, uint32_t> dot_result; // row -> x of the DOT that wrote it
    std::optional<uint32_t> unknown_read;              // a DOT result the current check read
    // Element pixels: a LOOP counter's value is known (the walk runs the loop, PROTOCOL.md §13.1);
    // any other element an earlier instruction wrote is data the walk does not compute. Such a
    // pixel reads as 0 (a GATHER index 0 is always in range, a LOOP counter 0 is not taken) and
    // marks the check as data-dependent.
    std::unordered_map<uint64_t, Rgba> known_pixel;
    std::vector<Rect> data_written;
    bool data_read = false;
    auto pixel_key = [](uint32_t x, uint32_t y) { return uint64_t(y) << 32 | x; };
    const PixelFetch shadow = [&](uint32_t x, uint32_t y) -> Rgba {
        if (x == 0 && y > 0) {
            if (auto it = dot_result.find(y); it != dot_result.end()) {
                if (!unknown_read) unknown_read = y;
                return image.pixel(x, y);
            }
            if (auto it = written_header.find(y); it != written_header.end()) return it->second;
        }
        if (y > 0 && x > 0) { // headers (x = 0) are tracked exactly above
            if (auto it = known_pixel.find(pixel_key(x, y)); it != known_pixel.end()) return it->second;
            for (const Rect& r : data_written)
                if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h) {
                    data_read = true;
                    return Rgba{0, 0, 0, 0};
                }
        }
        return image.pixel(x, y);
    };

    std::vector<Region> regions;
    std::vector<bool> row_referenced(height, false);
    auto reference = [&](uint32_t row, MatrixHeader shape, uint32_t pc, bool matrix, DType t = DType::U8) {
        if (row == 0 || row >= height) return;
        if (!matrix) {
            row_referenced[row] = true;
            return;
        }
        const uint64_t rows = rows_for_elements(dtype_pixels(t, shape.elements()), width);
        for (uint64_t r = row; r < std::min<uint64_t>(height, row + rows); ++r)
            row_referenced[size_t(r)] = true;
        regions.push_back({row, shape, t, pc});
    };

    // For an instruction that traps: every row it names (operands and parameter rows) counts as
    // referenced, the whole matrix where its current header fits, else only the header row.
    auto mark_named_rows = [&](const Instruction& ins, const PixelFetch& fetch) {
        std::vector<uint32_t> rows;
        for (int i = 0; i < 3; ++i)
            if (is_row_operand(ins.info->operands[i])) rows.push_back(ins.operand[i]);
        for (const uint32_t row : param_rows(ins))
            rows.push_back(row);
        for (const uint32_t row : rows) {
            if (row == 0 || row >= height) continue;
            const MatrixHeader h = decode_header(fetch(0, row));
            if (width >= 2 && matrix_fits(row, h, width, height)) {
                const uint64_t n = rows_for_elements(h.elements(), width);
                for (uint64_t r = row; r < row + n; ++r)
                    row_referenced[size_t(r)] = true;
            } else {
                row_referenced[row] = true;
            }
        }
    };

    static constexpr char kOperandName[3] = {'a', 'b', 'c'};
    std::vector<Instruction> walked; // for the type analysis (typing.h)
    uint32_t pc = 0;
    bool halted = false;
    uint32_t halt_x = 0;
    uint64_t steps_walked = 0;
    std::set<uint32_t> unknown_bound_reported, data_dependent_reported;
    while (pc < width) {
        if (steps_walked++ >= kDefaultStepLimit) { // loops are walked as they run: bounded like a run
            add(Severity::Warning, "step-limit",
                "the program is still running after " + std::to_string(kDefaultStepLimit) +
                    " instructions (the default step limit; it traps STEP_LIMIT there) at pixel " +
                    pixel_text(pc, 0),
                pc, 0);
            halted = true; // not "no-halt": row 0 was not run off
            halt_x = pc;
            pc = width;
            break;
        }
        unknown_read.reset();
        data_read = false;
        auto planned = plan_instruction(shadow, width, height, pc);
        const Decoded d = decode(shadow, width, pc);
        const Instruction& ins = d.ins;
        const uint32_t op_x = pc + (ins.wide ? 1 : 0);
        const std::string name = ins.info ? std::string(ins.info->name) : "instruction";
        if (unknown_read) {
            const uint32_t row = *unknown_read;
            add(Severity::Error, "dot-result-as-header",
                name + " at pixel " + pixel_text(op_x, 0) + " reads DOT result at row " +
                    std::to_string(row) + " as a matrix header (written by the DOT at pixel " +
                    pixel_text(dot_result[row], 0) + "); its shape depends on the data",
                0, row);
        } else if (const Trap* trap = std::get_if<Trap>(&planned)) {
            add(Severity::Error, trap_code_text(trap->code), trap->message, trap->x, trap->y);
            report.diagnostics.back().always_traps = true;
            // The rows it names are still the program's: not "unreferenced" data.
            if (ins.info && !d.truncated) mark_named_rows(ins, shadow);
        }
        if (d.truncated || (!ins.info && op_x >= width)) break; // nothing decodable follows
        if (ins.info) walked.push_back(ins);

        if (ins.info) {
            // "none" operands: the byte, and the WIDE high byte, should be 0.
            const Rgba op_pixel = image.pixel(op_x, 0);
            const Rgba prefix = ins.wide ? image.pixel(pc, 0) : Rgba{0, 0, 0, 0};
            for (int i = 0; i < 3; ++i) {
                if (ins.info->operands[i] != OperandKind::None) continue;
                if (op_pixel[1 + i] != 0 || prefix[1 + i] != 0)
                    add(Severity::Warning, "nonzero-none-operand",
                        name + " at pixel " + pixel_text(op_x, 0) + ": operand " + kOperandName[i] +
                            " is unused but holds " + std::to_string(ins.operand[i]) + " (should be 0)",
                        op_x, 0);
            }
        }

        if (const Plan* plan = std::get_if<Plan>(&planned)) {
            // Inputs and outputs, for the overlap and coverage warnings.
            // Element-wise opcodes (ADD, QADD) computing c in place of a or b (same row, same
            // shape) read each element only to write that same element: in place by definition,
            // like an in/out operand (QRELU a). Neither is an overlap worth a warning.
            const bool elementwise = Opcode(ins.opcode) == Opcode::ADD || Opcode(ins.opcode) == Opcode::QADD;
            uint32_t out_row = 0;
            for (int i = 0; i < 3; ++i)
                if (ins.info->operands[i] == OperandKind::MatrixOut) out_row = ins.operand[i];
            std::vector<Rect> inputs;
            for (int i = 0; i < 3; ++i) {
                const OperandKind kind = ins.info->operands[i];
                const uint32_t row = ins.operand[i];
                if (kind == OperandKind::MatrixIn || kind == OperandKind::MatrixInOut) {
                    reference(row, plan->shape[i], op_x, true, plan->dtype[i]);
                    const bool in_place =
                        kind == OperandKind::MatrixInOut ||
                        (elementwise && row == out_row && plan->shape[i] == plan->out_shape);
                    if (in_place) continue;
                    auto rects = typed_matrix_rects(row, plan->shape[i], plan->dtype[i], width);
                    inputs.insert(inputs.end(), rects.begin(), rects.end());
                } else if (kind == OperandKind::MatrixOut) {
                    reference(row, plan->out_shape, op_x, true, plan->dtype[i]);
                } else if (kind == OperandKind::ScalarOut) {
                    reference(row, {}, op_x, false);
                }
            }
            // Rows named by parameter pixels (QMATMUL's int32 bias) are read like inputs.
            for (const uint32_t row : param_rows(ins)) {
                const MatrixHeader bias = decode_header(shadow(0, row));
                reference(row, bias, op_x, true);
                auto rects = matrix_rects(row, bias, width);
                inputs.insert(inputs.end(), rects.begin(), rects.end());
            }
            if (!unknown_read && any_intersect(plan->writes, inputs))
                add(Severity::Warning, "output-overlaps-input",
                    name + " at pixel " + pixel_text(op_x, 0) +
                        " writes pixels it also reads; defined (reads see the image before the instruction, "
                        "PROTOCOL.md §4.2) but easy to get wrong",
                    op_x, 0);
            // The headers the following instructions will see.
            for (int i = 0; i < 3; ++i) {
                const uint32_t row = ins.operand[i];
                if (ins.info->operands[i] == OperandKind::MatrixOut) {
                    written_header[row] = encode_header(plan->out_shape);
                    dot_result.erase(row);
                } else if (ins.info->operands[i] == OperandKind::ScalarOut) {
                    dot_result[row] = op_x;
                    written_header.erase(row);
                }
            }
            // Element pixels written: LOOP's counter is computed, everything else is data.
            const bool loop = Opcode(ins.opcode) == Opcode::LOOP;
            if (!loop && data_read && data_dependent_reported.insert(op_x).second)
                add(Severity::Info, "data-dependent",
                    name + " at pixel " + pixel_text(op_x, 0) +
                        " reads indices an earlier instruction computes; they are checked when it runs "
                        "(OUT_OF_RANGE), not here",
                    op_x, 0);
            if (loop && data_read && unknown_bound_reported.insert(op_x).second)
                add(Severity::Error, "loop-bound-unknown",
                    name + " at pixel " + pixel_text(op_x, 0) + ": its counter at row " +
                        std::to_string(ins.operand[0]) +
                        " is written by an earlier instruction, so the loop's bound is not in pixels the "
                        "validator can read; give the counter its value in the image",
                    1, ins.operand[0]);
            uint32_t counter_after = 0;
            if (loop && plan->jump) {
                const Rgba was = data_read ? Rgba{0, 0, 0, 0} : shadow(1, ins.operand[0]);
                counter_after = uint32_t(was[0] | was[1] << 8 | was[2] << 16 | uint32_t(was[3]) << 24) - 1;
            }
            for (const Rect& r : plan->writes) {
                if (r.empty()) continue;
                for (auto it = known_pixel.begin(); it != known_pixel.end();) {
                    const uint32_t kx = uint32_t(it->first), ky = uint32_t(it->first >> 32);
                    it = kx >= r.x && kx < r.x + r.w && ky >= r.y && ky < r.y + r.h ? known_pixel.erase(it)
                                                                                    : std::next(it);
                }
                if (loop) continue;
                if (std::find_if(data_written.begin(), data_written.end(), [&](const Rect& d) {
                        return d.x == r.x && d.y == r.y && d.w == r.w && d.h == r.h;
                    }) == data_written.end())
                    data_written.push_back(r);
            }
            if (loop && plan->jump) {
                const uint32_t n = counter_after;
                known_pixel[pixel_key(1, ins.operand[0])] = {uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16),
                                                             uint8_t(n >> 24)};
            }
            if (Opcode(ins.opcode) == Opcode::HALT) {
                halted = true;
                halt_x = op_x;
                pc += ins.length;
                break;
            }
            if (plan->jump) {
                pc = *plan->jump;
                continue;
            }
        }
        pc += ins.length;
    }

    if (halted) {
        for (uint32_t x = pc; x < width; ++x) {
            const Rgba p = image.pixel(x, 0);
            if (p != Rgba{0, 0, 0, 0}) {
                add(Severity::Info, "after-halt",
                    "pixel " + pixel_text(x, 0) + " and any after it follow the HALT at pixel " +
                        pixel_text(halt_x, 0) + " and never run",
                    x, 0);
                break;
            }
        }
    } else if (pc >= width) {
        add(Severity::Error, "no-halt",
            "row 0 has no reachable HALT: the program runs off the end of row 0 (width " +
                std::to_string(width) + ")",
            width - 1, 0);
    }

    // A matrix read or written as two different element types (PROTOCOL.md §11.1): the bytes are
    // defined, but one of the two instructions almost certainly reads them as what they are not.
    for (const MatrixTypes::Conflict& c : matrix_types(walked).conflicts)
        add(Severity::Warning, "type-conflict",
            "the matrix at row " + std::to_string(c.first.row) + " is used as " + type_use_text(c.first) +
                " and as " + type_use_text(c.other),
            c.other.op_x, 0);

    // Matrices that share pixels (different header rows). Sweep by first row.
    std::sort(regions.begin(), regions.end(),
              [](const Region& a, const Region& b) { return a.row != b.row ? a.row < b.row : a.pc < b.pc; });
    // One region per (row, shape).
    regions.erase(
        std::unique(regions.begin(), regions.end(),
                    [](const Region& a, const Region& b) { return a.row == b.row && a.shape == b.shape; }),
        regions.end());
    size_t overlaps = 0;
    for (size_t i = 0; i < regions.size() && overlaps < kMaxOverlapWarnings; ++i) {
        const Region& a = regions[i];
        const uint64_t a_end = a.row + rows_for_elements(dtype_pixels(a.dtype, a.shape.elements()), width);
        const auto ra = typed_matrix_rects(a.row, a.shape, a.dtype, width);
        for (size_t j = i + 1; j < regions.size() && regions[j].row < a_end; ++j) {
            const Region& b = regions[j];
            if (b.row == a.row) continue; // the same matrix seen with another shape
            if (!any_intersect(ra, typed_matrix_rects(b.row, b.shape, b.dtype, width))) continue;
            add(Severity::Warning, "matrix-overlap",
                "the " + std::to_string(a.shape.rows) + "x" + std::to_string(a.shape.cols) +
                    " matrix at row " + std::to_string(a.row) + " and the " + std::to_string(b.shape.rows) +
                    "x" + std::to_string(b.shape.cols) + " matrix at row " + std::to_string(b.row) +
                    " share pixels",
                0, b.row);
            if (++overlaps == kMaxOverlapWarnings) break;
        }
    }

    // A tokenizer (PROTOCOL.md §14) is data no instruction reads by design: the host encodes and
    // decodes with it. Its rows count as referenced when it reads back as a valid tokenizer.
    if (const std::optional<uint32_t> tok = find_tokenizer(image); tok && read_tokenizer(image, *tok)) {
        row_referenced[*tok] = true;
        for (uint64_t k = 6; k <= 8; ++k) { // the header rows of the merges, offsets and bytes lists
            const uint32_t list = element_bits(image, *tok, DType::I32, k);
            if (list == 0 || list >= height) continue;
            const uint64_t n = decode_header(image.pixel(0, list)).elements();
            const uint64_t rows = n == 0 ? 1 : rows_for_elements(n, width);
            for (uint64_t r = list; r < std::min<uint64_t>(height, list + rows); ++r)
                row_referenced[size_t(r)] = true;
        }
    }

    // Data no executed instruction references, reported as runs of rows.
    for (uint32_t r = 1; r < height;) {
        auto has_data = [&](uint32_t row) {
            const uint8_t* p = image.at(0, row);
            return std::any_of(p, p + size_t(width) * 4, [](uint8_t b) { return b != 0; });
        };
        if (row_referenced[r] || !has_data(r)) {
            ++r;
            continue;
        }
        uint32_t end = r;
        while (end + 1 < height && !row_referenced[end + 1] && has_data(end + 1))
            ++end;
        add(Severity::Warning, "unreferenced-data",
            (end == r ? "row " + std::to_string(r) + " holds"
                      : "rows " + std::to_string(r) + ".." + std::to_string(end) + " hold") +
                std::string(" data no instruction references"),
            0, r);
        r = end + 1;
    }
    return report;
}

std::string diagnostic_text(const Diagnostic& d) {
    return std::string(severity_name(d.severity)) + "[" + d.code + "] at pixel " + pixel_text(d.x, d.y) +
           ": " + d.message;
}

} // namespace px
