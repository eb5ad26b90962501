#include "vm.h"

#include "quant.h"

#include <algorithm>

namespace px {
namespace {

std::string row_range(uint32_t height) {
    return height > 1 ? "data rows 1.." + std::to_string(height - 1) : "no data rows";
}

std::string shape_text(MatrixHeader h) {
    return std::to_string(h.rows) + "x" + std::to_string(h.cols);
}

// Why a matrix that does not fit does not: the rows it needs, or the image's width.
// rows_for_elements divides by width - 1, so an image of width 1 (which holds no matrix,
// PROTOCOL.md §3) is said so instead.
std::string overflow_text(uint32_t row, MatrixHeader h, uint32_t width, uint32_t height) {
    if (width < 2) return "does not fit: an image of width 1 holds no matrix";
    return "needs rows " + std::to_string(row) + ".." +
           std::to_string(row + rows_for_elements(h.elements(), width) - 1) + ", past the last row " +
           std::to_string(height - 1);
}

Trap make_trap(TrapCode code, uint32_t x, uint32_t y, std::string message) {
    return Trap{code, x, y, std::move(message)};
}

// The header and elements of a matrix the plan already checked, R channel only.
std::vector<uint8_t> gather(const Image& image, uint32_t row, MatrixHeader h) {
    std::vector<uint8_t> v(h.elements());
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        v[i] = image.at(element_x(i, w), uint32_t(element_y(i, row, w)))[0];
    return v;
}

// A matrix of whole int32 pixels (QMATMUL's bias, PROTOCOL.md §5.5), little-endian RGBA.
std::vector<int32_t> gather_i32(const Image& image, uint32_t row, MatrixHeader h) {
    std::vector<int32_t> v(h.elements());
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        v[i] = rgba_to_i32(image.pixel(element_x(i, w), uint32_t(element_y(i, row, w))));
    return v;
}

void scatter_i32(Image& image, uint32_t row, MatrixHeader h, const std::vector<int32_t>& v) {
    image.set_pixel(0, row, encode_header(h));
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        image.set_pixel(element_x(i, w), uint32_t(element_y(i, row, w)), i32_to_rgba(v[i]));
}

std::vector<int32_t> gather_bias(const Image& image, uint32_t bias_row) {
    if (bias_row == 0) return {};
    return gather_i32(image, bias_row, decode_header(image.pixel(0, bias_row)));
}

void scatter(Image& image, uint32_t row, MatrixHeader h, const std::vector<uint8_t>& v) {
    image.set_pixel(0, row, encode_header(h));
    const uint32_t w = image.width;
    for (uint64_t i = 0; i < v.size(); ++i)
        image.at(element_x(i, w), uint32_t(element_y(i, row, w)))[0] = v[i];
}

} // namespace

void execute_reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    switch (Opcode(p.ins.opcode)) {
    case Opcode::HALT: break;
    case Opcode::RELU: break; // unsigned bytes are never negative
    case Opcode::DOT: {
        const uint32_t sum = dot_u8(gather(image, op[0], p.shape[0]), gather(image, op[1], p.shape[1]));
        image.set_pixel(0, op[2], {uint8_t(sum), uint8_t(sum >> 8), uint8_t(sum >> 16), uint8_t(sum >> 24)});
        break;
    }
    case Opcode::ADD: {
        auto out = add_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                          p.shape[1]);
        scatter(image, op[2], p.out_shape, out);
        break;
    }
    case Opcode::MATMUL: {
        auto out = matmul_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                             p.shape[1]);
        scatter(image, op[2], p.out_shape, out);
        break;
    }
    case Opcode::QMATMUL: {
        const QMatmulParams q = decode_qmatmul(p.ins);
        auto out = qmatmul_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                              p.shape[1], q, gather_bias(image, q.bias_row));
        scatter(image, op[2], p.out_shape, out);
        break;
    }
    case Opcode::QMATMUL32: {
        const QMatmul32Params q = decode_qmatmul32(p.ins);
        auto out = qmatmul_acc(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                               p.shape[1], q.za, q.zb, gather_bias(image, q.bias_row));
        scatter_i32(image, op[2], p.out_shape, out);
        break;
    }
    case Opcode::QADD: {
        auto out = qadd_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]),
                           p.shape[1], decode_qadd(p.ins));
        scatter(image, op[2], p.out_shape, out);
        break;
    }
    case Opcode::QRELU: {
        auto out = qrelu_u8(gather(image, op[0], p.shape[0]), decode_qrelu(p.ins).zero_point);
        const uint32_t w = image.width;
        for (uint64_t i = 0; i < out.size(); ++i)
            image.at(element_x(i, w), uint32_t(element_y(i, op[0], w)))[0] = out[i];
        break;
    }
    }
}

