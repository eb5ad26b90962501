// Tests of shaders/fmath.glsl: every float definition runs on the GPU over a large, hostile input
// set (every class of special value, NaN payloads, subnormals, the flush boundary 2^-126,
// overflow, function thresholds, values where an fma would differ from mul + add, sums with huge
// K) and must give the same bits as engine/fmath.h, the C++ reference. Named gl_ so that ctest
// links it with the GL executor library and reports it skipped (77) without an OpenGL 4.3 context.
#include "fmath.h"
#include "gl_objects.h"
#include "gl_shaders.h"
#include "gl_test_util.h"
#include "test_util.h"

#include <epoxy/gl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace px;
using namespace pxtest;

namespace {

// The kernel: function u_fn on u_count items. Unary/binary items read data[u_in0 + i] (and
// data[u_in1 + i]) and write data[u_out + i]; row items read an 8-word descriptor at
// data[u_in0 + 8 i].
const char* kKernel = R"(#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Data { uint data[]; };
#define FM_ROW_BUFFER data
#include "fmath.glsl"
uniform uint u_fn, u_count, u_in0, u_in1, u_out;
void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
    if (i >= u_count) return;
    uint a = data[u_in0 + i], b = data[u_in1 + i];
    uint r = 0u;
    switch (u_fn) {
    case 0u: r = fm_canon(a); break;
    case 1u: r = fm_add(fm_canon(a), fm_canon(b)); break;
    case 2u: r = fm_sub(fm_canon(a), fm_canon(b)); break;
    case 3u: r = fm_mul(fm_canon(a), fm_canon(b)); break;
    case 4u: r = fm_exp(a); break;
    case 5u: r = fm_tanh(a); break;
    case 6u: r = fm_gelu(a); break;
    case 7u: r = fm_recip(a); break;
    case 8u: r = fm_rsqrt(a); break;
    case 9u: r = fm_to_f16(a); break;
    case 10u: r = fm_from_f16(a & 0xFFFFu); break;
    case 16u: r = fm_from_i32_rne(int(a)); break;
    case 11u: {
        uint h, l;
        fm_two_product(fm_canon(a), fm_canon(b), h, l);
        data[u_out + 2u * i] = h;
        data[u_out + 2u * i + 1u] = l;
        return;
    }
    case 12u: { // dot: descriptor (a, stride_a, b, stride_b, n, out)
        uint d = u_in0 + 8u * i;
        data[data[d + 5u]] = fm_dot_range(data[d], data[d + 1u], data[d + 2u], data[d + 3u], data[d + 4u]);
        return;
    }
    case 13u: { // sum: (t, stride, n, out)
        uint d = u_in0 + 8u * i;
        data[data[d + 3u]] = fm_sum_range(data[d], data[d + 1u], data[d + 2u]);
        return;
    }
    case 14u: { // softmax: (x, out, n)
        uint d = u_in0 + 8u * i;
        fm_softmax_row(data[d], data[d + 1u], data[d + 2u]);
        return;
    }
    case 15u: { // layer norm: (x, gain, bias, eps bits, out, n)
        uint d = u_in0 + 8u * i;
        fm_layernorm_row(data[d], data[d + 1u], data[d + 2u], data[d + 3u], data[d + 4u], data[d + 5u]);
        return;
    }
    }
    data[u_out + i] = r;
}
)";

struct Kernel {
    gl::Program prog;
    gl::Buffer buf;
};

Kernel& kernel() {
    static Kernel* k = [] {
        gl_context();
        auto files = gl::embedded_shader_files();
        files.push_back({"fmath_test.comp", kKernel});
        auto src = gl::assemble_shader(files, "fmath_test.comp");
        REQUIRE_MESSAGE(src.ok(), (src.ok() ? "" : src.error().message));
        const GLuint sh = glCreateShader(GL_COMPUTE_SHADER);
        const char* text = src->c_str();
        glShaderSource(sh, 1, &text, nullptr);
        glCompileShader(sh);
        GLint ok = 0;
        glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
        std::string log(8192, '\0');
        glGetShaderInfoLog(sh, GLsizei(log.size()), nullptr, log.data());
        REQUIRE_MESSAGE(ok, "fmath_test.comp: " << log.c_str());
        auto* out = new Kernel;
        out->prog.reset(glCreateProgram());
        glAttachShader(out->prog.get(), sh);
        glLinkProgram(out->prog.get());
        glDeleteShader(sh);
        glGetProgramiv(out->prog.get(), GL_LINK_STATUS, &ok);
        REQUIRE(ok);
        GLuint b = 0;
        glCreateBuffers(1, &b);
        out->buf.reset(b);
        return out;
    }();
    return *k;
}

