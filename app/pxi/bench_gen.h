// bench_gen.h — `pxi bench`'s generation section: tokens per second of a GPT program (pxi gpt)
// generating greedily on each executor (optimized CPU, reference, GL), side by side in one run,
// beside the libtorch peer (app/pxi_torch_peer: the same weights, read back from the image, as a
// float32 decoder with a key/value cache) when it was built.
//
// Per executor: prefill (the prompt's T tokens to the first sampled token) and decode (ms per
// token after the first), medians of repeated runs after a warm-up run. Every executor must
// write the same tokens (the protocol's parity: a difference is a parity failure); the peer's
// greedy tokens are compared with ours (float32 in another summation order: equal until the first
// near-tie of the two best logits, so the agreement is reported, not required). The decode pass's
// least time is its weight bytes at the measured read bandwidth of a working set that size.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pxbench {

struct GenOptions {
    std::string program = "assets/gpt_brown_f32.pxi";
    bool quick = false;   // few tokens, one timed run
    bool gl = true;       // time the GL executor (needs a headless context)
    unsigned threads = 0; // the optimized executor's and the peer's threads; 0 = every hardware thread
    bool progress = false;
};

struct GenReport {
    nlohmann::json json;             // the "generation" object (schema in BENCHMARKS.md)
    std::string table;               // the same as text
    bool parity_ok = true;           // every executor wrote the same tokens
    std::vector<std::string> errors; // one line each
};

GenReport measure_generation(const GenOptions& options);

} // namespace pxbench
