// QATTENTION (PROTOCOL.md §16.3): FATTENTION's causal multi-head attention (§12.2: the same
// operands, shapes, checks, head split and causal rule) on uint8 codes in integers only: int32
// scores, the max subtracted exactly, requantized to a fixed point with F = 16 fraction bits,
// I-BERT's i-exp, probabilities floor(e * 2^22 / sum e), the weighted sum of V - zv in int32 and one
// requantization to the output code. P1 = (zq, zk, zv, zc), P2 = (v_row lo, hi, heads lo, hi),
// P3 = Ms, P4 = Mo (int32), P5 = (shift_s, shift_o, clamp_lo, clamp_hi). The arithmetic is
// qint::qattention_u8 (ops/qint_ops.h).
#include "layout.h"
#include "qint_ops.h"

namespace px {

std::vector<Rgba> encode_params(const QAttentionParams& p) {
    return {{p.zq, p.zk, p.zv, p.zc},
            {uint8_t(p.v_row), uint8_t(p.v_row >> 8), uint8_t(p.heads), uint8_t(p.heads >> 8)},
            i32_to_rgba(p.ms),
            i32_to_rgba(p.mo),
            {p.shift_s, p.shift_o, p.clamp_lo, p.clamp_hi}};
}

namespace ops {
namespace {
OpParams decode(const Instruction& ins) {
    const auto& q = ins.params;
    QAttentionParams p;
    p.zq = q[0][0], p.zk = q[0][1], p.zv = q[0][2], p.zc = q[0][3];
    p.v_row = uint16_t(q[1][0] | q[1][1] << 8);
    p.heads = uint16_t(q[1][2] | q[1][3] << 8);
    p.ms = rgba_to_i32(q[2]);
    p.mo = rgba_to_i32(q[3]);
    p.shift_s = q[4][0], p.shift_o = q[4][1], p.clamp_lo = q[4][2], p.clamp_hi = q[4][3];
    return p;
}

std::string check_shift_of(const Instruction& ins, const char* what, uint32_t shift) {
    if (shift < 1 || shift > 62)
        return param_pixel_name(ins, 4) + ": " + what + " " + std::to_string(shift) + " is outside 1..62";
    return {};
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t height) {
    const auto& p = std::get<QAttentionParams>(params);
    if (p.v_row == 0 || p.v_row >= height)
        return param_pixel_name(ins, 1) + ": value cache row " + std::to_string(p.v_row) + " is outside " +
               (height > 1 ? "data rows 1.." + std::to_string(height - 1) : std::string("the image"));
    if (p.heads == 0) return param_pixel_name(ins, 1) + ": heads is 0; it must be at least 1";
    for (std::string e :
         {check_multiplier(ins, 2, "Ms", p.ms), check_multiplier(ins, 3, "Mo", p.mo),
          check_shift_of(ins, "shift_s", p.shift_s), check_shift_of(ins, "shift_o", p.shift_o),
          check_clamp(ins, 4, p.clamp_lo, p.clamp_hi)})
        if (!e.empty()) return e;
    return {};
}

// Check 8 exactly as FATTENTION's (§12.2).
std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    const auto& q = std::get<QAttentionParams>(p.params);
    return attention_shape(p, cx, q.v_row, q.heads);
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<QAttentionParams>(params);
    return "zq=" + std::to_string(p.zq) + " zk=" + std::to_string(p.zk) + " zv=" + std::to_string(p.zv) +
           " zc=" + std::to_string(p.zc) + " V=row " + std::to_string(p.v_row) +
           " heads=" + std::to_string(p.heads) + " Ms=" + std::to_string(p.ms) +
           " shift_s=" + std::to_string(p.shift_s) + " (x" + real_text(p.ms, p.shift_s) +
           ") Mo=" + std::to_string(p.mo) + " shift_o=" + std::to_string(p.shift_o) + " (x" +
           real_text(p.mo, p.shift_o) + ") clamp=[" + std::to_string(p.clamp_lo) + "," +
           std::to_string(p.clamp_hi) + "]";
}

std::vector<uint32_t> rows(const OpParams& params) {
    const uint32_t row = std::get<QAttentionParams>(params).v_row;
    return row ? std::vector<uint32_t>{row} : std::vector<uint32_t>{};
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const auto& prm = std::get<QAttentionParams>(p.params);
    // Every read before any write (§4.2): out may be q, K or V.
    const std::vector<uint8_t> q = gather(image, op[0], p.shape[0]);
    const std::vector<uint8_t> k = gather(image, op[1], p.shape[1]);
    const std::vector<uint8_t> v = gather(image, prm.v_row, p.shape[1]);
    const AttentionShape s{p.shape[0].rows, p.shape[1].rows, p.shape[0].cols, prm.heads};
    scatter(image, op[2], p.out_shape, qint::qattention_u8(q, k, v, s, prm));
}
} // namespace

// Every operand and the V row are uint8 codes (nullptr row types: u8).
const OpDef def_QATTENTION = {Opcode::QATTENTION, decode,  check,      shape, describe, rows,
                              reference,          nullptr, u8_operands};

} // namespace ops
} // namespace px