// Runs function `fn` over `count` items with the data buffer `data`; returns the buffer after.
std::vector<uint32_t> run(uint32_t fn, uint32_t count, uint32_t in0, uint32_t in1, uint32_t out,
                          const std::vector<uint32_t>& data) {
    Kernel& k = kernel();
    glNamedBufferData(k.buf.get(), GLsizeiptr(data.size() * 4), data.data(), GL_DYNAMIC_COPY);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, k.buf.get());
    glUseProgram(k.prog.get());
    auto set = [&](const char* name, uint32_t v) {
        glUniform1ui(glGetUniformLocation(k.prog.get(), name), v);
    };
    set("u_fn", fn);
    set("u_count", count);
    set("u_in0", in0);
    set("u_in1", in1);
    set("u_out", out);
    const uint32_t groups = (count + 63) / 64;
    glDispatchCompute(std::min<uint32_t>(groups, 65535), (groups + 65534) / 65535, 1);
    glMemoryBarrier(GL_BUFFER_UPDATE_BARRIER_BIT);
    std::vector<uint32_t> back(data.size());
    glGetNamedBufferSubData(k.buf.get(), 0, GLsizeiptr(back.size() * 4), back.data());
    REQUIRE(glGetError() == GL_NO_ERROR);
    return back;
}

// The hostile input set: specials of every kind, then thresholds, then random values.
std::vector<uint32_t> inputs() {
    std::vector<uint32_t> v = {
        0x00000000, 0x80000000,                         // +-0
        0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, // subnormals
        0x00400000, 0x00800000, 0x80800000,             // 2^-126 (flushed)
        0x00800001, 0x80800001, 0x00800002,             // just above the flush boundary
        0x7F800000, 0xFF800000,                         // +-inf
        0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, // NaNs: quiet, signalling, payloads
        0x7FC12345, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FA00000,
        0x7F7FFFFF, 0xFF7FFFFF, 0x7F000000, 0x5F800000, // FLT_MAX, 2^127, 2^64
        0x3F800000, 0xBF800000, 0x3F000000, 0x40000000, // 1, -1, 0.5, 2
        0x3F800001, 0x3F7FFFFF, 0x3EFFFFFF, 0x3F000001, // around 1 and 0.5
        0x42B17217, 0x42B17218, 0x42B20000, 0x42B1FFFF, // e^x overflow boundary, 89
        0xC2AEAC4F, 0xC2AEAC50, 0xC2D00000, 0xC2CFFFFF, // e^x flush boundary, -104
        0x41200000, 0x411FFFFF, 0xC1200000,             // tanh: 10
        0x33800000, 0x39800000, 0xB3800000,             // tiny: 2^-24, 2^-12
        0x7E800000, 0x7E7FFFFF, 0x00FFFFFF, 0x01000000, // recip range ends
        0x477FE000, 0x477FF000, 0x477FEFFF, 0x33000000, // f16: 65504, 65520 (-> inf), tie below
        0x33000001, 0x387FC000, 0x38800000, 0x387FE000, // f16 subnormal ties and boundary
    };
    // Every power of two, both signs, and its neighbours.
    for (uint32_t e = 1; e < 255; ++e)
        for (uint32_t d : {0u, 1u, 0x7FFFFFu})
            for (uint32_t s : {0u, 0x80000000u})
                v.push_back(s | e << 23 | d);
    std::mt19937 rng(13);
    std::uniform_int_distribution<uint32_t> bits;
    std::uniform_real_distribution<float> wide(-120.f, 120.f), narrow(-3.f, 3.f);
    for (int i = 0; i < 40000; ++i)
        v.push_back(bits(rng));
    for (int i = 0; i < 40000; ++i)
        v.push_back(fm::bits(wide(rng)));
    for (int i = 0; i < 40000; ++i)
        v.push_back(fm::bits(narrow(rng)));
    for (uint32_t h = 0; h < 65536; h += 3)
        v.push_back(fm::bits(fm::from_f16(uint16_t(h))) + (h % 7) - 3);
    return v;
}

