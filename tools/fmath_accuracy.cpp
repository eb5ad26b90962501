// fmath_accuracy — measures each function of engine/fmath.h against the correctly rounded result
// (glibc's double-precision function, whose error is far below a float ULP), over every float32
// input of the range where the result is a normal float, or every `stride`-th one. Reports the
// maximum error in ULPs of the exact result, where it occurs, and the share of inputs that are
// not correctly rounded. Also checks to_f16 against GCC's _Float16 conversion over all 2^32 inputs.
// "attention" measures FSOFTMAX with a scale and FATTENTION (PROTOCOL.md §12) against double.
//   fmath_accuracy [exp|tanh|gelu|recip|rsqrt|f16|sum|rows|layernorm|quant|attention|all] [stride]
//   (numbers: PROTOCOL.md §15)
#include "fmath.h"
#include "ops/float_ops.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace px;

namespace {

struct Stats {
    double max_ulp = 0;
    float worst = 0;
    uint64_t n = 0, not_cr = 0, wrong_class = 0;
};

// Error of f against the exact value e, in ULPs of e's binade (float32, normal range).
double ulp_error(float f, double e) {
    int ex;
    std::frexp(e, &ex); // e = m 2^ex, m in [0.5, 1)
    const double ulp = std::ldexp(1.0, ex - 24);
    return std::fabs(double(f) - e) / ulp;
}

template <class F, class R> Stats measure(F f, R ref, float lo, float hi, uint32_t stride) {
    Stats s;
    for (uint64_t b = 0; b < (1ull << 32); b += stride) {
        const float x = fm::from_bits(uint32_t(b));
        if (!(x >= lo && x <= hi) || !fm::is_canonical(uint32_t(b))) continue; // inputs are canonical
        const double e = ref(double(x));
        if (!(std::fabs(e) > 0x1p-126 && std::fabs(e) <= FLT_MAX)) continue; // result not a normal
        const float y = f(x);
        ++s.n;
        if (std::fabs(y) > FLT_MAX || y != y) {
            ++s.wrong_class;
            continue;
        }
        const double u = ulp_error(y, e);
        if (y != float(e)) ++s.not_cr;
        if (u > s.max_ulp) {
            s.max_ulp = u;
            s.worst = x;
        }
    }
    return s;
}

void report(const char* name, const char* range, const Stats& s) {
    std::printf("%-6s %-28s inputs %11llu  max %.4f ulp at %a (%.9g)  not correctly rounded %.4f%%%s\n", name,
                range, (unsigned long long)s.n, s.max_ulp, s.worst, s.worst,
                100.0 * double(s.not_cr) / double(s.n), s.wrong_class ? "  NON-FINITE RESULTS!" : "");
    std::fflush(stdout);
}

double gelu_ref(double x) {
    // 0.5 x (1 + tanh u) in the form without cancellation for u < 0.
    const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
    return x / (1.0 + std::exp(-2.0 * u));
}

} // namespace

