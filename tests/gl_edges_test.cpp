// GL executor at the image's edges (issue 18): every opcode of the table with its output, then its
// inputs, in the last rows of the image, ending in the last column or one short of it, at widths
// that are not multiples of any workgroup size (16, 64, 256) and at the largest width the driver
// allows (GL_MAX_TEXTURE_SIZE, 16384 at most: PROTOCOL.md §8). Every pixel no operand occupies is a
// canary (random bytes). One step on the CPU reference and on the GL executor (both matmul
// kernels): registers and the whole image must be byte-identical, and on the CPU every pixel
// outside the plan's written rectangles must be unchanged. A GPU read outside the texture reads 0
// and a write outside it is dropped, so both show up as bytes that differ from the CPU's.
//
// Table-driven: operands follow each opcode's operand kinds, and the parameter pixels are tried
// from a list of candidates (no parameters; each parameter layout of op_params.h with a bias at the
// bias slot) until one passes plan_instruction(), so opcodes added to the table are covered when
// one of the generic shapes (element-wise, matmul, one input) and parameter candidates fits them;
// the test names those it could not place and requires every opcode up to FMUL to be placed.
#include "gl_test_util.h"
#include "ops/op_params.h"
#include "test_util.h"

#include <epoxy/gl.h>

#include <algorithm>
#include <optional>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

struct EdgeCase {
    Image image;
    std::string what;
};

// Shapes tried for an opcode's matrix operands a, b (inputs) and c (output); bias is 1 x cols(b).
struct ShapeSet {
    const char* name;
    MatrixHeader a, b;
};

// Element pixels: random words, one in eight a float word that breaks kernels.
Rgba element(std::mt19937& g) {
    static constexpr uint32_t kHostile[] = {0x7FC12345, 0x7F800000, 0xFF800000, 0x00000001, 0x80000000,
                                            0x807FFFFF, 0x7F7FFFFF, 0xFFFFFFFF, 0x3F800000, 0x00800000};
    const uint32_t w = g() % 8 == 0 ? kHostile[g() % 10] : uint32_t(g());
    return {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)};
}

// Builds: row 0 = [WIDE] opcode params HALT, then canaries; matrices in slots a, b, bias, c with the
// output last (outputs_last) or first. Returns nullopt when the image would exceed 16384 rows.
std::optional<EdgeCase> build(const OpcodeInfo& info, const ShapeSet& s, MatrixHeader c_shape, uint32_t width,
                              bool outputs_last, const std::vector<Rgba>& params_at_bias, uint32_t& bias_row,
                              std::mt19937& g) {
    const MatrixHeader bias{s.b.cols, 1};
    const MatrixHeader shapes[4] = {s.a, s.b, bias, c_shape};
    const int order_out_last[4] = {0, 1, 2, 3}, order_out_first[4] = {3, 0, 1, 2};
    const int* order = outputs_last ? order_out_last : order_out_first;
    uint32_t row[4], next = 1;
    for (int k = 0; k < 4; ++k) {
        row[order[k]] = next;
        next += uint32_t(rows_for_elements(shapes[order[k]].elements(), width));
    }
    if (next > 16384) return std::nullopt;
    Image img = make_image(width, next);
    for (auto& b : img.rgba)
        b = uint8_t(g()); // canaries everywhere, overwritten by the program and the matrices
    for (int k = 0; k < 4; ++k) {
        img.set_pixel(0, row[k], encode_header(shapes[k]));
        for (uint64_t i = 0; i < shapes[k].elements(); ++i)
            img.set_pixel(element_x(i, width), uint32_t(element_y(i, row[k], width)), element(g));
    }
    bias_row = row[2];
    const bool wide = next > 256;
    std::array<uint32_t, 3> operand{};
    for (int k = 0; k < 3; ++k) {
        switch (info.operands[k]) {
        case OperandKind::MatrixIn: operand[k] = row[k == 0 ? 0 : 1]; break;
        case OperandKind::MatrixInOut: operand[k] = row[k == 0 ? 3 : 1]; break;
        case OperandKind::MatrixOut:
        case OperandKind::ScalarOut: operand[k] = row[3]; break;
        case OperandKind::None: operand[k] = 0; break;
        }
    }
    uint32_t x = 0;
    if (wide)
        img.set_pixel(
            x++, 0,
            {kWidePrefix, uint8_t(operand[0] >> 8), uint8_t(operand[1] >> 8), uint8_t(operand[2] >> 8)});
    img.set_pixel(x++, 0, {info.number, uint8_t(operand[0]), uint8_t(operand[1]), uint8_t(operand[2])});
    if (x + params_at_bias.size() + 1 > width) return std::nullopt;
    for (const Rgba& p : params_at_bias)
        img.set_pixel(x++, 0, p);
    img.set_pixel(x, 0, {0, 0, 0, 0}); // HALT
    return EdgeCase{std::move(img),
                    std::string(info.name) + " " + s.name + " width " + std::to_string(width) +
                        (outputs_last ? ", output in the last rows" : ", inputs in the last rows")};
}

