// Randomized parity: seeded programs run on the CPU reference and on the GL executor in lockstep,
// compared after every step (registers, trap, written rectangles, whole image), with both MATMUL
// kernels. The generator aims at the places executors get wrong: shapes around the tiled
// kernel's tile sizes (16, 32, 64) and widths that are not multiples of them, outputs overlapping
// inputs, bias broadcasts, WIDE addressing beyond row 255, malformed instructions and headers
// (programs that trap), and random bytes everywhere. PXOS_SEED=<n> reruns from another seed.
#include "gl_test_util.h"
#include "random_program.h"
#include "test_util.h"

#include <cstdlib>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

struct Rng {
    std::mt19937 g;
    uint32_t below(uint32_t n) { return n ? uint32_t(g() % n) : 0; }
    uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); } // inclusive
    bool chance(uint32_t percent) { return below(100) < percent; }
    template <typename T> T pick(std::initializer_list<T> xs) {
        return *(xs.begin() + below(uint32_t(xs.size())));
    }
};

uint32_t pick_dim(Rng& r, bool large) {
    if (large) return r.range(60, 200);
    const uint32_t k = r.below(100);
    if (k < 65) return r.range(1, 8);
    if (k < 90) return r.pick<uint32_t>({15, 16, 17, 31, 32, 33, 63, 64, 65});
    return r.range(1, 40);
}

uint8_t pick_value(Rng& r, uint32_t style) {
    switch (style) {
    case 0: return uint8_t(r.below(4));
    case 1: return uint8_t(r.below(16));
    case 2: return uint8_t(r.pick<uint32_t>({0, 1, 254, 255}));
    default: return uint8_t(r.below(256));
    }
}

struct Program {
    Image image;
    std::string what;
};

