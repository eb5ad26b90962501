// Tests of gemm_u8 (cpu_gemm.h), the integer product behind the optimized CPU executor's MATMUL,
// QMATMUL and QMATMUL32: every kernel (AVX-512 VNNI and AVX2 where the CPU has them, the portable
// int16 one, the unpacked one for few rows, and the automatic choice) equals a plain triple loop
// modulo 2^32 on random shapes that cross every block edge (rows past the 4-row AVX2 tile, the
// 8-row tiles, VNNI's 6-row blocks and the AVX2 kernel's 96-row blocks; columns past 16-column
// panels, the 32-column block and VNNI's groups of 4 panels; K odd, not a multiple of 4 or 16, and past the
// AVX2 kernel's 512-k chunks), with random zero points and every thread count; the VNNI kernel's path for 1
// to 4 rows of A on a packed B across its accumulator chains and panels. The executor-level byte parity with
// execute_reference is tests/cpu_fast_test.cpp's.
#include "cpu_gemm.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <random>
#include <string>
#include <vector>

using namespace px;

namespace {

std::vector<uint32_t> naive(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, uint32_t M,
                            uint32_t K, uint32_t N, int32_t za, int32_t zb) {
    std::vector<uint32_t> c(size_t(M) * N, 0);
    for (uint32_t m = 0; m < M; ++m)
        for (uint32_t n = 0; n < N; ++n) {
            uint32_t s = 0;
            for (uint32_t k = 0; k < K; ++k)
                s += uint32_t((int32_t(a[size_t(m) * K + k]) - za) * (int32_t(b[size_t(k) * N + n]) - zb));
            c[size_t(m) * N + n] = s;
        }
    return c;
}

void check(std::mt19937& rng, uint32_t M, uint32_t K, uint32_t N, int32_t za, int32_t zb, int value_max) {
    std::uniform_int_distribution<int> val(0, value_max);
    std::vector<uint8_t> a(size_t(M) * K), b(size_t(K) * N);
    for (auto& v : a)
        v = uint8_t(val(rng));
    for (auto& v : b)
        v = uint8_t(val(rng));
    const std::vector<uint32_t> want = naive(a, b, M, K, N, za, zb);
    for (GemmKernel kernel :
         {GemmKernel::Portable, GemmKernel::Avx2, GemmKernel::Vnni, GemmKernel::Rows, GemmKernel::Auto})
        for (unsigned threads : {1u, 2u, 3u}) {
            std::vector<uint32_t> got(size_t(M) * N, 0xDEADBEEF);
            gemm_u8({a.data(), b.data(), M, K, N, za, zb}, threads, got.data(), kernel);
            INFO(M << "x" << K << " @ " << K << "x" << N << " za " << za << " zb " << zb << " kernel "
                   << std::string(gemm_kernel_name(kernel)) << " threads " << threads);
            REQUIRE(got == want);
        }
}

// Every K x N in Ks x Ns: B packed once for VNNI (whatever this CPU resolves that to), then each
// M in Ms of A through gemm_u8_packed on each thread count, against the triple loop. Values are
// 255 one time in `one_in` (the extremes of b - 128), else random.
void check_packed(std::mt19937& rng, std::initializer_list<uint32_t> Ks, std::initializer_list<uint32_t> Ns,
                  std::initializer_list<uint32_t> Ms, std::initializer_list<unsigned> thread_counts,
                  unsigned one_in) {
    ThreadPool pool;
    GemmWorkspace ws;
    auto values = [&](size_t n) {
        std::vector<uint8_t> v(n);
        for (auto& x : v)
            x = uint8_t(rng() % one_in == 0 ? 255 : rng());
        return v;
    };
    for (uint32_t K : Ks)
        for (uint32_t N : Ns) {
            const int32_t zb = int32_t(rng() % 256);
            const std::vector<uint8_t> b = values(size_t(K) * N);
            GemmPackedB packed;
            gemm_pack_b(b.data(), K, N, zb, GemmKernel::Vnni, 2, &pool, packed);
            for (uint32_t M : Ms) {
                const int32_t za = int32_t(rng() % 256);
                const std::vector<uint8_t> a = values(size_t(M) * K);
                for (unsigned threads : thread_counts) {
                    std::vector<uint32_t> got(size_t(M) * N, 0xDEADBEEF);
                    gemm_u8_packed(a.data(), M, za, packed, threads, got.data(), ws, &pool);
                    INFO(M << "x" << K << " @ " << K << "x" << N << " za " << za << " zb " << zb
                           << " threads " << threads);
                    REQUIRE(got == naive(a, b, M, K, N, za, zb));
                }
            }
        }
}

} // namespace

TEST_CASE("gemm_u8 equals the triple loop on random shapes, zero points and thread counts") {
    std::mt19937 rng(2024);
    MESSAGE("auto kernel on this CPU: " << std::string(gemm_kernel_name()));
    for (int i = 0; i < 150; ++i) {
        const uint32_t M = 1 + rng() % 20, K = 1 + rng() % 70, N = 1 + rng() % 80;
        const bool zero = rng() % 3 == 0;
        check(rng, M, K, N, zero ? 0 : int32_t(rng() % 256), zero ? 0 : int32_t(rng() % 256),
              rng() % 2 ? 255 : 3);
    }
}

