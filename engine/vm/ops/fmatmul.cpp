// FMATMUL (PROTOCOL.md §11.2): c = act(a @ b + bias) on float32 pixels, each dot product summed in
// the fixed order of PROTOCOL.md §15 F.5 (blocks of 16 by the halving tree, block sums in
// order), then the bias added, then the activation (none, ReLU, GELU). P1 = (1, 1, 1, 0): a, b, c
// are f32; P2 = (bias_row lo, bias_row hi, activation, 0); the optional bias is a 1 x N f32 matrix.
#include "float_ops.h"
#include "fmath.h"

namespace px {

std::vector<Rgba> encode_params(const FMatmulParams& p) {
    return {ops::encode_dtypes(p.dtype),
            {uint8_t(p.bias_row), uint8_t(p.bias_row >> 8), p.activation, p.reserved}};
}

std::vector<float> fmatmul_f32(const std::vector<float>& a, const std::vector<float>& b, uint32_t M,
                               uint32_t K, uint32_t N, const std::vector<float>& bias, uint8_t activation) {
    std::vector<float> c(size_t(M) * N);
    for (uint32_t m = 0; m < M; ++m)
        for (uint32_t n = 0; n < N; ++n) {
            float v = fm::dot(&a[size_t(m) * K], 1, b.data() + n, N, K);
            if (!bias.empty()) v = fm::add(v, bias[n]);
            c[size_t(m) * N + n] = ops::activate(v, activation);
        }
    return c;
}

namespace ops {
namespace {
constexpr FloatDtypes kAccepted{1, 1, 1, 0};

OpParams decode(const Instruction& ins) {
    FMatmulParams p;
    const auto& q = ins.params;
    p.dtype = decode_dtypes(q[0]);
    p.bias_row = uint16_t(q[1][0] | q[1][1] << 8);
    p.activation = q[1][2];
    p.reserved = q[1][3];
    return p;
}

std::string check(const Instruction& ins, const OpParams& params, uint32_t height) {
    const auto& p = std::get<FMatmulParams>(params);
    if (std::string e = check_dtypes(ins, p.dtype, kAccepted); !e.empty()) return e;
    if (std::string e = check_bias_row(ins, 1, p.bias_row, height); !e.empty()) return e;
    if (p.activation > uint8_t(FActivation::Gelu))
        return param_pixel_name(ins, 1) + ": activation " + std::to_string(p.activation) +
               " is not 0 (none), 1 (relu) or 2 (gelu)";
    return check_reserved(ins, 1, {3});
}

std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    return matmul_shape(p, cx, std::get<FMatmulParams>(p.params).bias_row);
}

std::string describe(const OpParams& params) {
    const auto& p = std::get<FMatmulParams>(params);
    static constexpr OperandKind kKinds[3] = {OperandKind::MatrixIn, OperandKind::MatrixIn,
                                              OperandKind::MatrixOut};
    return dtypes_text(nullptr, p.dtype, kKinds) +
           " bias=" + (p.bias_row ? "row " + std::to_string(p.bias_row) + " (f32)" : std::string("none")) +
           " act=" + std::string(activation_name(p.activation));
}

std::vector<uint32_t> rows(const OpParams& params) {
    const uint32_t row = std::get<FMatmulParams>(params).bias_row;
    return row ? std::vector<uint32_t>{row} : std::vector<uint32_t>{};
}

// P1 as dtype names, P2's activation by name: FMATMUL x, w, y, [f32, f32, f32, 0], [0, 0, gelu, 0].
std::string channel_text(const Instruction& ins, uint32_t k, int c) {
    if (k == 0) return dtype_channel_text(ins, k, c);
    if (k == 1 && c == 2 && ins.params[1][2] <= uint8_t(FActivation::Gelu))
        return std::string(activation_name(ins.params[1][2]));
    return {};
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    const auto& q = std::get<FMatmulParams>(p.params);
    // Every read before any write (§4.2): c may be a, b or the bias.
    const std::vector<float> a = gather_f32(image, op[0], p.shape[0]);
    const std::vector<float> b = gather_f32(image, op[1], p.shape[1]);
    const std::vector<float> bias =
        q.bias_row ? gather_f32(image, q.bias_row, {p.shape[1].cols, 1}) : std::vector<float>{};
    scatter_f32(image, op[2], p.out_shape,
                fmatmul_f32(a, b, p.shape[0].rows, p.shape[0].cols, p.shape[1].cols, bias, q.activation));
}
std::array<DType, 3> types(const OpParams& params) {
    return dtypes_of(std::get<FMatmulParams>(params).dtype);
}
// The bias is a row of c's type (f32, the only one 1.2 accepts).
std::vector<DType> bias_types(const OpParams& params) {
    return std::vector<DType>(rows(params).size(), types(params)[2]);
}
} // namespace

const OpDef def_FMATMUL = {Opcode::FMATMUL, decode,       check, shape,     describe, rows,
                           reference,       channel_text, types, bias_types};

} // namespace ops
} // namespace px
