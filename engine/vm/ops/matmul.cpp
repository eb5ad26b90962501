// MATMUL (PROTOCOL.md §5.4): c = min(a @ b, 255) with uint32 accumulation; a is M x K, b is K x N,
// c is M x N.
#include "opdef.h"

#include <algorithm>

namespace px {

std::vector<uint8_t> matmul_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                               MatrixHeader hb) {
    const uint32_t M = ha.rows, K = ha.cols, N = hb.cols;
    std::vector<uint8_t> out(size_t(M) * N);
    std::vector<uint32_t> acc(N);
    for (uint32_t m = 0; m < M; ++m) {
        std::fill(acc.begin(), acc.end(), 0);
        for (uint32_t k = 0; k < K; ++k) {
            const uint32_t av = a[size_t(m) * K + k];
            if (av == 0) continue;
            const uint8_t* brow = &b[size_t(k) * N];
            for (uint32_t n = 0; n < N; ++n)
                acc[n] += av * brow[n];
        }
        for (uint32_t n = 0; n < N; ++n)
            out[size_t(m) * N + n] = uint8_t(std::min<uint32_t>(acc[n], 255));
    }
    return out;
}

namespace ops {
namespace {
std::optional<Trap> shape(Plan& p, const PlanContext& cx) {
    return matmul_shape(p, cx, 0);
}

void reference(Image& image, const Plan& p) {
    const auto& op = p.ins.operand;
    auto out =
        matmul_u8(gather(image, op[0], p.shape[0]), p.shape[0], gather(image, op[1], p.shape[1]), p.shape[1]);
    scatter(image, op[2], p.out_shape, out);
}
} // namespace

const OpDef def_MATMUL = {Opcode::MATMUL, no_params, no_check, shape,      no_description,
                          no_rows,        reference, nullptr,  u8_operands};

} // namespace ops
} // namespace px
