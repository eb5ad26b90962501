// FSOFTMAX and FATTENTION (PROTOCOL.md §12, engine/vm/ops/fsoftmax.cpp, fattention.cpp): parameter
// pixels, check 7 and check 8 messages through plan_instruction, and identities the definition
// promises, checked bit for bit: attention is, head by head, FMATMUL(q_h, K_h^T) -> FSOFTMAX(scale)
// -> FMATMUL(p, V_h) on the visible rows; decoding one token at a time gives the rows of a
// prefill; the fast executor gives the reference's bytes on shapes larger than the vectors'.
// Byte-level expectations for every executor come from the NumPy model (tests/vectors/float_*).
#include "cpu_fast.h"
#include "fmath.h"
#include "ops/float_ops.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cstring>
#include <random>

using namespace px;

namespace {
using pxtest::fins;

// Canonical random values, with a share of hostile ones (NaN payloads, infinities, subnormals,
// huge magnitudes) when `hostile`.
std::vector<float> values(std::mt19937& g, size_t n, float sd, bool hostile) {
    static constexpr uint32_t kHostile[] = {0x7FC12345, 0x7F800000, 0xFF800000, 0x00000001, 0x80000000,
                                            0x7F7FFFFF, 0x5F800000, 0xDF800000, 0x00800000};
    std::normal_distribution<float> nd(0, sd);
    std::vector<float> v(n);
    for (float& x : v) {
        x = nd(g);
        if (hostile && g() % 50 == 0) x = fm::from_bits(kHostile[g() % 9]);
        x = fm::canon(x);
    }
    return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

// Attention by composing the other float opcodes' kernels, head by head and query row by row.
std::vector<float> composed(const std::vector<float>& q, const std::vector<float>& k,
                            const std::vector<float>& v, AttentionShape s, float scale) {
    const uint32_t hd = s.D / s.heads;
    std::vector<float> out(size_t(s.T) * s.D);
    for (uint32_t h = 0; h < s.heads; ++h)
        for (uint32_t t = 0; t < s.T; ++t) {
            const uint32_t n = s.L - s.T + t + 1;
            std::vector<float> qh(hd), kt(size_t(hd) * n), vh(size_t(n) * hd);
            for (uint32_t d = 0; d < hd; ++d) {
                qh[d] = q[size_t(t) * s.D + h * hd + d];
                for (uint32_t j = 0; j < n; ++j) {
                    kt[size_t(d) * n + j] = k[size_t(j) * s.D + h * hd + d]; // K_h^T
                    vh[size_t(j) * hd + d] = v[size_t(j) * s.D + h * hd + d];
                }
            }
            const std::vector<float> scores = fmatmul_f32(qh, kt, 1, hd, n, {}, 0);
            const std::vector<float> p = fsoftmax_f32(scores, {n, 1}, scale);
            const std::vector<float> o = fmatmul_f32(p, vh, 1, n, hd, {}, 0);
            std::copy(o.begin(), o.end(), out.begin() + size_t(t) * s.D + h * hd);
        }
    return out;
}

void put_f32(Image& img, uint32_t row, MatrixHeader h, const std::vector<float>& v) {
    img.set_pixel(0, row, encode_header(h));
    for (uint64_t i = 0; i < v.size(); ++i)
        img.set_pixel(element_x(i, img.width), uint32_t(element_y(i, row, img.width)),
                      word_pixel(fm::bits(v[i])));
}

std::variant<Plan, Trap> plan_at0(const Image& img) {
    return plan_instruction(image_fetch(img), img.width, img.height, 0);
}
} // namespace

TEST_CASE("FSOFTMAX and FATTENTION parameters: encode, decode, describe, rows, types") {
    FSoftmaxParams sp;
    sp.scale = 0x3E000000; // 0.125
    const auto spx = encode_params(sp);
    REQUIRE(spx.size() == 2);
    CHECK(spx[0] == Rgba{1, 0, 1, 0});
    CHECK(spx[1] == Rgba{0, 0, 0, 0x3E});
    const Instruction si = fins(Opcode::FSOFTMAX, spx);
    CHECK(describe_params(si) == "a:f32 c:f32 scale=0.125 (0x3E000000)");
    CHECK(param_rows(si).empty());
    CHECK(check_params(si, 4).empty());
    CHECK(check_params(fins(Opcode::FSOFTMAX, {{1, 1, 1, 0}, {}}), 4) ==
          "parameter pixel P1 at (1,0): operand b is declared f32 (code 1); FSOFTMAX accepts only u8 (code "
          "0) there");
    // A NaN scale is valid: it is shown canonical (the pixel's bits in parentheses).
    CHECK(describe_params(fins(Opcode::FSOFTMAX, {{1, 0, 1, 0}, {0x45, 0x23, 0xC1, 0xFF}})) ==
          "a:f32 c:f32 scale=nan (0xFFC12345)");

    FAttentionParams ap;
    ap.v_row = 300;
    ap.heads = 12;
    ap.scale = 0x3E000000;
    const auto apx = encode_params(ap);
    REQUIRE(apx.size() == 3);
    CHECK(apx[1] == Rgba{44, 1, 12, 0});
    const Instruction ai = fins(Opcode::FATTENTION, apx);
    CHECK(describe_params(ai) == "a:f32 b:f32 c:f32 V=row 300 heads=12 scale=0.125 (0x3E000000)");
    CHECK(param_rows(ai) == std::vector<uint32_t>{300});
    CHECK(check_params(ai, 301).empty());
    CHECK(check_params(ai, 300) ==
          "parameter pixel P2 at (2,0): value cache row 300 is outside data rows 1..299");
    ap.heads = 0;
    CHECK(check_params(fins(Opcode::FATTENTION, encode_params(ap)), 400) ==
          "parameter pixel P2 at (2,0): heads is 0; it must be at least 1");
    ap.heads = 256 + 3; // 16-bit: G and A of P2
    CHECK(std::get<FAttentionParams>(
              op_def(uint8_t(Opcode::FATTENTION))->decode(fins(Opcode::FATTENTION, encode_params(ap))))
              .heads == 259);

    for (Opcode op : {Opcode::FSOFTMAX, Opcode::FATTENTION}) {
        const OpDef* def = op_def(uint8_t(op));
        REQUIRE((def->operand_types != nullptr));
        const auto t = def->operand_types(def->decode(fins(op, op == Opcode::FSOFTMAX ? spx : apx)));
        CHECK(t[0] == DType::F32);
        CHECK(t[1] == (op == Opcode::FSOFTMAX ? DType::U8 : DType::F32));
        CHECK(t[2] == DType::F32);
    }
}

TEST_CASE("FATTENTION check 8: each wrong shape traps at the header responsible, with a message") {
    // q 1x4 at row 1, K 2x4 at row 3, V 2x4 at row 7, out at row 11 (a 6-wide image).
    auto build = [](MatrixHeader hq, MatrixHeader hk, MatrixHeader hv, uint16_t heads) {
        Image img = make_image(6, 16);
        put_f32(img, 1, hq, std::vector<float>(hq.elements(), 1.0f));
        put_f32(img, 3, hk, std::vector<float>(hk.elements(), 1.0f));
        put_f32(img, 7, hv, std::vector<float>(hv.elements(), 1.0f));
        img.set_pixel(0, 0, {uint8_t(Opcode::FATTENTION), 1, 3, 11});
        FAttentionParams p;
        p.v_row = 7;
        p.heads = heads;
        const auto px = encode_params(p);
        for (size_t k = 0; k < px.size(); ++k)
            img.set_pixel(1 + uint32_t(k), 0, px[k]);
        return img;
    };
    auto trap = [](const Image& img) {
        auto r = plan_at0(img);
        REQUIRE(std::holds_alternative<Trap>(r));
        return std::get<Trap>(r);
    };
    Trap t = trap(build({4, 1}, {4, 2}, {4, 2}, 3));
    CHECK(t.code == TrapCode::SHAPE_MISMATCH);
    CHECK(t.y == 1);
    CHECK(t.message == "FATTENTION at pixel (0,0): q is 1x4; heads = 3 does not divide its 4 columns");
    t = trap(build({4, 1}, {2, 2}, {4, 2}, 1));
    CHECK(t.y == 3);
    CHECK(t.message == "FATTENTION at pixel (0,0): q is 1x4, K is 2x2; K needs q's 4 columns");
    t = trap(build({4, 3}, {4, 2}, {4, 2}, 2));
    CHECK(t.y == 3);
    CHECK(t.message == "FATTENTION at pixel (0,0): q is 3x4, K is 2x4; the cache length 2 is less than the 3 "
                       "query rows (append their keys and values first)");
    t = trap(build({4, 1}, {4, 2}, {4, 3}, 4));
    CHECK(t.y == 7);
    CHECK(t.message == "FATTENTION at pixel (0,0): q is 1x4, K is 2x4; V at row 7 is 3x4, it must be 2x4");
    auto ok = plan_at0(build({4, 2}, {4, 2}, {4, 2}, 4));
    REQUIRE(std::holds_alternative<Plan>(ok));
    CHECK(std::get<Plan>(ok).out_shape == MatrixHeader{4, 2});
}

TEST_CASE("FATTENTION is, head by head, FMATMUL -> FSOFTMAX -> FMATMUL on the visible rows, bit for bit") {
    std::mt19937 g(2512);
    struct Shape {
        uint32_t T, L, heads, hd;
    };
    for (const Shape sh : {Shape{1, 1, 1, 1}, Shape{1, 7, 2, 3}, Shape{3, 3, 1, 16}, Shape{4, 37, 3, 17},
                           Shape{2, 90, 4, 33}, Shape{1, 200, 12, 5}}) {
        for (bool hostile : {false, true}) {
            const AttentionShape s{sh.T, sh.L, sh.heads * sh.hd, sh.heads};
            INFO("T=" << s.T << " L=" << s.L << " D=" << s.D << " heads=" << s.heads
                      << " hostile=" << hostile);
            const auto q = values(g, size_t(s.T) * s.D, 1.5f, hostile);
            const auto k = values(g, size_t(s.L) * s.D, 1.5f, hostile);
            const auto v = values(g, size_t(s.L) * s.D, 1.0f, hostile);
            for (float scale : {1.0f, 0.125f, fm::from_bits(0x3EB504F3), 0.0f, -2.0f}) {
                CHECK(same_bits(fattention_f32(q, k, v, s, scale), composed(q, k, v, s, scale)));
            }
        }
    }
}

TEST_CASE("FATTENTION: decoding one token at a time gives the rows of the prefill") {
    std::mt19937 g(31);
    const uint32_t L = 21, heads = 2, hd = 8, D = heads * hd;
    const auto q = values(g, size_t(L) * D, 1.0f, false);
    const auto k = values(g, size_t(L) * D, 1.0f, false);
    const auto v = values(g, size_t(L) * D, 1.0f, false);
    const float scale = fm::from_bits(0x3EB504F3); // 1/sqrt(8)
    const auto prefill = fattention_f32(q, k, v, {L, L, D, heads}, scale);
    for (uint32_t t = 0; t < L; ++t) {
        // The cache holds positions 0 .. t; the one query is position t.
        const std::vector<float> qt(q.begin() + size_t(t) * D, q.begin() + size_t(t + 1) * D);
        const std::vector<float> kt(k.begin(), k.begin() + size_t(t + 1) * D);
        const std::vector<float> vt(v.begin(), v.begin() + size_t(t + 1) * D);
        const auto one = fattention_f32(qt, kt, vt, {1, t + 1, D, heads}, scale);
        CHECK(same_bits(
            one, std::vector<float>(prefill.begin() + size_t(t) * D, prefill.begin() + size_t(t + 1) * D)));
    }
}

TEST_CASE("FSOFTMAX: scale 1 is the F.6 softmax; ties give equal bits; each row sums to about 1") {
    std::mt19937 g(7);
    const MatrixHeader h{300, 3};
    auto x = values(g, h.elements(), 5.0f, false);
    x[10] = x[20] = x[30]; // ties within row 0
    const auto y = fsoftmax_f32(x, h, 1.0f);
    for (uint32_t r = 0; r < h.rows; ++r) {
        std::vector<float> want(h.cols);
        fm::softmax_row(&x[size_t(r) * h.cols], want.data(), h.cols);
        CHECK(std::memcmp(want.data(), &y[size_t(r) * h.cols], 4 * h.cols) == 0);
        double s = 0;
        for (uint32_t i = 0; i < h.cols; ++i)
            s += y[size_t(r) * h.cols + i];
        CHECK(std::abs(s - 1.0) < 1e-5);
    }
    CHECK(fm::bits(y[10]) == fm::bits(y[20]));
    CHECK(fm::bits(y[20]) == fm::bits(y[30]));
    // A scale multiplies first: scale 0.5 on x is scale 1 on mul(x, 0.5).
    std::vector<float> half(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        half[i] = fm::mul(x[i], 0.5f);
    CHECK(same_bits(fsoftmax_f32(x, h, 0.5f), fsoftmax_f32(half, h, 1.0f)));
}

TEST_CASE("FSOFTMAX and FATTENTION: the fast executor gives the reference's bytes on large shapes") {
    std::mt19937 g(99);
    const uint32_t T = 5, L = 300, heads = 4, hd = 40, D = heads * hd, width = 97;
    Image img = make_image(width, 64);
    auto rows = [&](uint64_t n) { return uint32_t((n + width - 2) / (width - 1)); };
    const uint32_t rq = 1, rk = rq + rows(T * D), rv = rk + rows(L * D), ro = rv + rows(L * D);
    const uint32_t rs = ro + rows(T * D);
    img = make_image(width, rs + rows(T * D) + 1);
    put_f32(img, rq, {D, T}, values(g, T * D, 1.0f, true));
    put_f32(img, rk, {D, L}, values(g, L * D, 1.0f, true));
    put_f32(img, rv, {D, L}, values(g, L * D, 1.0f, true));
    FAttentionParams ap;
    ap.v_row = uint16_t(rv);
    ap.heads = heads;
    ap.scale = fm::bits(0.158113883f);
    FSoftmaxParams sp;
    sp.scale = fm::bits(0.5f);
    uint32_t x = 0;
    auto emit = [&](Opcode op, uint32_t a, uint32_t b, uint32_t c, const std::vector<Rgba>& params) {
        img.set_pixel(x, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        for (size_t k = 0; k < params.size(); ++k)
            img.set_pixel(x + 1 + uint32_t(k), 0, params[k]);
        x += 1 + uint32_t(params.size());
    };
    emit(Opcode::FATTENTION, rq, rk, ro, encode_params(ap));
    emit(Opcode::FSOFTMAX, ro, 0, rs, encode_params(sp));
    emit(Opcode::FATTENTION, rq, rk, rq, encode_params(ap)); // out over q
    emit(Opcode::HALT, 0, 0, 0, {});
    VmState ref = make_vm(img);
    run(ref);
    REQUIRE(ref.status == VmStatus::Halted);
    for (unsigned threads : {1u, 3u}) {
        VmState fast = make_vm(img);
        RunOptions opt;
        opt.execute = fast_executor({threads, 0});
        run(fast, opt);
        CHECK(fast.registers() == ref.registers());
        CHECK(fast.image.rgba == ref.image.rgba);
    }
}