size_t compare(const char* what, const std::vector<uint32_t>& gpu, const std::vector<uint32_t>& cpu,
               const std::vector<uint32_t>& in0, const std::vector<uint32_t>* in1 = nullptr) {
    size_t bad = 0;
    for (size_t i = 0; i < cpu.size(); ++i)
        if (gpu[i] != cpu[i] && ++bad <= 5) {
            char msg[200];
            std::snprintf(msg, sizeof msg, "%s(0x%08X%s%s): cpu 0x%08X gl 0x%08X", what, in0[i],
                          in1 ? ", " : "", in1 ? std::to_string((*in1)[i]).c_str() : "", cpu[i], gpu[i]);
            FAIL_CHECK(msg);
        }
    return bad;
}

} // namespace

TEST_CASE("unary functions: GL bits equal the C++ definitions on the hostile input set") {
    const std::vector<uint32_t> x = inputs();
    const uint32_t n = uint32_t(x.size());
    std::vector<uint32_t> data = x;
    data.resize(2 * size_t(n));
    using F = float (*)(float);
    struct Case {
        const char* name;
        uint32_t fn;
        F f;
    };
    const Case cases[] = {{"canon", 0, fm::canon}, {"exp", 4, fm::exp},     {"tanh", 5, fm::tanh},
                          {"gelu", 6, fm::gelu},   {"recip", 7, fm::recip}, {"rsqrt", 8, fm::rsqrt}};
    for (const Case& c : cases) {
        const auto back = run(c.fn, n, 0, 0, n, data);
        std::vector<uint32_t> gpu(back.begin() + n, back.end()), cpu(n);
        for (uint32_t i = 0; i < n; ++i)
            cpu[i] = fm::bits(c.f(fm::from_bits(x[i])));
        CHECK_MESSAGE(compare(c.name, gpu, cpu, x) == 0, c.name << " over " << n << " inputs");
    }
    // float16 both ways: every input to f16, every f16 pattern back.
    {
        const auto back = run(9, n, 0, 0, n, data);
        std::vector<uint32_t> gpu(back.begin() + n, back.end()), cpu(n);
        for (uint32_t i = 0; i < n; ++i)
            cpu[i] = fm::to_f16(fm::from_bits(x[i]));
        CHECK(compare("to_f16", gpu, cpu, x) == 0);
    }
    {
        std::vector<uint32_t> h(65536 * 2);
        for (uint32_t i = 0; i < 65536; ++i)
            h[i] = i;
        const auto back = run(10, 65536, 0, 0, 65536, h);
        std::vector<uint32_t> gpu(back.begin() + 65536, back.end()), cpu(65536),
            in(h.begin(), h.begin() + 65536);
        for (uint32_t i = 0; i < 65536; ++i)
            cpu[i] = fm::bits(fm::from_f16(uint16_t(i)));
        CHECK(compare("from_f16", gpu, cpu, in) == 0);
    }
}

// DEQUANT of i32 (PROTOCOL.md §16.4) converts int32 to binary32 by hand in GLSL (ties to even); the
// C++ conversion of the host is IEEE round to nearest even. Every power of two and its neighbours
// (the ties sit at 2^k + 2^(k-24) and 2^k + 3 * 2^(k-24)), both signs, and the hostile bit set.
TEST_CASE("int32 to float32, ties to even: GL bits equal the host's conversion") {
    std::vector<uint32_t> x = inputs();
    for (uint32_t k = 0; k < 32; ++k)
        for (int64_t d = -5; d <= 5; ++d)
            for (int64_t near : {int64_t(1) << k, (int64_t(1) << k) + (k > 24 ? int64_t(1) << (k - 24) : 0),
                                 (int64_t(1) << k) + (k > 24 ? int64_t(3) << (k - 24) : 0)})
                for (int64_t s : {int64_t(1), int64_t(-1)})
                    x.push_back(uint32_t(int32_t(std::clamp<int64_t>(s * (near + d), INT32_MIN, INT32_MAX))));
    const uint32_t n = uint32_t(x.size());
    std::vector<uint32_t> data = x;
    data.resize(2 * size_t(n));
    const auto back = run(16, n, 0, 0, n, data);
    std::vector<uint32_t> gpu(back.begin() + n, back.end()), cpu(n);
    for (uint32_t i = 0; i < n; ++i)
        cpu[i] = fm::bits(float(int32_t(x[i])));
    CHECK_MESSAGE(compare("from_i32_rne", gpu, cpu, x) == 0, "over " << n << " inputs");
}