int main(int argc, char** argv) {
    const std::string what = argc > 1 ? argv[1] : "all";
    const uint32_t stride = argc > 2 ? uint32_t(std::strtoul(argv[2], nullptr, 10)) : 1;
    const bool all = what == "all";
    if (all || what == "exp")
        report("exp", "[-87.34, 88.72]",
               measure(
                   fm::exp, [](double x) { return std::exp(x); }, -88.f, 89.f, stride));
    if (all || what == "tanh")
        report("tanh", "all finite",
               measure(
                   fm::tanh, [](double x) { return std::tanh(x); }, -FLT_MAX, FLT_MAX, stride));
    if (all || what == "gelu") {
        report("gelu", "[0, +max]", measure(fm::gelu, gelu_ref, 0.f, FLT_MAX, stride));
        report("gelu", "[-3, 0]", measure(fm::gelu, gelu_ref, -3.f, 0.f, stride));
        // Below -3 GELU is ill-conditioned: |x g'(x) / g(x)| ~ 1.6 (x + 0.134 x^3), 140 at -8.4, so
        // one rounding of the input already moves the result by that many ULPs.
        report("gelu", "[-9, -3]", measure(fm::gelu, gelu_ref, -9.f, -3.f, stride));
    }
    if (all || what == "recip")
        report("recip", "all finite",
               measure(
                   fm::recip, [](double x) { return 1.0 / x; }, -FLT_MAX, FLT_MAX, stride));
    if (all || what == "recip" || what == "mantissas") // exhaustive: 1/x depends only on x's significand
        report("recip", "[1, 2) every input",
               measure(
                   fm::recip, [](double x) { return 1.0 / x; }, 1.f, 1.99999994f, 1));
    if (all || what == "rsqrt" || what == "mantissas") // exhaustive: significand and exponent parity
        report("rsqrt", "[1, 4) every input",
               measure(
                   fm::rsqrt, [](double x) { return 1.0 / std::sqrt(x); }, 1.f, 3.99999976f, 1));
    if (all || what == "rsqrt")
        report("rsqrt", "all positive finite",
               measure(
                   fm::rsqrt, [](double x) { return 1.0 / std::sqrt(x); }, 0.f, FLT_MAX, stride));
    if (all || what == "f16") {
        uint64_t bad = 0, n = 0;
        for (uint64_t b = 0; b < (1ull << 32); b += stride) {
            const float x = fm::from_bits(uint32_t(b));
            const float c = fm::canon(x);
            const _Float16 g = (_Float16)c;
            uint16_t gb;
            std::memcpy(&gb, &g, 2);
            if (c != c) gb = fm::kNaN16;
            if (gb == 0x8000u) gb = 0;
            bad += fm::to_f16(x) != gb;
            ++n;
        }
        uint64_t rt = 0;
        for (uint32_t h = 0; h < 65536; ++h) {
            const float f = fm::from_f16(uint16_t(h));
            _Float16 g;
            std::memcpy(&g, &h, 2);
            if (!(f == float(g) || (f != f && g != g))) ++rt;
        }
        std::printf(
            "f16    to_f16 vs _Float16 over %llu inputs: %llu differ; from_f16 vs _Float16: %llu differ\n",
            (unsigned long long)n, (unsigned long long)bad, (unsigned long long)rt);
    }
    if (all || what == "rows") {
        // softmax and layer norm rows of N(0, 3^2) inputs against the same formulas in double:
        // softmax as max relative error per element, layer norm (gain 1, bias 0, eps 1e-5) as max
        // absolute error; both in units of u = 2^-24.
        std::mt19937 rng(2);
        std::normal_distribution<float> nd(0.f, 3.f);
        for (size_t n : {16u, 256u, 1024u, 4096u}) {
            double sm = 0, ln = 0;
            for (int rep = 0; rep < 100; ++rep) {
                std::vector<float> x(n), y(n), g(n, 1.f), b(n, 0.f);
                for (float& v : x)
                    v = nd(rng);
                fm::softmax_row(x.data(), y.data(), n);
                double m = x[0], s = 0;
                for (float v : x)
                    m = std::max(m, double(v));
                for (float v : x)
                    s += std::exp(double(v) - m);
                for (size_t i = 0; i < n; ++i) {
                    const double e = std::exp(double(x[i]) - m) / s;
                    sm = std::max(sm, std::fabs(double(y[i]) - e) / e);
                }
                fm::layernorm_row(x.data(), g.data(), b.data(), 1e-5f, y.data(), n);
                double mean = 0, var = 0;
                for (float v : x)
                    mean += v;
                mean /= double(n);
                for (float v : x)
                    var += (v - mean) * (v - mean);
                var /= double(n);
                for (size_t i = 0; i < n; ++i)
                    ln = std::max(ln, std::fabs(double(y[i]) - (x[i] - mean) / std::sqrt(var + 1e-5)));
            }
            std::printf(
                "rows   n=%-5zu softmax max rel. error %.2f u; layer norm max abs. error %.2f u (100 rows)\n",
                n, sm / 0x1p-24, ln / 0x1p-24);
        }
    }
    if (all || what == "layernorm") {
        // LAYERNORM (PROTOCOL.md §11.6, PROTOCOL.md F.10) against layer norm in long double on the
        // same binary32 inputs: y = (x - mean) / sqrt(var + eps) * g + b, gain N(1, 0.1^2), bias
        // N(0, 0.1^2), eps 1e-5; rows N(mu, sigma^2). Error as max and mean absolute error in units of
        // u = 2^-24 (the outputs are O(1)), over 200 rows each.
        std::mt19937 rng(3);
        std::normal_distribution<float> nd(0.f, 1.f);
        struct Rows {
            float mu, sigma;
        };
        for (const Rows& d :
             {Rows{0.f, 1.f}, Rows{0.f, 100.f}, Rows{0.f, 0.01f}, Rows{10.f, 1.f}, Rows{100.f, 1.f}})
            for (size_t n : {16u, 64u, 768u, 1024u, 4096u}) {
                double worst = 0, total = 0;
                size_t count = 0;
                for (int rep = 0; rep < 200; ++rep) {
                    std::vector<float> x(n), g(n), b(n), y(n);
                    for (size_t i = 0; i < n; ++i)
                        x[i] = d.mu + d.sigma * nd(rng), g[i] = 1.f + 0.1f * nd(rng), b[i] = 0.1f * nd(rng);
                    const float eps = 1e-5f;
                    fm::layernorm_row(x.data(), g.data(), b.data(), eps, y.data(), n);
                    long double mean = 0, var = 0;
                    for (float v : x)
                        mean += v;
                    mean /= (long double)n;
                    for (float v : x)
                        var += (v - mean) * (v - mean);
                    var /= (long double)n;
                    const long double s = 1.0L / std::sqrt(var + (long double)eps);
                    for (size_t i = 0; i < n; ++i) {
                        const double e =
                            double(std::fabs((long double)y[i] - ((x[i] - mean) * s * g[i] + b[i])));
                        worst = std::max(worst, e);
                        total += e;
                        ++count;
                    }
                }
                std::printf(
                    "layernorm rows N(%g, %g^2) n=%-5zu max abs. error %7.2f u, mean %6.2f u (200 rows)\n",
                    double(d.mu), double(d.sigma), n, worst / 0x1p-24, total / double(count) / 0x1p-24);
            }
    }
    if (all || what == "quant") {
        // QUANT (F.9) against round-half-even of the exact product x * inv_scale (in double), for
        // x uniform in the range the zero point and scale cover: they differ only where the binary32
        // product rounds onto or across a half-integer.
        std::mt19937 rng(4);
        uint64_t n = 0, differ = 0;
        for (int rep = 0; rep < 2000; ++rep) {
            const float inv = std::ldexp(1.0f + float(rng() % 1000000) / 1e6f, int(rng() % 16) - 8);
            const uint8_t zp = uint8_t(rng() % 256);
            std::uniform_real_distribution<float> ud(-float(zp) / inv - 1.f, float(255 - zp) / inv + 1.f);
            for (int i = 0; i < 5000; ++i) {
                const float xv = ud(rng);
                const double t = std::nearbyint(double(xv) * double(inv)) + zp; // default mode: half to even
                const int want = int(std::clamp(t, 0.0, 255.0));
                differ += fm::quantize(xv, inv, zp) != want;
                ++n;
            }
        }
        std::printf(
            "quant  %llu random x, inv_scale, zero point: %llu differ from rne(x * inv_scale) in double\n",
            (unsigned long long)n, (unsigned long long)differ);
    }
    if (all || what == "attention") {
        // FSOFTMAX with scale 1/8 on rows of N(0, 24^2) (scores of 64-dimensional N(0,1) vectors,
        // scaled as attention scales them), against softmax(x / 8) in double: max relative error
        // per element, in u = 2^-24. Then FATTENTION (T = 1, two heads of 64, scale 1/8, q, K, V
        // N(0,1)) against the same attention in long double: max |out - exact| / sum_j p_j |v_j|
        // per output (the error relative to the magnitude of the weighted sum's terms, as for dot
        // products), and the max absolute error, in u.
        std::mt19937 rng(3);
        std::normal_distribution<float> nd(0.f, 1.f);
        for (uint32_t n : {16u, 256u, 1024u, 4096u}) {
            double sm = 0;
            for (int rep = 0; rep < 100; ++rep) {
                std::vector<float> x(n);
                for (float& v : x)
                    v = fm::canon(nd(rng) * 24.f);
                const std::vector<float> y = fsoftmax_f32(x, {n, 1}, 0.125f);
                double m = -INFINITY, s = 0;
                for (float v : x)
                    m = std::max(m, double(v) / 8);
                for (float v : x)
                    s += std::exp(double(v) / 8 - m);
                for (uint32_t i = 0; i < n; ++i) {
                    const double e = std::exp(double(x[i]) / 8 - m) / s;
                    if (e > 0x1p-126) sm = std::max(sm, std::fabs(double(y[i]) - e) / e);
                }
            }
            const uint32_t heads = 2, hd = 64, D = heads * hd;
            double rel = 0, abs_err = 0;
            for (int rep = 0; rep < 10; ++rep) {
                std::vector<float> q(D), k(size_t(n) * D), v(size_t(n) * D);
                for (auto* vec : {&q, &k, &v})
                    for (float& e : *vec)
                        e = fm::canon(nd(rng));
                const std::vector<float> out = fattention_f32(q, k, v, {1, n, D, heads}, 0.125f);
                for (uint32_t h = 0; h < heads; ++h) {
                    std::vector<long double> p(n);
                    long double m = -INFINITY, s = 0;
                    for (uint32_t j = 0; j < n; ++j) {
                        long double d = 0;
                        for (uint32_t c = 0; c < hd; ++c)
                            d += (long double)q[h * hd + c] * k[size_t(j) * D + h * hd + c];
                        p[j] = d / 8;
                        m = std::max(m, p[j]);
                    }
                    for (auto& e : p)
                        s += (e = std::exp(e - m));
                    for (uint32_t c = 0; c < hd; ++c) {
                        long double exact = 0, mag = 0;
                        for (uint32_t j = 0; j < n; ++j) {
                            exact += p[j] / s * v[size_t(j) * D + h * hd + c];
                            mag += p[j] / s * std::fabs((long double)v[size_t(j) * D + h * hd + c]);
                        }
                        const double err = double(std::fabs((long double)out[h * hd + c] - exact));
                        rel = std::max(rel, err / double(mag));
                        abs_err = std::max(abs_err, err);
                    }
                }
            }
            std::printf(
                "attn   L=%-5u FSOFTMAX (scale 1/8) max rel. error %.2f u; FATTENTION (hd 64) max error "
                "%.2f u of sum p|v|, max abs. error %.2f u\n",
                n, sm / 0x1p-24, rel / 0x1p-24, abs_err / 0x1p-24);
        }
    }
    if (all || what == "sum") {
        // Fixed-order dot products of random data against the exact (long double is enough for
        // the bound check here) sum, relative to sum |a_k b_k|.
        std::mt19937 rng(1);
        std::normal_distribution<float> nd;
        for (size_t n : {16u, 256u, 4096u, 65536u}) {
            double worst = 0;
            for (int rep = 0; rep < 50; ++rep) {
                std::vector<float> a(n), b(n);
                for (size_t i = 0; i < n; ++i)
                    a[i] = nd(rng), b[i] = nd(rng);
                long double exact = 0, mag = 0;
                for (size_t i = 0; i < n; ++i) {
                    exact += (long double)a[i] * b[i];
                    mag += std::fabs((long double)a[i] * b[i]);
                }
                const float d = fm::dot(a.data(), 1, b.data(), 1, n);
                worst = std::max(worst, double(std::fabs((long double)d - exact) / mag));
            }
            std::printf("dot    K=%-6zu max |error| / sum|a b| = %.3g (%.2f eps), 50 random N(0,1) pairs\n",
                        n, worst, worst / 0x1p-24);
        }
    }
}
