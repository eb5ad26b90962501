#include "bench_peers.h"

#include <cstdlib>
#include <vector>

#if PXOS_HAVE_DNNL
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif
#if PXOS_HAVE_OPENBLAS
#include <cblas.h>
#include <dlfcn.h>
#endif

namespace pxbench {

namespace {

[[maybe_unused]] std::string env_or_unset(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(name) + "=" + v : std::string(name) + " unset";
}

#if PXOS_HAVE_DNNL
std::string isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16 (includes VNNI)";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "isa 0x" + std::to_string(int(isa));
    }
}
#endif

#if PXOS_HAVE_OPENBLAS
// OpenBLAS is opened when bench first calls it, not linked into pxi: loading it starts its thread
// pool, whose threads spin in sched_yield for about 0.1 s, and on a 2-core machine that took a core
// from every pxi command, bench or not (pxi generate of 32 tokens: 0.26 to 0.39 s with it linked,
// 0.25 s with OPENBLAS_NUM_THREADS=1; measured). The functions are OpenBLAS's own, from the
// library the build found (PXOS_OPENBLAS_LIBRARY), typed by its header.
struct OpenBlas {
    std::string error; // why it could not be opened, or ""
    decltype(&openblas_get_config) get_config = nullptr;
    decltype(&openblas_get_corename) get_corename = nullptr;
    decltype(&openblas_set_num_threads) set_num_threads = nullptr;
    decltype(&cblas_sgemm) sgemm = nullptr;
};

OpenBlas open_openblas() {
    OpenBlas b;
    void* lib = dlopen(PXOS_OPENBLAS_LIBRARY, RTLD_NOW | RTLD_LOCAL); // never closed: used to the end
    if (!lib) {
        const char* e = dlerror();
        b.error = std::string("cannot open ") + PXOS_OPENBLAS_LIBRARY + ": " + (e ? e : "unknown error");
        return b;
    }
    auto sym = [&](const char* name) {
        void* f = dlsym(lib, name);
        if (!f && b.error.empty()) b.error = std::string(PXOS_OPENBLAS_LIBRARY) + " has no " + name;
        return f;
    };
    b.get_config = reinterpret_cast<decltype(b.get_config)>(sym("openblas_get_config"));
    b.get_corename = reinterpret_cast<decltype(b.get_corename)>(sym("openblas_get_corename"));
    b.set_num_threads = reinterpret_cast<decltype(b.set_num_threads)>(sym("openblas_set_num_threads"));
    b.sgemm = reinterpret_cast<decltype(b.sgemm)>(sym("cblas_sgemm"));
    return b;
}

// Opened once, on first use (a process has one copy of a loaded library in any case).
const OpenBlas& openblas() {
    static const OpenBlas b = open_openblas();
    return b;
}
#endif

} // namespace

PeerInfo onednn_info() {
    PeerInfo p;
#if PXOS_HAVE_DNNL
    const dnnl_version_t* v = dnnl_version();
    p.built = true;
    p.library = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                std::to_string(v->patch);
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    p.kernel = "dnnl_gemm_u8s8s32, ISA " + isa_name(isa);
    p.exact_int8 = isa == dnnl_cpu_isa_avx2_vnni || isa == dnnl_cpu_isa_avx512_core_vnni ||
                   isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
    if (!p.exact_int8)
        p.kernel += " (no VNNI: vpmaddubsw saturates u8 x s8 pair sums to int16, so results may be inexact)";
    p.note = "OpenMP runtime; " + env_or_unset("OMP_NUM_THREADS") + "; " + env_or_unset("OMP_WAIT_POLICY") +
             "; " + env_or_unset("DNNL_MAX_CPU_ISA");
#else
    p.note = "not built: libdnnl-dev was not found when pxi was configured (./dev.sh bench installs it)";
#endif
    return p;
}

PeerInfo openblas_info() {
    PeerInfo p;
#if PXOS_HAVE_OPENBLAS
    const OpenBlas& b = openblas();
    if (!b.error.empty()) {
        p.note = "built, but not loaded: " + b.error;
        return p;
    }
    p.built = true;
    p.library = b.get_config();
    p.kernel = std::string("cblas_sgemm, core ") + b.get_corename();
    // OpenBLAS reads these when it is loaded; a run with them set measures the forced core.
    p.note = env_or_unset("OPENBLAS_CORETYPE") + "; " + env_or_unset("OPENBLAS_L2_SIZE");
#else
    p.note = "not built: libopenblas-dev was not found when pxi was configured (./dev.sh bench installs it)";
#endif
    return p;
}

void set_peer_threads(unsigned threads) {
#if PXOS_HAVE_DNNL
    omp_set_num_threads(int(threads));
#endif
#if PXOS_HAVE_OPENBLAS
    if (openblas().error.empty()) openblas().set_num_threads(int(threads));
#endif
    (void)threads;
}

std::string onednn_gemm_u8s8s32(const uint8_t* a, const int8_t* b8, uint32_t M, uint32_t K, uint32_t N,
                                int32_t za, int32_t zb, bool fold, int32_t* c) {
#if PXOS_HAVE_DNNL
    const int32_t bo = zb - 128;
    dnnl_status_t st;
    if (!fold) {
        const int32_t co = 0;
        st = dnnl_gemm_u8s8s32('N', 'N', 'F', M, N, K, 1.0f, a, K, uint8_t(za), b8, N, int8_t(bo), 0.0f, c, N,
                               &co);
    } else {
        // Zero-point folding: (a - za)(b8 - bo) = (a - za) b8 - bo * (a - za), so the product runs
        // with bo = 0 and each row m gets the offset -bo * sum_k (a[m,k] - za), which oneDNN adds
        // in its own epilogue (offsetc 'C': one offset per row of C). Computed here, on the clock.
        thread_local std::vector<int32_t> co;
        co.resize(M);
        for (uint32_t m = 0; m < M; ++m) {
            int64_t r = 0;
            for (uint32_t k = 0; k < K; ++k)
                r += int32_t(a[size_t(m) * K + k]) - za;
            co[m] = int32_t(-int64_t(bo) * r);
        }
        st = dnnl_gemm_u8s8s32('N', 'N', 'C', M, N, K, 1.0f, a, K, uint8_t(za), b8, N, 0, 0.0f, c, N,
                               co.data());
    }
    return st == dnnl_success ? std::string()
                              : "dnnl_gemm_u8s8s32 failed with status " + std::to_string(int(st));
#else
    (void)a, (void)b8, (void)M, (void)K, (void)N, (void)za, (void)zb, (void)fold, (void)c;
    return "oneDNN not built";
#endif
}

std::string openblas_sgemm(const float* a, const float* b, uint32_t M, uint32_t K, uint32_t N, float* c) {
#if PXOS_HAVE_OPENBLAS
    const OpenBlas& blas = openblas();
    if (!blas.error.empty()) return blas.error;
    blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N), int(K), 1.0f, a, int(K), b, int(N),
               0.0f, c, int(N));
    return {};
#else
    (void)a, (void)b, (void)M, (void)K, (void)N, (void)c;
    return "OpenBLAS not built";
#endif
}

} // namespace pxbench