TEST_CASE("add, sub, mul and the exact product: GL bits equal C++ on special and rounding-sensitive pairs") {
    const std::vector<uint32_t> x = inputs();
    std::vector<uint32_t> a, b;
    // Every pair of the first 60 (all the special values), then random pairs of the whole set.
    for (size_t i = 0; i < 60; ++i)
        for (size_t j = 0; j < 60; ++j)
            a.push_back(x[i]), b.push_back(x[j]);
    std::mt19937 rng(7);
    for (int i = 0; i < 60000; ++i)
        a.push_back(x[rng() % x.size()]), b.push_back(x[rng() % x.size()]);
    // Ties: 1 + 2^-12 squared is 1 + 2^-11 + 2^-24, halfway between two floats (rounds to even);
    // products that overflow, and sums that cancel to subnormals.
    for (uint32_t d = 0; d < 64; ++d) {
        a.push_back(0x3F800000u + (1u << 11) + d), b.push_back(0x3F800000u + (1u << 11) - d);
        a.push_back(0x5F800000u + d), b.push_back(0x5F800000u + 3 * d);
        a.push_back(0x00800000u + 7 * d + 1), b.push_back(0x80800000u + 5 * d + 2);
    }
    const uint32_t n = uint32_t(a.size());
    std::vector<uint32_t> data = a;
    data.insert(data.end(), b.begin(), b.end());
    data.resize(size_t(n) * 4);
    for (uint32_t fn : {1u, 2u, 3u}) {
        const auto back = run(fn, n, 0, n, 2 * n, data);
        std::vector<uint32_t> gpu(back.begin() + 2 * n, back.begin() + 3 * n), cpu(n);
        for (uint32_t i = 0; i < n; ++i) {
            const float fa = fm::canon(fm::from_bits(a[i])), fb = fm::canon(fm::from_bits(b[i]));
            cpu[i] = fm::bits(fn == 1 ? fm::add(fa, fb) : fn == 2 ? fm::sub(fa, fb) : fm::mul(fa, fb));
        }
        CHECK_MESSAGE(compare(fn == 1 ? "add" : fn == 2 ? "sub" : "mul", gpu, cpu, a, &b) == 0, "op " << fn);
    }
    // Dekker's product on finite operands in a range where it is exact (recip and rsqrt's use).
    std::vector<uint32_t> pa, pb;
    std::uniform_real_distribution<float> u(0.25f, 4.f);
    for (int i = 0; i < 20000; ++i)
        pa.push_back(fm::bits(u(rng))), pb.push_back(fm::bits(u(rng)));
    const uint32_t m = uint32_t(pa.size());
    std::vector<uint32_t> pd = pa;
    pd.insert(pd.end(), pb.begin(), pb.end());
    pd.resize(size_t(m) * 4);
    const auto back = run(11, m, 0, m, 2 * m, pd);
    size_t bad = 0;
    for (uint32_t i = 0; i < m; ++i) {
        const fm::TwoProduct p = fm::two_product(fm::from_bits(pa[i]), fm::from_bits(pb[i]));
        bad += back[2 * m + 2 * i] != fm::bits(p.h) || back[2 * m + 2 * i + 1] != fm::bits(p.l);
        // The pair is the exact product (checked in double, which holds 48-bit products exactly).
        CHECK(double(p.h) + double(p.l) == double(fm::from_bits(pa[i])) * double(fm::from_bits(pb[i])));
    }
    CHECK(bad == 0);
}

namespace {

// Rows for the reductions: (length, generator) chosen to cover every block shape, huge K,
// cancellation, fma-sensitive products, overflow and specials in the middle of a row.
std::vector<std::vector<float>> reduction_rows(std::mt19937& rng) {
    std::normal_distribution<float> nd;
    std::vector<std::vector<float>> rows;
    for (size_t n : {0u, 1u, 2u, 15u, 16u, 17u, 31u, 32u, 33u, 100u, 255u, 1000u, 4096u, 65539u}) {
        std::vector<float> r(n);
        for (float& f : r)
            f = nd(rng) * 100.f;
        rows.push_back(r);
    }
    // Cancellation: big, small, -big, interleaved so that order matters.
    std::vector<float> c;
    for (int i = 0; i < 300; ++i)
        c.push_back(i % 3 == 0 ? 1e8f : i % 3 == 1 ? 1.f : -1e8f);
    rows.push_back(c);
    // Overflow to inf within a block and across blocks; a NaN payload; an inf in the middle; -inf.
    rows.push_back(std::vector<float>(40, 3e38f));
    std::vector<float> s(50, 1.f);
    s[20] = fm::from_bits(0x7FC12345u);
    rows.push_back(s);
    s[20] = fm::from_bits(fm::kPosInf);
    rows.push_back(s);
    s[21] = fm::from_bits(fm::kNegInf);
    rows.push_back(s);
    // Subnormals among normals (flushed on load).
    std::vector<float> d(40, 1e-38f);
    d[3] = fm::from_bits(0x00000005u);
    d[9] = fm::from_bits(0x80400000u);
    rows.push_back(d);
    return rows;
}

} // namespace

