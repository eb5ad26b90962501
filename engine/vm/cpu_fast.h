// cpu_fast.h — the optimized CPU executor: the reference's semantics, faster.
//
// fast_executor() gives a PlanExecutor (vm.h): step() and run() still do every check and trap
// through plan_instruction(), and only carrying out the checked plan is different. Each opcode
// has one fast kernel or, explicitly, the reference's (tests/opcodes_test.cpp checks every table
// entry has one). MATMUL, QMATMUL and QMATMUL32 gather their operands out of the RGBA layout once
// (the R channel of every element pixel into contiguous uint8), multiply them with gemm_u8
// (cpu_gemm.h: AVX-512 VNNI where the CPU has it, else int16 pairs into int32; exact modulo 2^32
// like the reference), threaded over column ranges, and write the result back through each
// opcode's own output rule; parameters come decoded in Plan::params. ADD and
// QADD walk the layout run by run instead of dividing per element and reuse the reference's
// element kernels. FMATMUL sums in PROTOCOL.md's F.5 order on b packed into 16-column strips
// (kept across steps while b's pixel words are unchanged), with plain AVX-512 or AVX2 mul/add
// kernels when no value can be flushed, else canonicalizing every operation (cpu_fast.cpp).
// FATTENTION and QATTENTION keep copies of their key and value caches under the same trust, element
// by element, so a decode step reads only the rows appended since the step before (CacheCopy).
// Every output is computed the same way whatever the thread count, so the bytes never depend on it;
// in a program that loops, the executor times the iterations and keeps whichever of two
// work-per-thread thresholds runs them faster (split_tuner.h).
//
// No process-wide state: the settings, the scratch buffers, the packed weights (reused while their
// bytes are unchanged, which is checked at most once per run() call unless the run writes their
// rows: see PackedWeight in cpu_fast.cpp) and the worker threads kept between
// instructions live in the executor fast_executor() returns (one per program run; copies share
// it, so do not run two copies on two threads at once).
#pragma once
#include "vm.h"

#include <cstdint>

namespace px {

// Counts an executor adds to while it runs (for tests and `pxi run --profile`).
struct FastStats {
    uint64_t weights_packed = 0;   // weight matrices packed for the integer product
    uint64_t weights_reused = 0;   // products that reused a packed copy (its source bytes unchanged)
    uint64_t weights_trusted = 0;  // of those, reused without reading B: checked earlier in this run()
    uint64_t fweights_packed = 0;  // FMATMUL b operands packed into strips (new, or their pixels changed)
    uint64_t fweights_reused = 0;  // FMATMULs that reused the strips (b's canonical words unchanged)
    uint64_t fweights_trusted = 0; // of those, reused without reading b: checked earlier in this run()
    uint64_t fmatmul_plain = 0;    // FMATMULs on plain mul/add (no value could be flushed; cpu_fast.cpp)
    uint64_t fmatmul_canon = 0;    // FMATMULs canonicalizing every operation
    // Rows of the fmatmul_plain FMATMULs whose values could be flushed, computed again by the
    // canonicalizing kernel (a row's own exponents decide).
    uint64_t fmatmul_canon_rows = 0;
    // Elements of FATTENTION's and QATTENTION's K and V caches read from the pixels into the kept
    // copies (rows new since the last use, or all of them when nothing is trusted), and elements
    // the kernels read from the copies.
    uint64_t cache_elements_read = 0;
    uint64_t cache_elements_used = 0;
    // FATTENTION's (head, query row) units, and those whose scores and weighted sum both ran the
    // plain kernels (their exponents allowed it: cpu_fast.cpp).
    uint64_t fattention_units = 0;
    uint64_t fattention_plain_units = 0;
    // Bytes the executor's KeepArena holds for its packed weights and cache copies (whole chunks,
    // free blocks included), after the last instruction.
    uint64_t arena_bytes = 0;
    // Loop iterations timed under each of the two thresholds (FastSettings::min_macs_per_thread, then
    // min_macs_per_thread_eager), and changes of the one held best (split_tuner.h).
    uint64_t split_iterations_few = 0;
    uint64_t split_iterations_eager = 0;
    uint64_t split_switches = 0;
};

struct FastSettings {
    unsigned threads = 0; // 0 = std::thread::hardware_concurrency()
    // Below this much work per thread a shape runs on fewer threads (0: always all). The pool's
    // workers poll between steps and the caller takes any range a worker has not started
    // (parallel.h), so handing a decode step's one-row products and row opcodes to a second thread
    // can pay. Whether the smallest do (the shipped GPTs' 1 x 192 @ 192 x 192, 36,864
    // multiply-adds) depends on the host's moment: see min_macs_per_thread_eager.
    uint64_t min_macs_per_thread = 24576;
    FastStats* stats = nullptr; // where the executor counts what it did (may be null)
    // In a program that loops, iterations also run under this smaller threshold, and the executor
    // keeps whichever of the two runs them faster (split_tuner.h: 8 K was 8% faster than 24 K on a
    // float32 GPT decode while this VM's host was quiet, 8% slower while it was busy). 0, or a value
    // not below min_macs_per_thread, keeps min_macs_per_thread always (so does a single thread).
    uint64_t min_macs_per_thread_eager = 8192;
};

// A fast executor with its own settings and scratch buffers.
PlanExecutor fast_executor(const FastSettings& settings = {});
// One plan with the default settings and fresh buffers (a plain function: tests, one-off steps).
void execute_fast(Image& image, const Plan& plan);

// The threads a MATMUL of M*N*K multiply-adds would use under these settings (with
// min_macs_per_thread: outside a loop, or before the executor has timed one).
unsigned fast_threads_for(const FastSettings& settings, uint64_t macs);

// Whether the opcode has a kernel (its own or, explicitly, the reference's) in this executor.
bool fast_has_kernel(uint8_t opcode);

} // namespace px
