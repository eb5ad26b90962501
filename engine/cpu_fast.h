// cpu_fast.h — the optimized CPU executor: the reference's semantics, faster.
//
// execute_fast() is a PlanExecutor (vm.h): step() and run() still do every check and trap through
// plan_instruction(), and only carrying out the checked plan is different. MATMUL, QMATMUL and
// QMATMUL32 gather their operands out of the RGBA layout once (the R channel of every element
// pixel into contiguous uint8), multiply them with gemm_u8 (cpu_gemm.h: AVX-512 VNNI where the
// CPU has it, else int16 pairs into int32; exact modulo 2^32 like the reference), threaded over
// column ranges, and write the result back through each opcode's own output rule. ADD and QADD
// walk the layout run by run instead of dividing per element and reuse the reference's element
// kernels. Every output is computed the same way whatever the thread count, so the bytes never
// depend on it. Other opcodes run execute_reference(), whose semantics are the definition.
//
// The thread settings are process-wide (a PlanExecutor is a plain function pointer); callers
// set them before running, not while another thread runs a program.
#pragma once
#include "vm.h"

#include <cstdint>

namespace px {

void execute_fast(Image& image, const Plan& plan);

struct FastSettings {
    unsigned threads = 0;                    // 0 = std::thread::hardware_concurrency()
    uint64_t min_macs_per_thread = 1u << 21; // below this a shape runs on fewer threads (0: always all)
};
void set_fast_settings(const FastSettings& settings);
FastSettings fast_settings();
// The threads a MATMUL of M*N*K multiply-adds would use under the current settings.
unsigned fast_threads_for(uint64_t macs);

} // namespace px