std::string_view status_name(VmStatus status) {
    switch (status) {
    case VmStatus::Ready: return "ready";
    case VmStatus::Halted: return "halted";
    case VmStatus::Trapped: return "trapped";
    }
    return "?";
}

PixelFetch image_fetch(const Image& image) {
    return [&image](uint32_t x, uint32_t y) { return image.pixel(x, y); };
}

Decoded decode(const PixelFetch& fetch, uint32_t width, uint32_t pc) {
    Decoded d;
    Instruction& ins = d.ins;
    ins.pc = pc;
    uint32_t x = pc;
    Rgba px = fetch(x, 0);
    std::array<uint32_t, 3> high{};
    if (px[0] == kWidePrefix) {
        ins.wide = true;
        high = {px[1], px[2], px[3]};
        if (++x >= width) {
            d.truncated = true;
            ins.length = 1;
            return d;
        }
        px = fetch(x, 0);
    }
    ins.opcode = px[0];
    for (int i = 0; i < 3; ++i)
        ins.operand[i] = high[i] << 8 | px[1 + i];
    ins.info = ins.wide && ins.opcode == kWidePrefix ? nullptr : opcode_info(ins.opcode);
    ins.length = x - pc + 1;
    if (ins.info) {
        ins.param_count = ins.info->param_pixels;
        for (uint32_t i = 0; i < ins.param_count; ++i) {
            if (x + 1 + i >= width) {
                d.truncated = true;
                ins.param_count = i;
                break;
            }
            ins.params[i] = fetch(x + 1 + i, 0);
        }
        ins.length += ins.param_count;
    }
    return d;
}

