#include "profile.h"

#include "dtype.h"
#include "opcodes.h"

#include <algorithm>
#include <chrono>

namespace px {

namespace {

uint64_t bias_row_of(const Plan& p) {
    if (const auto* q = std::get_if<QMatmulParams>(&p.params)) return q->bias_row;
    if (const auto* q = std::get_if<QMatmul32Params>(&p.params)) return q->bias_row;
    if (const auto* q = std::get_if<FMatmulParams>(&p.params)) return q->bias_row;
    return 0;
}

void add(PlanWork& to, const PlanWork& w) {
    to.macs += w.macs, to.elements += w.elements;
    to.bytes_read += w.bytes_read, to.bytes_written += w.bytes_written;
    to.value_bytes_read += w.value_bytes_read, to.value_bytes_written += w.value_bytes_written;
    to.float_macs = to.float_macs || w.float_macs;
}

// The least time for `w` at the peaks: its multiply-adds at the peak rate, or its values' bytes at
// the read bandwidth, whichever is longer. Values, not pixels: an executor may keep a uint8 weight
// in one byte (cpu_fast.cpp packs them), so only the values' bytes bound every executor.
void bound(const PlanWork& w, const MachinePeaks& peaks, double ms, double& limit_ms, std::string& name,
           double& fraction) {
    const double gmacs = w.float_macs ? peaks.float_gmacs : peaks.int_gmacs;
    const double t_compute = gmacs > 0 ? double(w.macs) / (gmacs * 1e6) : 0;
    const double t_memory =
        peaks.read_gbs > 0 ? double(w.value_bytes_read + w.value_bytes_written) / (peaks.read_gbs * 1e6) : 0;
    limit_ms = std::max(t_compute, t_memory);
    name = limit_ms == 0 ? "" : t_compute > t_memory ? "compute" : "memory";
    fraction = ms > 0 ? limit_ms / ms : 0;
}

} // namespace

PlanWork plan_work(const Plan& p) {
    PlanWork w;
    const OpcodeInfo* info = opcode_info(p.ins.opcode);
    if (!info) return w;
    // n elements of type t with (header) or without their matrix's header pixel, read or written:
    // the pixels they occupy, and the bytes of their values (u8 one, f16 two, f32 and i32 four).
    auto read = [&](DType t, uint64_t n, bool header = true) {
        w.bytes_read += 4 * (dtype_pixels(t, n) + header);
        w.value_bytes_read += value_bytes(t, n) + 4 * header;
    };
    auto unread = [&](DType t, uint64_t n) { // elements counted above that the opcode never reads
        w.bytes_read -= 4 * dtype_pixels(t, n);
        w.value_bytes_read -= value_bytes(t, n);
    };
    for (int i = 0; i < 3; ++i)
        if (info->operands[i] == OperandKind::MatrixIn || info->operands[i] == OperandKind::MatrixInOut)
            read(p.dtype[size_t(i)], p.shape[i].elements());
    if (const uint64_t bias = bias_row_of(p); bias != 0) read(DType::I32, p.shape[1].cols); // a 1 x N row
    for (const Rect& r : p.writes)
        w.bytes_written += 4 * uint64_t(r.w) * r.h;
    w.value_bytes_written = w.bytes_written;
    // The elements of the matrix the instruction writes (c, or a in place), as values rather than
    // pixels: the write rectangles hold them as pixels (and every other pixel written, whole).
    auto written_elements = [&](int operand, uint64_t n) {
        const DType t = p.dtype[size_t(operand)];
        w.value_bytes_written -= 4 * dtype_pixels(t, n) - value_bytes(t, n);
    };
    if (info->operands[2] == OperandKind::MatrixOut && Opcode(p.ins.opcode) != Opcode::APPEND)
        written_elements(2, p.out_shape.elements());
    switch (Opcode(p.ins.opcode)) {
    case Opcode::MATMUL:
    case Opcode::QMATMUL:
    case Opcode::QMATMUL32:
    case Opcode::FMATMUL:
        w.macs = uint64_t(p.shape[0].rows) * p.shape[0].cols * p.shape[1].cols;
        w.float_macs = Opcode(p.ins.opcode) == Opcode::FMATMUL;
        break;
    case Opcode::DOT: w.macs = p.shape[0].elements(); break;
    case Opcode::GATHER: // reads only the rows it copies of a, and of b its header, or its indices (mode 0)
        w.elements = p.out_shape.elements();
        w.bytes_read = w.value_bytes_read = 0;
        read(p.dtype[0], p.out_shape.elements());
        read(DType::I32, 0); // b's header
        if (const auto* g = std::get_if<GatherParams>(&p.params); g && g->mode == 0)
            read(p.dtype[1], p.shape[1].elements(), false);
        break;
    case Opcode::FATTENTION:
    case Opcode::QATTENTION: // and the value cache V, named by a parameter, K's shape and type (§12.2, §16)
        w.elements = p.out_shape.elements();
        read(p.dtype[1], p.shape[1].elements());
        break;
    case Opcode::APPEND: // writes c's header and a's rows after c's last (Plan::writes, OpDef::out_writes)
        w.elements = p.shape[0].elements();
        read(DType::I32, 0); // c's header: its length
        written_elements(2, p.shape[0].elements());
        break;
    case Opcode::ARGMAX:
    case Opcode::SAMPLE:
    case Opcode::PENALIZE: { // a's last row only (§13.4-13.6); PENALIZE: b's window only
        w.elements = p.shape[0].cols;
        unread(p.dtype[0], p.shape[0].elements() - p.shape[0].cols);
        if (const auto* q = std::get_if<PenalizeParams>(&p.params))
            unread(p.dtype[1], q->window_first(p.shape[1].elements()));
        break;
    }
    case Opcode::QRELU: // writes a in place
        w.elements = p.shape[0].elements();
        written_elements(0, p.shape[0].elements());
        break;
    case Opcode::HALT: break;
    default: // element-wise and row opcodes: what they produce (or check, in place)
        w.elements = p.out_shape.elements() ? p.out_shape.elements() : p.shape[0].elements();
        break;
    }
    return w;
}

RunResult profile_run_into(VmState& vm, const PlanExecutor& execute,
                           const std::function<ProfileAccumulator&(uint8_t opcode)>& into,
                           const std::function<void(const VmState&, const StepResult&)>& after) {
    using Clock = std::chrono::steady_clock;
    PlanWork w;
    uint8_t opcode = 0;
    Clock::time_point t0;
    RunOptions options;
    options.execute = execute;
    // Before each step: its plan (made here, off the clock, for the counts; step() makes its own)
    // and its opcode, even of an instruction that traps in planning (StepResult's is 0 then).
    options.stop_before = [&](const VmState& now) {
        w = {};
        opcode = 0;
        auto planned = plan_instruction(image_fetch(now.image), now.image.width, now.image.height, now.pc);
        if (const Plan* p = std::get_if<Plan>(&planned)) {
            w = plan_work(*p); // a trap does no work
            opcode = p->ins.opcode;
        } else if (now.pc < now.image.width) {
            opcode = now.image.pixel(now.pc, 0)[0];
            if (opcode == kWidePrefix && now.pc + 1 < now.image.width)
                opcode = now.image.pixel(now.pc + 1, 0)[0];
        }
        t0 = Clock::now();
        return false;
    };
    options.after_step = [&](const VmState& now, const StepResult& result) {
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        ProfileAccumulator& acc = into(opcode);
        OpProfile& op = acc.by_op[opcode];
        op.opcode = opcode;
        ++op.count;
        op.ms += ms;
        add(op.work, w);
        ++acc.steps;
        if (after) after(now, result);
    };
    return run(vm, options);
}

Profile finish_profile(const ProfileAccumulator& acc, const MachinePeaks* peaks) {
    Profile prof;
    prof.steps = acc.steps;
    for (const OpProfile& counted : acc.by_op) {
        if (counted.count == 0) continue;
        OpProfile op = counted;
        const OpcodeInfo* info = opcode_info(op.opcode);
        op.name = info ? std::string(info->name) : "opcode " + std::to_string(op.opcode);
        if (peaks) bound(op.work, *peaks, op.ms, op.limit_ms, op.bound, op.fraction);
        prof.ms += op.ms;
        add(prof.work, op.work);
        prof.limit_ms += op.limit_ms;
        prof.ops.push_back(op);
    }
    prof.fraction = prof.ms > 0 ? prof.limit_ms / prof.ms : 0;
    return prof;
}

Profile profile_run(VmState& vm, const PlanExecutor& execute, const MachinePeaks* peaks) {
    ProfileAccumulator acc;
    profile_run_into(vm, execute, [&](uint8_t) -> ProfileAccumulator& { return acc; });
    Profile prof = finish_profile(acc, peaks);
    prof.steps = vm.steps;
    return prof;
}

} // namespace px