// Every parameter layout of op_params.h with in-range values, a bias at `bias_row`.
std::vector<std::vector<Rgba>> param_candidates(uint32_t param_pixels, uint32_t bias_row) {
    std::vector<std::vector<Rgba>> all = {{}};
    QMatmulParams qm;
    qm.za = 3, qm.zb = 250, qm.zc = 7, qm.shift = 31, qm.multiplier = 1 << 29,
    qm.bias_row = uint16_t(bias_row);
    QAddParams qa;
    qa.za = 1, qa.zb = 200, qa.zc = 9, qa.shift = 31, qa.ma = 1 << 29, qa.mb = 1 << 28;
    QMatmul32Params q32;
    q32.za = 128, q32.zb = 5, q32.bias_row = uint16_t(bias_row);
    FMatmulParams fm;
    fm.bias_row = uint16_t(bias_row), fm.activation = uint8_t(FActivation::Gelu);
    for (auto v : {encode_params(qm), encode_params(qa), encode_params(QReluParams{77}), encode_params(q32),
                   encode_params(fm), encode_params(FBinaryParams{})})
        all.push_back(v);
    std::vector<std::vector<Rgba>> out;
    for (auto& v : all)
        if (v.size() == param_pixels) out.push_back(v);
    if (out.empty()) out.push_back(std::vector<Rgba>(param_pixels, Rgba{1, 1, 1, 0})); // f32 dtypes, zeros
    return out;
}

int max_width() {
    GLint n = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &n);
    return std::min<int>(n, 16384);
}

} // namespace

