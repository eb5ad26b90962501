#include "vm.h"

#include "ops/opdef.h"

#include <algorithm>

namespace px {
namespace {

using ops::make_trap;
using ops::shape_text;

std::string row_range(uint32_t height) {
    return height > 1 ? "data rows 1.." + std::to_string(height - 1) : "no data rows";
}

// Why a matrix that does not fit does not: the rows it needs, or the image's width.
// rows_for_elements divides by width - 1, so an image of width 1 (which holds no matrix,
// PROTOCOL.md §3) is said so instead.
// A matrix of f16 elements counts ceil(n/2) element pixels (PROTOCOL.md §15 F.1).
std::string overflow_text(uint32_t row, MatrixHeader h, DType t, uint32_t width, uint32_t height) {
    if (width < 2) return "does not fit: an image of width 1 holds no matrix";
    const uint64_t pixels = dtype_pixels(t, h.elements());
    return "needs rows " + std::to_string(row) + ".." +
           std::to_string(row + rows_for_elements(pixels, width) - 1) +
           (t == DType::F16 ? " (" + std::to_string(pixels) + " pixels of f16 pairs)" : std::string()) +
           ", past the last row " + std::to_string(height - 1);
}

std::string typed_shape_text(MatrixHeader h, DType t) {
    return shape_text(h) + (t == DType::F16 ? " f16" : "");
}

} // namespace

void execute_reference(Image& image, const Plan& p) {
    op_def(p.ins.opcode)->reference(image, p); // a plan exists only for an opcode in the table
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

    const PlanContext cx{fetch, width, height, op_x, name}; // for messages here and the shape rule
    // Operand rows: every row operand must name a data row.
    static constexpr char kOperandName[3] = {'a', 'b', 'c'};
    for (int i = 0; i < 3; ++i) {
        if (!is_row_operand(ins.info->operands[i])) continue;
        const uint32_t row = ins.operand[i];
        if (row == 0 || row >= height)
            return make_trap(TrapCode::ROW_OUT_OF_IMAGE, op_x, 0,
                             cx.at() + "operand " + kOperandName[i] + " names row " + std::to_string(row) +
                                 ", outside " + row_range(height));
    }
    // The parameter pixels decode without failing; the operand types they declare decide how many
    // pixels each matrix occupies (f16: two elements per pixel) for the fit checks 6 and 9.
    const OpDef& def = *op_def(ins.opcode);
    p.params = def.decode(ins);
    if (def.operand_types) p.dtype = def.operand_types(p.params);
    // Input matrices: a non-empty header whose elements fit in the image.
    for (int i = 0; i < 3; ++i) {
        const OperandKind kind = ins.info->operands[i];
        if (kind != OperandKind::MatrixIn && kind != OperandKind::MatrixInOut) continue;
        const uint32_t row = ins.operand[i];
        const MatrixHeader h = decode_header(fetch(0, row));
        const auto where = [&] { // built only for a trap (PlanContext says why)
            return name + " operand " + kOperandName[i] + ": matrix at row " + std::to_string(row);
        };
        if (h.cols == 0 || h.rows == 0)
            return make_trap(TrapCode::BAD_HEADER, 0, row,
                             where() + " has header " + shape_text(h) +
                                 " (rows x cols); zero is not a shape");
        if (!typed_matrix_fits(row, h, p.dtype[i], width, height))
            return make_trap(TrapCode::MATRIX_OVERFLOW, 0, row,
                             where() + " (" + typed_shape_text(h, p.dtype[i]) + ") " +
                                 overflow_text(row, h, p.dtype[i], width, height));
        p.shape[i] = h;
    }
    // Parameter values (check 7; PROTOCOL.md §5.5), then the opcode's shape rule.
    if (std::string e = def.check(ins, p.params, height); !e.empty())
        return make_trap(TrapCode::BAD_PARAM, op_x, 0, cx.at() + e);
    if (std::optional<Trap> trap = def.shape(p, cx)) return *trap;
    // Output matrices must fit where they are written.
    for (int i = 0; i < 3; ++i) {
        if (ins.info->operands[i] != OperandKind::MatrixOut) continue;
        const uint32_t row = ins.operand[i];
        if (!typed_matrix_fits(row, p.out_shape, p.dtype[i], width, height))
            return make_trap(TrapCode::MATRIX_OVERFLOW, 0, row,
                             name + " operand " + kOperandName[i] + ": the " +
                                 typed_shape_text(p.out_shape, p.dtype[i]) + " result at row " +
                                 std::to_string(row) + " " +
                                 overflow_text(row, p.out_shape, p.dtype[i], width, height));
        auto rects = def.out_writes ? def.out_writes(p, width)
                                    : typed_matrix_rects(row, p.out_shape, p.dtype[i], width);
        p.writes.insert(p.writes.end(), rects.begin(), rects.end());
    }
    return p;
}

std::variant<Plan, Trap> plan_instruction(PlanMemo& memo, const PixelFetch& fetch, uint32_t width,
                                          uint32_t height, uint32_t pc) {
    if (pc >= memo.by_pc.size()) // grown by doubling: an entry holds a Plan, moved on each growth
        memo.by_pc.resize(std::max<size_t>(size_t(pc) + 1, std::min<size_t>(width, 2 * memo.by_pc.size())));
    PlanMemo::Entry& e = memo.by_pc[pc];
    if (e.filled && e.width == width && e.height == height) {
        bool same = true;
        for (size_t i = 0; i < e.read_at.size() && same; ++i)
            same = fetch(e.read_at[i][0], e.read_at[i][1]) == e.read[i];
        if (same) {
            ++memo.hits;
            return e.plan;
        }
    }
    ++memo.misses;
    e.filled = false;
    e.read_at.clear(), e.read.clear();
    const PixelFetch recording = [&](uint32_t x, uint32_t y) {
        const Rgba px = fetch(x, y);
        e.read_at.push_back({x, y}), e.read.push_back(px);
        return px;
    };
    std::variant<Plan, Trap> planned = plan_instruction(recording, width, height, pc);
    if (const Plan* plan = std::get_if<Plan>(&planned); plan && e.read.size() <= kPlanMemoMaxReads) {
        e.plan = *plan;
        e.width = width, e.height = height;
        e.filled = true;
    }
    return planned;
}

VmState make_vm(Image image, uint64_t step_limit) {
    VmState vm;
    vm.image = std::move(image);
    vm.step_limit = step_limit;
    return vm;
}

StepResult step_registers(VmRegisters& regs, uint32_t width, uint32_t height, const PixelFetch& fetch,
                          const std::function<void(const Plan&)>& carry_out, uint64_t run_seq,
                          PlanMemo* memo) {
    StepResult r{regs.status, regs.pc};
    if (regs.status != VmStatus::Ready) return r;
    if (regs.pc >= width) { // ran off the end of row 0 (PROTOCOL.md §4.1)
        regs.status = r.status = VmStatus::Halted;
        return r;
    }
    if (regs.steps >= regs.step_limit) {
        regs.trap = make_trap(TrapCode::STEP_LIMIT, regs.pc, 0,
                              "step limit " + std::to_string(regs.step_limit) + " reached at pixel (" +
                                  std::to_string(regs.pc) + ",0)");
        regs.status = r.status = VmStatus::Trapped;
        return r;
    }
    auto planned = memo ? plan_instruction(*memo, fetch, width, height, regs.pc)
                        : plan_instruction(fetch, width, height, regs.pc);
    if (auto* trap = std::get_if<Trap>(&planned)) { // a trapping instruction adds no step
        regs.trap = std::move(*trap);
        regs.status = r.status = VmStatus::Trapped;
        return r;
    }
    Plan& plan = std::get<Plan>(planned);
    plan.run_seq = run_seq;
    r.opcode = plan.ins.opcode;
    carry_out(plan);
    regs.steps++;
    if (Opcode(plan.ins.opcode) == Opcode::HALT) {
        regs.status = VmStatus::Halted;
    } else {
        regs.pc = plan.jump ? *plan.jump : regs.pc + plan.ins.length; // a jump target is < width
        if (regs.pc >= width) regs.status = VmStatus::Halted;
    }
    r.status = regs.status;
    r.written = std::move(plan.writes);
    return r;
}

namespace {

// step() as the run_seq-th instruction executed by the calling step() or run() (Plan::run_seq).
StepResult step_in_call(VmState& vm, UndoRecord* undo, const PlanExecutor& execute, uint64_t run_seq,
                        PlanMemo* memo = nullptr) {
    if (vm.status != VmStatus::Ready) return StepResult{vm.status, vm.pc};
    if (undo) *undo = UndoRecord{vm.pc, vm.steps, vm.status, vm.trap, {}};
    // One captured pointer: the callable fits std::function's small buffer, no allocation per step.
    struct Context {
        VmState& vm;
        UndoRecord* undo;
        const PlanExecutor& execute;
    } cx{vm, undo, execute};
    return step_registers(
        vm, vm.image.width, vm.image.height, image_fetch(vm.image),
        [&cx](const Plan& plan) {
            if (cx.undo)
                for (const Rect& rect : plan.writes)
                    cx.undo->patches.push_back(copy_patch(cx.vm.image, rect));
            cx.execute(cx.vm.image, plan);
        },
        run_seq, memo);
}

} // namespace

StepResult step(VmState& vm, UndoRecord* undo, const PlanExecutor& execute) {
    // Always the first of its call: between two step() calls anyone may have changed the image.
    return step_in_call(vm, undo, execute, 0);
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
    PlanMemo memo; // this call's plans (nothing else writes the image meanwhile, but it is checked anyway)
    while (vm.status == VmStatus::Ready) {
        if (options.stop_before && options.stop_before(vm)) {
            r.stopped_by_hook = true;
            break;
        }
        const uint64_t before = vm.steps;
        // Numbered by the instructions this call executed (a trapping one executes nothing and ends
        // the run), so the executor sees 0, 1, 2, ... (Plan::run_seq).
        const StepResult result = step_in_call(vm, nullptr, options.execute, r.steps_run, &memo);
        r.steps_run += vm.steps - before;
        if (options.after_step) options.after_step(vm, result);
    }
    r.plans_reused = memo.hits;
    return r;
}

std::string describe_trap(const Trap& trap) {
    return "TRAP " + std::string(trap_name(trap.code)) + " at pixel (" + std::to_string(trap.x) + "," +
           std::to_string(trap.y) + "): " + trap.message;
}

std::string registers_text(const VmRegisters& r) {
    std::string s = "pc " + std::to_string(r.pc) + ", steps " + std::to_string(r.steps) + " of " +
                    std::to_string(r.step_limit) + ", " + std::string(status_name(r.status));
    if (r.status == VmStatus::Trapped || r.trap.code != TrapCode::NONE) s += ": " + describe_trap(r.trap);
    return s;
}

} // namespace px
