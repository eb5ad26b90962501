// FATTENTION (PROTOCOL.md §12.2): causal multi-head attention of a decoder generating token after
// token. a = q (T x D: the T newest positions), b = the key cache K (L x D, L = its header rows, the
// current length), V = the value cache (a parameter row, L x D), c = out (T x D). Per head h
// (columns h*hd .. h*hd+hd-1, hd = D / heads) and query row t, which sees cached rows 0 .. L-T+t:
// scores by F.5 dot products times the f32 scale, the softmax of F.6, and the weighted sum of the
// value rows as an F.5 sum over positions (PROTOCOL.md §15 F.11). Bit for bit, each head is
// FMATMUL(q_h, K_h^T) -> FSOFTMAX(scale) -> FMATMUL(p, V_h) on the visible rows.
// P1 = (1, 1, 1, 0) (q, K, out f32; V has K's dtype), P2 = (v_row lo, hi, heads lo, hi), P3 = scale.
#include "float_ops.h"
#include "fmath.h"
#include "layout.h"

namespace px {

std::vector<Rgba> encode_params(const FAttentionParams& p) {
    return {ops::encode_dtypes(p.dtype),
            {uint8_t(p.v_row), uint8_t(p.v_row >> 8), uint8_t(p.heads), uint8_t(p.heads >> 8)},
            word_pixel(p.scale)};
}

std::vector<float> fattention_f32(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, AttentionShape s, float scale) {
    const uint32_t hd = s.D / s.heads;
    const float sc = fm::canon(scale);
    std::vector<float> out(size_t(s.T) * s.D), p(s.L);
    for (uint32_t t = 0; t < s.T; ++t)
        for (uint32_t h = 0; h < s.heads; ++h) {
            const uint32_t n = s.L - s.T + t + 1; // causal: rows 0 .. L-T+t
            const size_t col = size_t(h) * hd;
            for (uint32_t j = 0; j < n; ++j)
                p[j] = fm::mul(fm::dot(&q[size_t(t) * s.D + col], 1, &k[size_t(j) * s.D + col], 1, hd), sc);
            fm::softmax_row(p.data(), p.data(), n);
            for (uint32_t d = 0; d < hd; ++d)
                out[size_t(t) * s.D + col + d] = fm::dot(p.data(), 1, &v[col + d], s.D, n);
        }
    return out;
}

namespace ops {
namespace {
constexpr FloatDtypes kAccepted{1, 1, 1, 0};

OpParams decode(const Instruction& ins) {
    const auto& q = ins.params;
    FAttentionParams p;
    p.dtype = decode_dtypes(q[0]);
    p.v_row = uint16_t(q[1][0] | q[1][1] << 8);
    p.heads = uint16_t(q[1][2] | q[1][3] << 8);
    p.scale = pixel_word(q[2]);
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t height) {
    const auto& p = std::get<FAttentionParams>(params);
    if (std::string e = check_dtypes(ins, p.dtype, kAccepted); !e.empty()) return e;
    if (p.v_row == 0 || p.v_row >= height)
        return param_pixel_name(ins, 1) + ": value cache row " + std::to_string(p.v_row) + " is outside " +
               (height > 1 ? "data rows 1.." + std::to_string(height - 1) : std::string("the image"));
    if (p.heads == 0) return param_pixel_name(ins, 1) + ": heads is 0; it must be at least 1";
    return {}; // every scale is valid (canonicalized on use)
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const auto& q = std::get<FAttentionParams>(p.params);
    return attention_shape(p, cx, q.v_row, q.heads);
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<FAttentionParams>(params);
    static constexpr OperandKind kKinds[3] = {OperandKind::MatrixIn, OperandKind::MatrixIn,
                                              OperandKind::MatrixOut};
    return dtypes_text(nullptr, p.dtype, kKinds) + " V=row " + std::to_string(p.v_row) +
           " heads=" + std::to_string(p.heads) + " scale=" + f32_param_text(p.scale);
}

std::vector<uint32_t> rows(const OpParams& params) {
    const uint32_t row = std::get<FAttentionParams>(params).v_row;
    return row ? std::vector<uint32_t>{row} : std::vector<uint32_t>{};
}
// The row it names (V, the value cache) holds f32 elements.
std::vector<DType> row_types(const OpParams& params) {
    return std::vector<DType>(rows(params).size(), DType::F32);
}

std::array<DType, 3> types(const OpParams&) {
    return {DType::F32, DType::F32, DType::F32};
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const auto& prm = std::get<FAttentionParams>(p.params);
    // Every read before any write (§4.2): out may be q, K or V.
    const std::vector<float> q = gather_f32(image, op[0], p.shape[0]);
    const std::vector<float> k = gather_f32(image, op[1], p.shape[1]);
    const std::vector<float> v = gather_f32(image, prm.v_row, p.shape[1]);
    const AttentionShape s{p.shape[0].rows, p.shape[1].rows, p.shape[0].cols, prm.heads};
    scatter_f32(image, op[2], p.out_shape, fattention_f32(q, k, v, s, fm::from_bits(prm.scale)));
}
} // namespace

const OpDef def_FATTENTION = {Opcode::FATTENTION, decode, check,    shape, describe, rows, reference,
                              dtype_channel_text, types,  row_types};

std::optional<Trap> attention_shape(Plan& p, const PlanContext& cx, uint32_t v_row, uint32_t heads) {
    const MatrixHeader hq = p.shape[0], hk = p.shape[1];
    const auto shapes = [&] { return cx.at() + "q is " + shape_text(hq) + ", K is " + shape_text(hk); };
    if (hq.cols % heads != 0)
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, p.ins.operand[0],
                         cx.at() + "q is " + shape_text(hq) + "; heads = " + std::to_string(heads) +
                             " does not divide its " + std::to_string(hq.cols) + " columns");
    if (hk.cols != hq.cols)
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, p.ins.operand[1],
                         shapes() + "; K needs q's " + std::to_string(hq.cols) + " columns");
    if (hk.rows < hq.rows)
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, p.ins.operand[1],
                         shapes() + "; the cache length " + std::to_string(hk.rows) + " is less than the " +
                             std::to_string(hq.rows) + " query rows (append their keys and values first)");
    const MatrixHeader hv = decode_header(cx.fetch(0, v_row));
    if (!(hv == hk))
        return make_trap(TrapCode::SHAPE_MISMATCH, 0, v_row,
                         shapes() + "; V at row " + std::to_string(v_row) + " is " + shape_text(hv) +
                             ", it must be " + shape_text(hk));
    if (!matrix_fits(v_row, hv, cx.width, cx.height))
        return make_trap(TrapCode::MATRIX_OVERFLOW, 0, v_row,
                         std::string(cx.name) + " V: matrix at row " + std::to_string(v_row) + " (" +
                             shape_text(hv) + ") runs past the last row " + std::to_string(cx.height - 1));
    p.out_shape = hq;
    return std::nullopt;
}

} // namespace ops
} // namespace px
