// profile.h — where a program's time goes, per opcode: `pxi run --profile`.
//
// profile_run() runs a program to its end with any CPU executor, timing each step, and counts, per opcode,
// the instructions executed, the time they took, the arithmetic they did (multiply-adds for the products,
// elements for everything else) and the bytes they touched, as pixels and as values. The counts come from
// each instruction's checked Plan alone (plan_work()), never from an executor, so every executor gets the
// same counts. With machine ceilings (measured by the caller: peak multiply-adds and read bandwidth) each
// opcode's least possible time, its bound (compute or memory) and the fraction of it reached are filled in.
// The memory bound counts values, not pixels: a uint8 element is one byte in a four-byte pixel, and an
// executor may read it as one (the optimized CPU executor keeps its uint8 weights packed that way),
// so only the values' bytes bound every executor.
#pragma once
#include "vm.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace px {

// The work of one planned instruction, from its plan.
struct PlanWork {
    uint64_t macs = 0;          // multiply-adds (MATMUL, QMATMUL, QMATMUL32, FMATMUL: M*K*N; DOT: n)
    uint64_t elements = 0;      // elements produced by the other opcodes (0 for HALT)
    bool float_macs = false;    // the multiply-adds are float32 (FMATMUL)
    uint64_t bytes_read = 0;    // operand pixels read, 4 bytes each: matrix headers and elements, bias rows,
                                // attention's value cache (GATHER: only the rows it copies, b's header
                                // and mode 0's indices; ARGMAX, SAMPLE, PENALIZE: a's last row, PENALIZE
                                // b's window)
    uint64_t bytes_written = 0; // pixels written, 4 bytes each: the plan's write rectangles (APPEND: the
                                // header and the rows appended, not all of c)
    // The same reads and writes as the bytes of the elements' values (u8 1, f16 2, f32 and i32 4;
    // headers and other whole-pixel words 4): the least any executor moves, the memory bound's count.
    uint64_t value_bytes_read = 0, value_bytes_written = 0;
};
PlanWork plan_work(const Plan& plan);

// What bounds an instruction: measured by the caller (pxi measures them in the same run).
struct MachinePeaks {
    double int_gmacs = 0;   // integer multiply-adds per ns (GMAC/s) on the threads the executor uses
    double float_gmacs = 0; // float multiply + add pairs (no fma) per ns
    double read_gbs = 0;    // bytes per ns the operands can be read at
};

struct OpProfile {
    uint8_t opcode = 0;
    std::string name;
    uint64_t count = 0;  // instructions executed (a trapping one included)
    double ms = 0;       // wall time of their steps
    PlanWork work;       // summed
    double limit_ms = 0; // least time the peaks allow (0 without peaks)
    std::string bound;   // "compute" or "memory" ("" without peaks)
    double fraction = 0; // limit_ms / ms
};

struct Profile {
    std::vector<OpProfile> ops; // by opcode number, only opcodes that ran
    uint64_t steps = 0;
    double ms = 0;
    PlanWork work;
    double limit_ms = 0, fraction = 0;
};

// Runs vm to its end (halt, trap or step limit) with `execute`, timing each step. peaks may be
// null (no bounds).
Profile profile_run(VmState& vm, const PlanExecutor& execute, const MachinePeaks* peaks = nullptr);

// The same for a host that splits the run into parts (pxi generate --profile: the prefill, the
// decode passes and the rest): `into` picks each step's accumulator from its opcode, and
// finish_profile makes the Profile of what an accumulator gathered. `after`, if set, is told after
// each step (RunOptions::after_step), off the clock. profile_run is this with one accumulator.
//
// The run is one run() call, never step() after step(), because that is how a program runs
// unprofiled: the optimized executor trusts a packed weight it checked earlier in the same run
// (cpu_fast.cpp, PackedWeight) and compares it with its pixels again only in a new call. Profiled
// step by step, every FMATMUL paid that comparison: a decode pass of the float32 GPT showed
// FMATMUL at 1.27 ms where the whole unprofiled pass takes about 0.55.
struct ProfileAccumulator {
    std::vector<OpProfile> by_op = std::vector<OpProfile>(256); // indexed by opcode; count 0: did not run
    uint64_t steps = 0;
};
RunResult profile_run_into(VmState& vm, const PlanExecutor& execute,
                           const std::function<ProfileAccumulator&(uint8_t opcode)>& into,
                           const std::function<void(const VmState&, const StepResult&)>& after = {});
Profile finish_profile(const ProfileAccumulator& acc, const MachinePeaks* peaks = nullptr);

} // namespace px