TEST_CASE("every opcode at the image's edges: GL = CPU byte for byte, canaries intact") {
    gl_context();
    const uint32_t widest = uint32_t(max_width());
    REQUIRE(widest >= 2);
    MESSAGE("GL_MAX_TEXTURE_SIZE allows " << widest << " pixels wide");
    std::mt19937 g{18};
    int cases = 0;
    std::vector<std::string> unplaced;
    for (const gl::MatmulKernel kernel : {gl::MatmulKernel::Tiled, gl::MatmulKernel::Simple}) {
        if (kSanitized && kernel == gl::MatmulKernel::Simple) continue; // test_util.h
        gl::ExecutorDesc desc;
        desc.matmul = kernel;
        auto ex = gl::create_executor(make_image(1, 1), desc);
        REQUIRE(ex.ok());
        for (const OpcodeInfo& info : kOpcodes) {
            if (info.number == uint8_t(Opcode::HALT)) continue;
            bool placed = false;
            for (const uint32_t width : {17u, 257u, widest - 1, widest}) {
                const uint32_t n = width - 1; // one image row of elements
                // Element-wise, matmul and 1-row shapes; ending in the last column (n) or one short.
                const ShapeSet sets[] = {
                    {"element-wise 2 rows ending in the last column", {n, 2}, {n, 2}},
                    {"element-wise ending one short of the last column", {n - 1, 3}, {n - 1, 3}},
                    {"element-wise with a 1xN row", {n, 2}, {n, 1}},
                    {"matmul 2xK @ KxN, N = a row", {3, 2}, {n, 3}},
                    {"matmul 3xK @ KxN, N one short", {5, 3}, {n - 1, 5}},
                    {"matmul M = 1, K = a row", {n, 1}, {2, n}},
                };
                for (const ShapeSet& s : sets) {
                    if (s.a.cols == 0 || s.b.cols == 0) continue;
                    // The output takes a's shape (element-wise) or rows(a) x cols(b) (matmul).
                    for (int ci = 0; ci < 2; ++ci) {
                        const MatrixHeader c = ci == 0 ? s.a : MatrixHeader{s.b.cols, s.a.rows};
                        if (ci == 1 && c == s.a) continue;
                        for (const bool outputs_last : {true, false}) {
                            uint32_t bias_row = 0;
                            // Bias rows are known once laid out: build once for the row, then with params.
                            auto probe = build(info, s, c, width, outputs_last, {}, bias_row, g);
                            if (!probe) continue;
                            for (const auto& params : param_candidates(info.param_pixels, bias_row)) {
                                std::mt19937 g2{uint32_t(cases * 7919 + width)};
                                uint32_t row2 = 0;
                                auto ec = build(info, s, c, width, outputs_last, params, row2, g2);
                                if (!ec || row2 != bias_row) continue;
                                const auto plan = plan_instruction(
                                    [&](uint32_t x, uint32_t y) { return ec->image.pixel(x, y); },
                                    ec->image.width, ec->image.height, 0);
                                if (std::holds_alternative<Trap>(plan)) continue;
                                // One step each way.
                                VmState vm = make_vm(ec->image);
                                const Image before = ec->image;
                                const StepResult cr = step(vm);
                                REQUIRE(gl::reset_executor(*ex, ec->image).ok());
                                const gl::GlStepResult gr = gl::gl_step(*ex);
                                INFO(ec->what
                                     << (kernel == gl::MatmulKernel::Tiled ? " (tiled)" : " (simple)"));
                                REQUIRE(cr.status == VmStatus::Ready);
                                CHECK(vm.registers() == gl::gl_registers(*ex));
                                CHECK(cr.written == gr.step.written);
                                const auto errors = gl::gl_take_errors(*ex);
                                CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors[0]));
                                const Image gpu = gl::gl_read_image(*ex);
                                const std::string diff = first_difference(vm.image, gpu);
                                CHECK_MESSAGE(diff.empty(), "GL differs from the CPU at " << diff);
                                // Canaries: on the CPU nothing outside the written rectangles changed.
                                uint64_t changed_outside = 0;
                                for (uint32_t y = 0; y < before.height; ++y)
                                    for (uint32_t x = 0; x < before.width; ++x) {
                                        bool inside = false;
                                        for (const Rect& r : cr.written)
                                            inside |= r.contains(x, y);
                                        changed_outside +=
                                            !inside && before.pixel(x, y) != vm.image.pixel(x, y);
                                    }
                                CHECK_MESSAGE(changed_outside == 0, changed_outside << " canaries changed");
                                ++cases;
                                placed = true;
                                break; // one parameter candidate per shape is enough
                            }
                        }
                    }
                }
            }
            if (!placed) unplaced.push_back(std::string(info.name));
        }
    }
    std::string names;
    for (const auto& s : unplaced)
        names += s + " ";
    MESSAGE(cases << " edge cases run; opcodes no generic shape fits: " << (names.empty() ? "none" : names));
    for (const OpcodeInfo& info : kOpcodes)
        if (info.number <= uint8_t(Opcode::FMUL) && info.number != uint8_t(Opcode::HALT))
            CHECK_MESSAGE(std::find(unplaced.begin(), unplaced.end(), std::string(info.name)) ==
                              unplaced.end(),
                          info.name << " was never placed at the edges");
}
