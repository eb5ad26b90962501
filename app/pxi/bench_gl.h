// bench_gl.h — the GL device's own ceilings for `pxi bench`: how fast it reads a buffer and how
// many float and integer multiply-adds a second its compute shaders run, measured in the same
// run as the GL timings they bound. The CPU ceilings bound llvmpipe (which runs on the CPU's
// cores); on a GPU these do, so a GPU run reports each GL figure as a fraction of the GPU's own
// bandwidth and peak (scripts/gpu-check.sh runs it there).
#pragma once
#include <cstdint>
#include <string>

namespace pxbench {

struct GlCeilings {
    bool measured = false;
    std::string error;       // why not, when measured is false
    double read_gbs = 0;     // one compute pass reading read_bytes of an SSBO
    uint64_t read_bytes = 0; // min(256 MiB, the largest SSBO the driver allows); 16 MiB quick
    double float_gmacs = 0;  // multiply then add (not fused, as F.5 computes), per second
    double int_gmacs = 0;    // 32-bit integer multiply then add, per second
};

// Needs a current OpenGL 4.3 context. The best of a few timings each (a ceiling), by the host's
// clock between glFinish calls; loop lengths and pass counts grow until a timing takes 20 ms
// (2 ms with quick).
GlCeilings measure_gl_ceilings(bool quick);

} // namespace pxbench