std::variant<Plan, Trap> plan_instruction(const PixelFetch& fetch, uint32_t width, uint32_t height,
                                          uint32_t pc) {
    const Decoded d = decode(fetch, width, pc);
    Plan p{d.ins};
    const Instruction& ins = p.ins;
    const uint32_t op_x = pc + (ins.wide ? 1 : 0);
    if (!ins.info) {
        if (op_x >= width)
            return make_trap(TrapCode::TRUNCATED, pc, 0,
                             "WIDE prefix at pixel (" + std::to_string(pc) +
                                 ",0) is the last pixel of row 0");
        return make_trap(TrapCode::BAD_OPCODE, op_x, 0,
                         "unknown opcode " + std::to_string(ins.opcode) + " at pixel (" +
                             std::to_string(op_x) + ",0)");
    }
    const std::string name(ins.info->name);
    if (d.truncated)
        return make_trap(TrapCode::TRUNCATED, op_x, 0,
                         name + " at pixel (" + std::to_string(op_x) + ",0) needs " +
                             std::to_string(ins.info->param_pixels) + " parameter pixels; row 0 ends first");

    // Operand rows: every row operand must name a data row.
    static constexpr char kOperandName[3] = {'a', 'b', 'c'};
    for (int i = 0; i < 3; ++i) {
        if (!is_row_operand(ins.info->operands[i])) continue;
        const uint32_t row = ins.operand[i];
        if (row == 0 || row >= height)
            return make_trap(TrapCode::ROW_OUT_OF_IMAGE, op_x, 0,
                             name + " at pixel (" + std::to_string(op_x) + ",0): operand " + kOperandName[i] +
                                 " names row " + std::to_string(row) + ", outside " + row_range(height));
    }
    // Input matrices: a non-empty header whose elements fit in the image.
    for (int i = 0; i < 3; ++i) {
        const OperandKind kind = ins.info->operands[i];
        if (kind != OperandKind::MatrixIn && kind != OperandKind::MatrixInOut) continue;
        const uint32_t row = ins.operand[i];
        const MatrixHeader h = decode_header(fetch(0, row));
        const std::string where =
            name + " operand " + kOperandName[i] + ": matrix at row " + std::to_string(row);
        if (h.cols == 0 || h.rows == 0)
            return make_trap(TrapCode::BAD_HEADER, 0, row,
                             where + " has header " + shape_text(h) + " (rows x cols); zero is not a shape");
        if (!matrix_fits(row, h, width, height))
            return make_trap(TrapCode::MATRIX_OVERFLOW, 0, row,
                             where + " (" + shape_text(h) + ") " + overflow_text(row, h, width, height));
        p.shape[i] = h;
    }
    // Parameter values (check 7; PROTOCOL.md §5.5).
    if (std::string e = check_params(ins, height); !e.empty())
        return make_trap(TrapCode::BAD_PARAM, op_x, 0,
                         name + " at pixel (" + std::to_string(op_x) + ",0): " + e);
    // Shape rules and the output's shape.
    const MatrixHeader ha = p.shape[0], hb = p.shape[1];
    auto mismatch = [&](const std::string& rule) {
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, ins.operand[1],
                         name + " at pixel (" + std::to_string(op_x) + ",0): a is " + shape_text(ha) +
                             ", b is " + shape_text(hb) + "; " + rule);
    };
    switch (Opcode(ins.opcode)) {
    case Opcode::HALT:
    case Opcode::RELU: break;
    case Opcode::DOT:
        if (ha.elements() != hb.elements()) return mismatch("DOT needs the same number of elements");
        p.writes.push_back({0, ins.operand[2], 1, 1});
        break;
    case Opcode::ADD:
        if (!(ha == hb || (hb.rows == 1 && hb.cols == ha.cols)))
            return mismatch("ADD needs equal shapes or b of shape 1x" + std::to_string(ha.cols));
        p.out_shape = ha;
        break;
    case Opcode::MATMUL:
        if (ha.cols != hb.rows) return mismatch("MATMUL needs a's columns to equal b's rows");
        p.out_shape = {hb.cols, ha.rows};
        break;
    case Opcode::QMATMUL:
    case Opcode::QMATMUL32: {
        if (ha.cols != hb.rows) return mismatch(name + " needs a's columns to equal b's rows");
        p.out_shape = {hb.cols, ha.rows};
        // The optional bias: a 1 x cols(b) matrix of int32 pixels that fits (PROTOCOL.md §5.5).
        const uint32_t bias_row = Opcode(ins.opcode) == Opcode::QMATMUL ? decode_qmatmul(ins).bias_row
                                                                        : decode_qmatmul32(ins).bias_row;
        if (bias_row != 0) {
            const MatrixHeader hbias = decode_header(fetch(0, bias_row));
            const MatrixHeader want{hb.cols, 1};
            if (!(hbias == want))
                return make_trap(TrapCode::SHAPE_MISMATCH, 0, bias_row,
                                 name + " at pixel (" + std::to_string(op_x) + ",0): bias at row " +
                                     std::to_string(bias_row) + " is " + shape_text(hbias) + "; it must be " +
                                     shape_text(want));
            if (!matrix_fits(bias_row, hbias, width, height))
                return make_trap(TrapCode::MATRIX_OVERFLOW, 0, bias_row,
                                 name + " bias: matrix at row " + std::to_string(bias_row) + " (" +
                                     shape_text(hbias) + ") runs past the last row " +
                                     std::to_string(height - 1));
        }
        break;
    }
    case Opcode::QADD:
        if (!(ha == hb || (hb.rows == 1 && hb.cols == ha.cols)))
            return mismatch("QADD needs equal shapes or b of shape 1x" + std::to_string(ha.cols));
        p.out_shape = ha;
        break;
    case Opcode::QRELU: {
        // Written in place: the element pixels of a (its header is not written).
        auto rects = matrix_rects(ins.operand[0], ha, width);
        p.writes.insert(p.writes.end(), rects.begin() + 1, rects.end());
        break;
    }
    }
    // Output matrices must fit where they are written.
    for (int i = 0; i < 3; ++i) {
        if (ins.info->operands[i] != OperandKind::MatrixOut) continue;
        const uint32_t row = ins.operand[i];
        if (!matrix_fits(row, p.out_shape, width, height))
            return make_trap(TrapCode::MATRIX_OVERFLOW, 0, row,
                             name + " operand " + kOperandName[i] + ": the " + shape_text(p.out_shape) +
                                 " result at row " + std::to_string(row) + " " +
                                 overflow_text(row, p.out_shape, width, height));
        auto rects = matrix_rects(row, p.out_shape, width);
        p.writes.insert(p.writes.end(), rects.begin(), rects.end());
    }
    return p;
}

VmState make_vm(Image image, uint64_t step_limit) {
    VmState vm;
    vm.image = std::move(image);
    vm.step_limit = step_limit;
    return vm;
}