Program generate(uint64_t seed) {
    Rng r{std::mt19937(uint32_t(seed * 2654435761u + 12345))};
    Program p;
    const uint32_t kind = r.below(100);
    const bool noise = kind < 5;              // random bytes everywhere: nearly always a trap
    const bool wide = kind >= 5 && kind < 15; // matrices past row 255
    const bool large = kind >= 95;
    uint32_t width =
        wide ? r.range(2, 9)
             : r.pick<uint32_t>({2, 3, 5, 16, 17, 31, 33, 64, 65, 97, r.range(2, 80), r.range(2, 80)});
    if (large) width = r.pick<uint32_t>({129, 255, 256, 300});
    if (noise) {
        const uint32_t w = r.range(1, 24), h = r.range(1, 24);
        p.image = make_image(w, h);
        for (auto& b : p.image.rgba)
            b = uint8_t(r.below(100) < 30 ? r.below(8) : r.below(256));
        p.what = "noise " + std::to_string(w) + "x" + std::to_string(h);
        return p;
    }
    // Shapes: a is M x K, b is K x N, a bias 1 x N, an M x N addend, a DOT partner with M*K elements,
    // an M x N output, a 1 x 1 cell for DOT results.
    const uint32_t M = pick_dim(r, large), K = pick_dim(r, large), N = pick_dim(r, large);
    std::vector<MatrixHeader> shapes = {{K, M}, {N, K}, {N, 1}, {N, M}, {M * K, 1}, {N, M}, {1, 1}};
    if (r.chance(8)) shapes[1] = {pick_dim(r, false), pick_dim(r, false)}; // likely a shape mismatch
    const uint32_t first = wide ? r.range(200, 300) : 1;
    // Optional gaps so matrices do not always sit back to back.
    std::vector<uint32_t> rows;
    uint64_t next = first;
    for (const auto& h : shapes) {
        next += r.chance(20) ? r.below(3) : 0;
        rows.push_back(uint32_t(next));
        next += rows_for_elements(h.elements(), width);
    }
    uint32_t height = uint32_t(std::min<uint64_t>(next + r.below(3), 16384));
    if (r.chance(5) && height > 3) height -= r.range(1, 2); // the last matrix may not fit
    p.image = make_image(width, height);
    Image& img = p.image;
    for (size_t i = size_t(width) * 4; i < img.rgba.size(); ++i)
        img.rgba[i] = uint8_t(r.below(256));
    const uint32_t style = r.below(4);
    for (size_t m = 0; m < shapes.size(); ++m) {
        if (!matrix_fits(rows[m], shapes[m], width, height)) {
            if (rows[m] < height)
                img.set_pixel(0, rows[m], encode_header(shapes[m])); // header that overflows
            continue;
        }
        std::vector<uint8_t> v(shapes[m].elements());
        for (auto& x : v)
            x = pick_value(r, style);
        (void)write_matrix(img, rows[m], shapes[m], v);
    }
    if (r.chance(3) && height > 1)
        img.set_pixel(0, rows[r.below(7)] % height, {0, 0, uint8_t(r.below(3)), 0});

    // Row 0: instructions over these matrices, some overlapping, some wrong.
    auto row_of = [&](uint32_t m) -> uint32_t {
        const uint32_t k = r.below(100);
        if (k < 97) return rows[m];
        if (k < 98) return rows[m] + r.range(0, 2); // shifted: overlap or garbage header
        if (k < 99) return 0;
        return r.range(height, height + 300);
    };
    uint32_t x = 0;
    while (x < width) {
        uint32_t op = 0, a = 0, b = 0, c = 0;
        const uint32_t k = r.below(100);
        if (k < 30) { // MATMUL, output somewhere (often overlapping a or b)
            op = 4, a = row_of(0), b = row_of(1);
            c = r.chance(85) ? row_of(5) : r.pick<uint32_t>({rows[0], rows[1], rows[0] + 1, rows[3]});
        } else if (k < 50) { // ADD, equal shapes or bias, sometimes in place
            op = 2, a = row_of(3), b = r.chance(50) ? row_of(2) : row_of(3);
            c = r.chance(50) ? a : r.chance(80) ? rows[5] : r.pick<uint32_t>({rows[0], rows[3] + 1});
        } else if (k < 62) { // DOT
            op = 1, a = row_of(r.pick<uint32_t>({0, 4})), b = row_of(4);
            c = r.chance(80) ? row_of(6) : r.chance(50) ? r.range(1, std::max(1u, height - 1)) : row_of(0);
        } else if (k < 70) {
            op = 3, a = row_of(r.below(7));
            if (r.chance(20)) b = r.below(256);
        } else if (k < 73) {
            op = 0;
        } else if (k < 75) { // garbage: any opcode byte, random operands
            op = r.below(256), a = r.below(256), b = r.below(256), c = r.below(256);
        } else { // another matmul or add chained on the outputs
            op = 2, a = rows[5], b = r.chance(50) ? rows[2] : rows[3], c = r.chance(50) ? rows[5] : row_of(3);
        }
        const bool needs_wide = a > 255 || b > 255 || c > 255;
        if ((needs_wide && r.chance(90)) || r.chance(5)) {
            img.set_pixel(x++, 0, {15, uint8_t(a >> 8), uint8_t(b >> 8), uint8_t(c >> 8)});
            if (x >= width) break;
        }
        img.set_pixel(x++, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        if (x < width && r.chance(2)) img.set_pixel(x++, 0, {15, 0, 0, 0}); // WIDE before WIDE / at the end
        if (r.chance(6)) break;
    }
    if (x < width && r.chance(80)) img.set_pixel(x, 0, {0, 0, 0, 0});
    p.what = std::string(wide    ? "wide "
                         : large ? "large "
                                 : "") +
             std::to_string(width) + "x" + std::to_string(height) + " M,K,N=" + std::to_string(M) + "," +
             std::to_string(K) + "," + std::to_string(N);
    return p;
}

uint64_t base_seed() {
    return seed_from_env(20261125);
}

void run_programs(gl::MatmulKernel kernel, int count) {
    gl::Executor ex = test_executor(kernel);
    int steps = 0, trapped = 0, halted = 0;
    for (int i = 0; i < count; ++i) {
        const uint64_t seed = base_seed() + uint64_t(i);
        const Program p = generate(seed);
        const int n = lockstep(ex, p.image, "seed " + std::to_string(seed) + " (" + p.what + ")");
        REQUIRE(n >= 0);
        steps += n;
        trapped += gl::gl_status(ex) == VmStatus::Trapped;
        halted += gl::gl_status(ex) == VmStatus::Halted;
    }
    MESSAGE(count << " programs, " << steps << " steps, " << trapped << " trapped, " << halted << " halted");
    // The generator must exercise both outcomes, or it tests less than it claims.
    CHECK(trapped > count / 10);
    CHECK(halted > count / 4);
}

} // namespace

TEST_CASE("1000 random programs: CPU and GL agree after every step (tiled MATMUL)") {
    run_programs(gl::MatmulKernel::Tiled, 1000);
}

TEST_CASE("1000 random programs: CPU and GL agree after every step (simple MATMUL)") {
    run_programs(gl::MatmulKernel::Simple, 1000);
}

TEST_CASE("500 programs of the shared random_program.h generator agree on both kernels") {
    for (auto kernel : {gl::MatmulKernel::Tiled, gl::MatmulKernel::Simple}) {
        gl::Executor ex = test_executor(kernel);
        std::mt19937 rng{uint32_t(base_seed())};
        for (int i = 0; i < 250; ++i)
            REQUIRE(lockstep(ex, random_program(rng), "random_program #" + std::to_string(i)) >= 0);
    }
}