TEST_CASE("gemm_u8 at the extremes: every value 255 or 0 with zero points 0 and 255") {
    std::mt19937 rng(7);
    for (int32_t za : {0, 255})
        for (int32_t zb : {0, 255, 128})
            check(rng, 9, 517, 33, za, zb, 255);
    // All-255 operands: the largest sums, and b - 128 = 127 in every int8 lane.
    const uint32_t M = 8, K = 1000, N = 64;
    std::vector<uint8_t> a(size_t(M) * K, 255), b(size_t(K) * N, 255);
    for (GemmKernel kernel : {GemmKernel::Portable, GemmKernel::Avx2, GemmKernel::Vnni, GemmKernel::Rows}) {
        std::vector<uint32_t> got(size_t(M) * N);
        gemm_u8({a.data(), b.data(), M, K, N, 0, 0}, 2, got.data(), kernel);
        for (uint32_t v : got)
            REQUIRE(v == 255u * 255u * K);
    }
}

TEST_CASE("gemm_u8 across the AVX2 kernel's row blocks and k chunks") {
    // 200 rows: two whole 96-row blocks and a partial one; K = 1537: three 512-k chunks, the last
    // of one odd k; N = 40: two whole 16-column panels and one of 8.
    std::mt19937 rng(31);
    check(rng, 200, 1537, 40, 17, 201, 255);
    check(rng, 97, 1024, 16, 0, 0, 255);
}

TEST_CASE("gemm_u8: sums past 2^31 wrap modulo 2^32 like the reference") {
    // K = 40000: 40000 * 255 * 255 > 2^31, past the portable kernel's int32 chunk of 16384.
    std::mt19937 rng(11);
    check(rng, 3, 40000, 5, 0, 0, 255);
    check(rng, 2, 40000, 3, 255, 0, 255);
}

TEST_CASE("gemm_pack_b + gemm_u8_packed: one packed B multiplies many A, on a pool, exactly") {
    std::mt19937 rng(4242);
    ThreadPool pool;
    GemmWorkspace ws; // reused across shapes, so stale contents would show
    const uint32_t shapes[][3] = {{5, 7, 3}, {17, 33, 31}, {16, 64, 16}, {40, 129, 65}, {3, 1, 1}};
    for (const auto& sh : shapes)
        for (GemmKernel kernel : {GemmKernel::Portable, GemmKernel::Avx2, GemmKernel::Vnni}) {
            const uint32_t K = sh[1], N = sh[2];
            const int32_t zb = int32_t(rng() % 256);
            std::vector<uint8_t> b(size_t(K) * N);
            for (auto& v : b)
                v = uint8_t(rng());
            GemmPackedB packed;
            gemm_pack_b(b.data(), K, N, zb, kernel, 2, &pool, packed);
            for (int use = 0; use < 3; ++use) {
                const uint32_t M = sh[0] + uint32_t(use);
                const int32_t za = int32_t(rng() % 256);
                std::vector<uint8_t> a(size_t(M) * K);
                for (auto& v : a)
                    v = uint8_t(rng());
                for (unsigned threads : {1u, 2u, 3u}) {
                    std::vector<uint32_t> got(size_t(M) * N, 0xDEADBEEF);
                    gemm_u8_packed(a.data(), M, za, packed, threads, got.data(), ws, &pool);
                    INFO(M << "x" << K << " @ " << K << "x" << N << " za " << za << " zb " << zb << " kernel "
                           << std::string(gemm_kernel_name(kernel)) << " threads " << threads);
                    REQUIRE(got == naive(a, b, M, K, N, za, zb));
                }
            }
        }
}

TEST_CASE("gemm_u8_packed with 1 to 4 rows of A (VNNI's rows path: a decode step's products), exactly") {
    // K from 1 to past 4 quads a chain (the rows path sums four chains of quads, then the rest),
    // not a multiple of 4; N across whole and partial 16-column panels; extreme and random values.
    std::mt19937 rng(1204);
    MESSAGE(
        "VNNI on this CPU: " << std::string(gemm_vnni_available() ? "yes" : "no (the rows path is not run)"));
    check_packed(rng, {1u, 3u, 4u, 15u, 16u, 17u, 63u, 192u, 769u}, {1u, 16u, 33u, 200u}, {1u, 2u, 3u, 4u},
                 {1u, 2u}, 6);
}

TEST_CASE("gemm_u8 with a caller-owned workspace and pool equals the triple loop") {
    std::mt19937 rng(99);
    ThreadPool pool;
    GemmWorkspace ws;
    for (int trial = 0; trial < 40; ++trial) {
        const uint32_t M = 1 + rng() % 40, K = 1 + rng() % 150, N = 1 + rng() % 70;
        const int32_t za = int32_t(rng() % 256), zb = int32_t(rng() % 256);
        std::vector<uint8_t> a(size_t(M) * K), b(size_t(K) * N);
        for (auto& v : a)
            v = uint8_t(rng());
        for (auto& v : b)
            v = uint8_t(rng());
        std::vector<uint32_t> got(size_t(M) * N);
        gemm_u8({a.data(), b.data(), M, K, N, za, zb}, 1 + rng() % 3, got.data(), ws, &pool);
        REQUIRE(got == naive(a, b, M, K, N, za, zb));
    }
}

TEST_CASE("gemm_u8_packed across VNNI's 6-row blocks and 4-panel groups, exactly") {
    // Rows: one block less one, one block, one more, several with a partial last one; columns: one
    // panel, a whole group of 4, a group and a partial panel, and a last group of 1 to 3 panels
    // (whole or partial); K a multiple of 4 and not. On CPUs without VNNI this runs the AVX2 or
    // portable kernel, which must give the same integers.
    std::mt19937 rng(606);
    check_packed(rng, {4u, 61u, 256u}, {16u, 64u, 65u, 112u, 130u, 200u}, {5u, 6u, 7u, 12u, 13u, 47u},
                 {1u, 2u, 3u}, 9);
}