TEST_CASE("dot and sum in the fixed order: GL bits equal C++ for every block shape and huge K") {
    std::mt19937 rng(21);
    const auto rows = reduction_rows(rng);
    // Buffer: descriptors, then for each row a and b (b = row reversed, plus an fma-sensitive pair
    // (1 + 2^-12) * (1 + 2^-12) - (1 + 2^-11) whose exact value is 2^-24 but mul + add gives 0).
    std::vector<uint32_t> data;
    std::vector<float> expect_dot, expect_sum;
    std::vector<uint32_t> outs_dot, outs_sum;
    const uint32_t base = uint32_t(rows.size()) * 8;
    const uint32_t sum_desc = base; // the sum descriptors follow the dot ones
    data.resize(base * 2 + 16);
    for (size_t r = 0; r < rows.size(); ++r) {
        std::vector<float> a = rows[r], b(rows[r].rbegin(), rows[r].rend());
        if (a.size() >= 2) {
            a[0] = fm::from_bits(0x3F800800u), b[0] = fm::from_bits(0x3F800800u);
            a[1] = fm::from_bits(0x3F801000u), b[1] = -1.0f;
        }
        const uint32_t pa = uint32_t(data.size());
        for (float f : a)
            data.push_back(fm::bits(f));
        const uint32_t pb = uint32_t(data.size());
        // b stored with stride 2 (a matrix column), junk in between.
        for (float f : b)
            data.push_back(fm::bits(f)), data.push_back(0xDEADBEEFu);
        const uint32_t od = uint32_t(data.size());
        data.push_back(0);
        const uint32_t os = uint32_t(data.size());
        data.push_back(0);
        const uint32_t n = uint32_t(a.size());
        const uint32_t dd[8] = {pa, 1, pb, 2, n, od, 0, 0};
        std::copy(dd, dd + 8, data.begin() + 8 * r);
        const uint32_t sd[8] = {pb, 2, n, os, 0, 0, 0, 0};
        std::copy(sd, sd + 8, data.begin() + sum_desc + 8 * r);
        expect_dot.push_back(fm::dot(a.data(), 1, b.data(), 1, n));
        expect_sum.push_back(fm::sum(b.data(), n));
        outs_dot.push_back(od);
        outs_sum.push_back(os);
    }
    const auto d1 = run(12, uint32_t(rows.size()), 0, 0, 0, data);
    const auto d2 = run(13, uint32_t(rows.size()), sum_desc, 0, 0, data);
    for (size_t r = 0; r < rows.size(); ++r) {
        INFO("row " << r << " of " << rows[r].size());
        CHECK(d1[outs_dot[r]] == fm::bits(expect_dot[r]));
        CHECK(d2[outs_sum[r]] == fm::bits(expect_sum[r]));
    }
    // The fma-sensitive pair really is one: the first two products cancel to 0 under mul + add.
    const float a2[2] = {fm::from_bits(0x3F800800u), fm::from_bits(0x3F801000u)};
    const float b2[2] = {fm::from_bits(0x3F800800u), -1.0f};
    CHECK(fm::dot(a2, 1, b2, 1, 2) == 0.0f);
}