StepResult step(VmState& vm, UndoRecord* undo, PlanExecutor execute) {
    StepResult r{vm.status, vm.pc};
    if (vm.status != VmStatus::Ready) return r;
    if (undo) *undo = UndoRecord{vm.pc, vm.steps, vm.status, vm.trap, {}};
    const Image& image = vm.image;
    if (vm.pc >= image.width) { // ran off the end of row 0 (PROTOCOL.md §4.1)
        vm.status = r.status = VmStatus::Halted;
        return r;
    }
    if (vm.steps >= vm.step_limit) {
        vm.trap = make_trap(TrapCode::STEP_LIMIT, vm.pc, 0,
                            "step limit " + std::to_string(vm.step_limit) + " reached at pixel (" +
                                std::to_string(vm.pc) + ",0)");
        vm.status = r.status = VmStatus::Trapped;
        return r;
    }
    auto planned = plan_instruction(image_fetch(image), image.width, image.height, vm.pc);
    if (auto* trap = std::get_if<Trap>(&planned)) {
        vm.trap = std::move(*trap);
        vm.status = r.status = VmStatus::Trapped;
        return r;
    }
    Plan& plan = std::get<Plan>(planned);
    r.opcode = plan.ins.opcode;
    if (undo)
        for (const Rect& rect : plan.writes)
            undo->patches.push_back(copy_patch(image, rect));
    execute(vm.image, plan);
    vm.steps++;
    if (Opcode(plan.ins.opcode) == Opcode::HALT) {
        vm.status = VmStatus::Halted;
    } else {
        vm.pc += plan.ins.length;
        if (vm.pc >= image.width) vm.status = VmStatus::Halted;
    }
    r.status = vm.status;
    r.written = std::move(plan.writes);
    return r;
}

void undo_step(VmState& vm, const UndoRecord& undo) {
    // Patches are restored last-first so overlapping rectangles end as they were.
    for (auto it = undo.patches.rbegin(); it != undo.patches.rend(); ++it)
        apply_patch(vm.image, *it);
    vm.pc = undo.pc;
    vm.steps = undo.steps;
    vm.status = undo.status;
    vm.trap = undo.trap;
}

RunResult run(VmState& vm, const RunOptions& options) {
    RunResult r;
    while (vm.status == VmStatus::Ready) {
        if (options.stop_before && options.stop_before(vm)) {
            r.stopped_by_hook = true;
            break;
        }
        const uint64_t before = vm.steps;
        step(vm, nullptr, options.execute);
        r.steps_run += vm.steps - before;
    }
    return r;
}

uint32_t dot_u8(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    uint32_t sum = 0; // wraps modulo 2^32 by definition (PROTOCOL.md §5.1)
    for (size_t i = 0; i < a.size(); ++i)
        sum += uint32_t(a[i]) * b[i];
    return sum;
}

std::vector<uint8_t> add_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                            MatrixHeader hb) {
    std::vector<uint8_t> out(a.size());
    const bool broadcast = !(ha == hb);
    for (size_t i = 0; i < a.size(); ++i) {
        const uint32_t s = uint32_t(a[i]) + b[broadcast ? i % hb.cols : i];
        out[i] = uint8_t(std::min<uint32_t>(s, 255));
    }
    return out;
}

std::vector<uint8_t> matmul_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                               MatrixHeader hb) {
    const uint32_t M = ha.rows, K = ha.cols, N = hb.cols;
    std::vector<uint8_t> out(size_t(M) * N);
    std::vector<uint32_t> acc(N);
    for (uint32_t m = 0; m < M; ++m) {
        std::fill(acc.begin(), acc.end(), 0);
        for (uint32_t k = 0; k < K; ++k) {
            const uint32_t av = a[size_t(m) * K + k];
            if (av == 0) continue;
            const uint8_t* brow = &b[size_t(k) * N];
            for (uint32_t n = 0; n < N; ++n)
                acc[n] += av * brow[n];
        }
        for (uint32_t n = 0; n < N; ++n)
            out[size_t(m) * N + n] = uint8_t(std::min<uint32_t>(acc[n], 255));
    }
    return out;
}

std::string describe_trap(const Trap& trap) {
    return "TRAP " + std::string(trap_name(trap.code)) + " at pixel (" + std::to_string(trap.x) + "," +
           std::to_string(trap.y) + "): " + trap.message;
}

} // namespace px
