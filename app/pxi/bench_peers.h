// bench_peers.h — the libraries a user would call instead of pxOS, for `pxi bench`'s peers
// section: oneDNN's integer GEMM (dnnl_gemm_u8s8s32) and OpenBLAS's cblas_sgemm. Each is
// compiled in only when its Debian package was found at configure time (libdnnl-dev,
// libopenblas-dev; `./dev.sh bench` installs them); otherwise its functions report "not built".
// oneDNN is linked; OpenBLAS is opened on first use (bench_peers.cpp says why).
//
// How our product maps onto oneDNN's interface (exact, so bench checks every element):
// pxOS multiplies uint8 by uint8 with zero points, acc = sum_k (a - za)(b - zb). oneDNN's
// u8s8s32 GEMM computes C = (A - ao)(B - bo) with A uint8 and B int8. With B = b - 128 (the byte
// b ^ 0x80 read as int8) and bo = zb - 128 (in -128..127 for zb in 0..255), B - bo = b - zb, so
// A = a, ao = za, B = b - 128, bo = zb - 128 gives our accumulator exactly; |acc| <= K * 255^2
// fits int32 for K < 33025. The conversion b -> b - 128 is done once, outside the clock (a
// user of oneDNN stores weights as int8 once). With zero-point folding (see onednn_gemm_u8s8s32)
// bo is 0 and -bo * rowsum(a - za) becomes a per-row offset of C: also exact.
#pragma once
#include <cstdint>
#include <string>

namespace pxbench {

struct PeerInfo {
    bool built = false;
    std::string library; // name and version, when built
    std::string kernel;  // what it runs on this CPU (oneDNN's ISA, OpenBLAS's core)
    std::string note;    // why it is not built, or how it was set up
    // oneDNN: whether its u8 x s8 product is exact on this CPU. Without VNNI (AVX2, AVX-512 without
    // VNNI) it multiplies with vpmaddubsw, which saturates each pair's sum to int16 (oneDNN's
    // "nuances of int8 computations"), so its int32 results can differ from the exact product.
    bool exact_int8 = true;
};

PeerInfo onednn_info();
PeerInfo openblas_info();

// Both use this many threads from now on (OpenMP for oneDNN, OpenBLAS's own pool).
void set_peer_threads(unsigned threads);

// c (M x N int32) = (a - za) @ (b8 + 128 - zb), a: M x K uint8, b8: K x N int8 (= b - 128).
// fold false: one call with ao = za, bo = zb - 128. fold true: bo = 0 and the zero point folded
// into a per-row offset of C, -bo * sum_k (a - za), which oneDNN applies itself (its fast path:
// a nonzero bo costs it 2 to 4 times more here). Returns an empty string on success, else the error.
std::string onednn_gemm_u8s8s32(const uint8_t* a, const int8_t* b8, uint32_t M, uint32_t K, uint32_t N,
                                int32_t za, int32_t zb, bool fold, int32_t* c);

// c (M x N) = a (M x K) @ b (K x N), float32 row-major. Empty string on success.
std::string openblas_sgemm(const float* a, const float* b, uint32_t M, uint32_t K, uint32_t N, float* c);

} // namespace pxbench
