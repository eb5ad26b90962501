// vm.h — the CPU reference interpreter of Pixel Protocol 1.1.
//
// The VM state is a value: the image beside the registers (the program counter, an x in row 0,
// the step count and limit, the status and the trap). step() executes exactly one instruction
// and reports the rectangles it wrote; everything an executor must decide before touching pixels
// (decoding, operand rows, headers, parameters, shapes, bounds: every trap) is done by
// plan_instruction(), which reads pixels only through a fetch callback and asks each opcode's
// definition (ops/opdef.h) for its own rules. step_registers() is the one step driver: the CPU's
// step() and the GL executor's gl_step() both run it, so both executors trap on exactly the same
// instructions with exactly the same report and move their registers the same way.
//
// Breakpoints, run-to-cursor and history are the caller's policy: run() takes a hook that is
// asked before each instruction, and step() can fill an UndoRecord with the pixels it is about
// to overwrite.
#pragma once
#include "dtype.h"
#include "image.h"
#include "layout.h"
#include "ops/op_params.h"
#include "protocol.h"

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace px {

inline constexpr uint32_t kMaxParamPixels = 5; // QATTENTION (PROTOCOL.md §16.3) has 5

struct Instruction {
    uint32_t pc = 0;     // x of the first pixel (the WIDE prefix if there is one)
    uint32_t length = 1; // pixels: prefix + opcode pixel + parameter pixels
    uint8_t opcode = 0;
    bool wide = false;
    std::array<uint32_t, 3> operand{}; // a, b, c with the WIDE high bytes applied
    std::array<Rgba, kMaxParamPixels> params{};
    uint32_t param_count = 0;
    const OpcodeInfo* info = nullptr; // nullptr when the opcode byte is unknown
};

struct Trap {
    TrapCode code = TrapCode::NONE;
    uint32_t x = 0, y = 0; // the pixel responsible
    std::string message;   // one line naming the instruction, operand and row
    bool operator==(const Trap&) const = default;
};

// Reads one pixel of the program. x < width and y < height are guaranteed by the caller.
using PixelFetch = std::function<Rgba(uint32_t x, uint32_t y)>;

// Decodes the instruction starting at pc (pc < width). Never fails: an unknown opcode gives
// info == nullptr; a prefix or parameters past the row's end give `truncated`.
struct Decoded {
    Instruction ins;
    bool truncated = false;
};
Decoded decode(const PixelFetch& fetch, uint32_t width, uint32_t pc);

// Everything an executor needs to carry out one instruction, all checks passed.
struct Plan {
    Instruction ins;
    OpParams params;                     // the parameter pixels, decoded and checked
    std::array<MatrixHeader, 3> shape{}; // header of each matrix operand read (zero otherwise)
    MatrixHeader out_shape{};            // header written for MatrixOut operands
    std::vector<Rect> writes;            // pixels the instruction writes (may overlap inputs)
    // Element type of each operand as the instruction declares it (OpDef::operand_types; all U8
    // for opcodes without one). Only F16 changes the pixels a matrix occupies (ceil(n/2)).
    std::array<DType, 3> dtype{};
    // Where pc goes after the instruction when it is not pc + length: a taken LOOP (PROTOCOL.md
    // §13.1). Decided by the shape rule from pixels it reads, so every executor moves pc alike.
    std::optional<uint32_t> jump;
    // Where the plan falls in the step() or run() call that carries it out: 0 for the first
    // instruction the call executes, n for the n-th after it (step() always gives 0, and so does
    // any plan made outside them). Within one run() call nothing but its instructions writes the
    // image (its hooks see the VM const) and each writes exactly `writes`, so an executor handed
    // plans n and n + 1 of one call on the same image knows every pixel that changed in between.
    // The optimized CPU executor trusts its packed weights on that (cpu_fast.cpp, PackedWeight);
    // from a plan numbered 0 it trusts nothing it kept.
    uint64_t run_seq = 0;
};
std::variant<Plan, Trap> plan_instruction(const PixelFetch& fetch, uint32_t width, uint32_t height,
                                          uint32_t pc);

// The plans of one run remembered by pc. plan_instruction() is a function of the image's size, pc
// and the pixels it fetches, so when every pixel it fetched for a remembered plan still holds the
// value it read, the plan is that plan again: checking those few pixels (the instruction, its
// operands' headers, what the shape rule read) is the plan without deciding it again. Planning
// every instruction of a float32 GPT decode pass took about 11 us of its 150 (cold caches,
// measured). Traps are never remembered. run() keeps one for its call; a caller driving
// step_registers() may keep its own.
struct PlanMemo {
    struct Entry {
        bool filled = false;
        uint32_t width = 0, height = 0;
        Plan plan;
        std::vector<std::array<uint32_t, 2>> read_at; // each pixel fetched, in the order fetched
        std::vector<Rgba> read;                       // what it held
    };
    std::vector<Entry> by_pc;
    uint64_t hits = 0, misses = 0;
};
// plan_instruction(fetch, width, height, pc), answered from `memo` when its pixels are unchanged;
// a plan made afresh is remembered there (unless it fetched more than kPlanMemoMaxReads pixels).
inline constexpr size_t kPlanMemoMaxReads = 256;
std::variant<Plan, Trap> plan_instruction(PlanMemo& memo, const PixelFetch& fetch, uint32_t width,
                                          uint32_t height, uint32_t pc);

enum class VmStatus : uint8_t { Ready, Halted, Trapped };
std::string_view status_name(VmStatus status);

// The registers of any executor: the CPU keeps them beside its image, the GL executor beside its
// texture (gl_registers()), so comparing two executors' registers is one ==.
struct VmRegisters {
    uint32_t pc = 0;
    uint64_t steps = 0;
    uint64_t step_limit = kDefaultStepLimit;
    VmStatus status = VmStatus::Ready;
    Trap trap;
    bool operator==(const VmRegisters&) const = default;
};

// The CPU VM: registers (vm.pc, vm.steps, ...) and the image they run on.
struct VmState : VmRegisters {
    Image image;
    const VmRegisters& registers() const { return *this; }
};

VmState make_vm(Image image, uint64_t step_limit = kDefaultStepLimit);

struct StepResult {
    VmStatus status = VmStatus::Ready;
    uint32_t executed_pc = 0; // pc of the instruction that ran (or trapped)
    uint8_t opcode = 0;
    std::vector<Rect> written;
};

// What step() overwrote, so a debugger can step back by copying it back.
struct UndoRecord {
    uint32_t pc = 0;
    uint64_t steps = 0;
    VmStatus status = VmStatus::Ready;
    Trap trap;
    std::vector<PixelPatch> patches;
};

// Carries out a checked plan on an in-memory image, all reads before any write (PROTOCOL.md
// §4.2). execute_reference is the protocol's reference (each opcode definition's reference
// kernel); an optimized CPU executor supplies its own and must produce the same bytes. A
// PlanExecutor is any callable, so it carries its own context (settings, scratch buffers).
using PlanExecutor = std::function<void(Image& image, const Plan& plan)>;
void execute_reference(Image& image, const Plan& plan);

// The one step driver: what one step does to the registers of any executor. When `regs` is
// Ready and has a next instruction within the step limit, plans it with plan_instruction() over
// `fetch` (a width x height program), hands the plan to `carry_out` (which writes its pixels), and
// then advances pc and steps; stopping (off the end of row 0, HALT, STEP_LIMIT, a trap) is decided
// here. `written` in the result is the plan's writes.
// `run_seq` is given to the plan (Plan::run_seq).
// With `memo`, plans come through plan_instruction(memo, ...): the same plans, each made once
// while its pixels stay the same.
StepResult step_registers(VmRegisters& regs, uint32_t width, uint32_t height, const PixelFetch& fetch,
                          const std::function<void(const Plan&)>& carry_out, uint64_t run_seq = 0,
                          PlanMemo* memo = nullptr);

// Executes one instruction. A VM that is not Ready is left as it is.
StepResult step(VmState& vm, UndoRecord* undo = nullptr, const PlanExecutor& execute = execute_reference);
void undo_step(VmState& vm, const UndoRecord& undo);

// One run() call is one sequence of plans (Plan::run_seq): the hooks see the VM const and must not
// change its image by any other way either, or an executor may use what it kept from before.
struct RunOptions {
    // Asked before each instruction; returning true stops the run with the VM still Ready.
    std::function<bool(const VmState&)> stop_before;
    // Told after each step (as step() reports it), for a host that watches the run without
    // stopping it (pxi generate prints each token as the program appends it).
    std::function<void(const VmState&, const StepResult&)> after_step;
    PlanExecutor execute = execute_reference;
};
struct RunResult {
    uint64_t steps_run = 0;
    bool stopped_by_hook = false;
    uint64_t plans_reused = 0; // steps whose plan came from the call's PlanMemo
};
RunResult run(VmState& vm, const RunOptions& options = {});

// The reference kernels on unpacked R-channel values (row-major), shared by tests and tools.
uint32_t dot_u8(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);
std::vector<uint8_t> add_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                            MatrixHeader hb);
std::vector<uint8_t> matmul_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                               MatrixHeader hb);

// Parameter pixels through the opcode's definition (ops/opdef.h), for any decoded instruction
// (unknown opcodes and opcodes without parameters give "" or nothing):
// check 7 of PROTOCOL.md §4.4, "" when every parameter is in range, else a message naming the
// parameter pixel and the value;
std::string check_params(const Instruction& ins, uint32_t height);
// one line for the disassembler and debugger, e.g. "za=128 zb=121 zc=0 M=1518500250 shift=38
// (x0.00000552) bias=row 19 clamp=[0,255]" (shown as is; never parsed);
std::string describe_params(const Instruction& ins);
// the matrix rows the parameters name (a bias row when not 0), for tools that list what an
// instruction reads: the validator, region inference, debugger outlines.
std::vector<uint32_t> param_rows(const Instruction& ins);

// A fetch over an in-memory image.
PixelFetch image_fetch(const Image& image);

// One-line text for a trap: "TRAP BAD_OPCODE at pixel (3,0): ...".
std::string describe_trap(const Trap& trap);
// One-line text for registers: "pc 3, steps 1 of 65536, trapped: TRAP ...".
std::string registers_text(const VmRegisters& regs);

} // namespace px