TEST_CASE("softmax and layer norm rows: GL bits equal C++") {
    std::mt19937 rng(34);
    std::normal_distribution<float> nd;
    std::vector<std::vector<float>> rows;
    for (size_t n : {1u, 2u, 7u, 16u, 17u, 64u, 100u, 768u, 3000u}) {
        std::vector<float> r(n);
        for (float& f : r)
            f = nd(rng) * 4.f;
        rows.push_back(r);
    }
    rows.push_back(std::vector<float>(33, 2.5f));                      // ties: all equal
    rows.push_back({1e30f, -1e30f, 88.f, 0.f, 1e30f});                 // max ties, huge spread
    rows.push_back({1.f, fm::from_bits(0xFFC00001u), 2.f});            // NaN payload
    rows.push_back({1.f, fm::from_bits(fm::kPosInf), 2.f});            // +inf
    rows.push_back(std::vector<float>(5, fm::from_bits(fm::kNegInf))); // all -inf
    rows.push_back({fm::from_bits(0x00000007u), 0.f, -0.f, 1e-38f});   // subnormal and zeros
    std::vector<uint32_t> data(rows.size() * 8, 0);
    std::vector<std::vector<float>> want_sm, want_ln;
    std::vector<uint32_t> out_sm, out_ln;
    const uint32_t ln_desc = uint32_t(data.size());
    data.resize(data.size() * 2);
    for (size_t r = 0; r < rows.size(); ++r) {
        const auto& x = rows[r];
        const uint32_t n = uint32_t(x.size());
        std::vector<float> g(n), b(n);
        for (uint32_t i = 0; i < n; ++i)
            g[i] = 1.f + 0.1f * nd(rng), b[i] = 0.1f * nd(rng);
        auto put = [&](const std::vector<float>& v) {
            const uint32_t at = uint32_t(data.size());
            for (float f : v)
                data.push_back(fm::bits(f));
            return at;
        };
        const uint32_t px = put(x), pg = put(g), pb = put(b), osm = put(x), oln = put(x);
        const uint32_t eps = fm::bits(1e-5f);
        const uint32_t sd[8] = {px, osm, n};
        std::copy(sd, sd + 8, data.begin() + 8 * r);
        const uint32_t ld[8] = {px, pg, pb, eps, oln, n};
        std::copy(ld, ld + 8, data.begin() + ln_desc + 8 * r);
        std::vector<float> y(n), z(n);
        fm::softmax_row(x.data(), y.data(), n);
        fm::layernorm_row(x.data(), g.data(), b.data(), 1e-5f, z.data(), n);
        want_sm.push_back(y);
        want_ln.push_back(z);
        out_sm.push_back(osm);
        out_ln.push_back(oln);
    }
    const auto s = run(14, uint32_t(rows.size()), 0, 0, 0, data);
    const auto l = run(15, uint32_t(rows.size()), ln_desc, 0, 0, data);
    for (size_t r = 0; r < rows.size(); ++r) {
        INFO("row " << r << " of " << rows[r].size());
        size_t bad_s = 0, bad_l = 0;
        for (size_t i = 0; i < rows[r].size(); ++i) {
            bad_s += s[out_sm[r] + i] != fm::bits(want_sm[r][i]);
            bad_l += l[out_ln[r] + i] != fm::bits(want_ln[r][i]);
        }
        CHECK(bad_s == 0);
        CHECK(bad_l == 0);
    }
}

TEST_CASE("the NumPy model's vectors give the same bits on the GPU") {
    // The same files tests/fmath_test.cpp checks the C++ against: the GPU against the independent
    // model directly, not only through the C++.
    struct U {
        const char* file;
        uint32_t fn;
    };
    for (const U& u :
         {U{"fmath_canon", 0}, U{"fmath_exp", 4}, U{"fmath_tanh", 5}, U{"fmath_gelu", 6}, U{"fmath_recip", 7},
          U{"fmath_rsqrt", 8}, U{"fmath_to_f16", 9}, U{"fmath_from_f16", 10}}) {
        std::ifstream in(source_path(std::string("tests/vectors/fmath/") + u.file + ".json"));
        REQUIRE_MESSAGE(in.good(), u.file);
        const nlohmann::json j = nlohmann::json::parse(in);
        std::vector<uint32_t> x, want;
        for (const auto& c : j.at("cases")) {
            x.push_back(uint32_t(std::stoul(c[0].get<std::string>(), nullptr, 16)));
            want.push_back(uint32_t(std::stoul(c[1].get<std::string>(), nullptr, 16)));
        }
        const uint32_t n = uint32_t(x.size());
        std::vector<uint32_t> data = x;
        data.resize(2 * size_t(n));
        const auto back = run(u.fn, n, 0, 0, n, data);
        CHECK_MESSAGE(compare(u.file, std::vector<uint32_t>(back.begin() + n, back.end()), want, x) == 0,
                      std::string(u.file));
    }
}
