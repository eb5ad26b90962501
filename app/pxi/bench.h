// bench.h — `pxi bench`: how fast each executor runs MATMUL, against the naive baseline and
// against the machine's limit, measured side by side in one run.
//
// For each MATMUL shape (the Pixel-LLM's two layers up to 256x1024 @ 1024x1024 in 4096-wide
// programs that need WIDE addressing) it times: the naive triple loop over the pixel layout (the
// prototype's algorithm, defined here and nowhere in the engine), the reference interpreter
// (execute_reference), the optimized CPU executor (execute_fast), and the GL executor's simple
// and tiled kernels when a headless OpenGL 4.3 context can be had. It also times a whole Pixel-LLM
// forward pass, PNG load and save of a 4096x4096 program, and the debugger's per-step texture
// update. Every figure is the median of repeated runs after a warm-up. The machine's ceilings
// (multiply-add throughput, memory bandwidth, each executor's fixed cost per step) are measured
// in the same run, and each result is reported as the fraction of the bound that applies.
// Beside them, the peers (bench_peers.h): oneDNN's integer GEMM and OpenBLAS's sgemm on the same
// shapes, against our executor step and our kernel alone (gemm_u8), when they were built.
//
// Measuring is separate from reporting: each measurement returns a plain struct, all of them
// gathered in one Results; one JSON writer, the text table and the plot are made from it.
//
// Every variant's output image is compared byte for byte with the reference's; a difference is a
// parity failure, reported loudly (Report::parity_ok false, pxi exits 1). Nothing here throws.
#pragma once
#include "image.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pxbench {

// The programs the forward-pass section reads, each from assets/ (relative to the working
// directory) when it is there: inputs, never the --plot file.
inline const std::vector<std::string> kForwardAssets = {"assets/pixellm.pxi", "assets/pixellm_v003.pxi"};

struct Options {
    bool quick = false;    // CI-sized shapes and repetition budgets
    bool gl = true;        // false: skip the GL executor even if a context can be had
    unsigned threads = 0;  // optimized CPU threads; 0 = every hardware thread
    std::string plot_path; // non-empty: write the scaling plot (PNG) here
    bool progress = false; // one line per measurement on stderr
};

struct Report {
    nlohmann::json json;             // the whole result, schema in BENCHMARKS.md
    std::string table;               // the same as a text table
    bool parity_ok = true;           // every variant produced the reference's bytes
    std::vector<std::string> errors; // parity failures and other problems, one line each
    std::string plot_error;          // the --plot file could not be written (names it)
};

Report run_bench(const Options& options);

// The machine's ceilings for `pxi run --profile` (a quick version of bench's, about a second):
// integer and float multiply-add peaks on `threads` threads, and the read bandwidth of a working
// set of `working_bytes` (cache-resident or DRAM). `what` describes them in words.
struct ProfilePeaks {
    double int_gmacs = 0, float_gmacs = 0, read_gbs = 0;
    std::string what;
};
// The peaks, with the read bandwidth over a buffer of working_bytes (clamped to 1 to 64 MiB);
// `working_what` says what that size is, in the printed line.
ProfilePeaks measure_profile_peaks(unsigned threads, uint64_t working_bytes, const std::string& working_what);

// The baseline: the prototype's MATMUL, element by element through the pixel layout
// (x = 1 + i % (w-1), y = row + i / (w-1)), clamped at 255 like PROTOCOL.md §5.4. Headers are read
// from the image; the caller guarantees they fit (it is timed on checked programs only).
void naive_matmul(px::Image& image, uint32_t row_a, uint32_t row_b, uint32_t row_c);

// One log-log line of the scaling plot.
struct PlotSeries {
    std::string name;
    px::Rgba color;
    std::vector<std::pair<double, double>> points; // (x, y), both > 0
};
// Draws time against M*N*K on log-log axes with a legend, using a tiny built-in rasterizer.
px::Image draw_scaling_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                            const std::vector<PlotSeries>& series);

} // namespace pxbench
