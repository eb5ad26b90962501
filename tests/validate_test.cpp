// Tests of engine/validate: every trap found statically at the pixel the VM would report, headers
// written by earlier instructions, DOT results read as headers, each warning, and the guarantee
// that an accepted program never traps (on seeded random programs).
#include "png_io.h"
#include "random_program.h"
#include "test_util.h"
#include "validate.h"
#include "vm.h"

#include <doctest/doctest.h>

using namespace px;
using namespace pxtest;

namespace {

const Diagnostic* find_diag(const ValidationReport& r, const std::string& code) {
    for (const Diagnostic& d : r.diagnostics)
        if (d.code == code) return &d;
    return nullptr;
}

size_t count_severity(const ValidationReport& r, Severity s) {
    size_t n = 0;
    for (const Diagnostic& d : r.diagnostics)
        n += d.severity == s;
    return n;
}

std::string dump(const ValidationReport& r) {
    std::string s;
    for (const Diagnostic& d : r.diagnostics)
        s += std::string(severity_name(d.severity)) + " " + d.code + " (" + std::to_string(d.x) + "," +
             std::to_string(d.y) + "): " + d.message + "\n";
    return s;
}

// The validator's first error matches the VM's trap exactly (code, pixel, message).
void check_matches_vm(const Image& img, const std::string& code) {
    const ValidationReport rep = validate(img);
    INFO(dump(rep));
    REQUIRE_FALSE(rep.ok());
    const Diagnostic* d = find_diag(rep, code);
    REQUIRE(d);
    CHECK(d->severity == Severity::Error);
    VmState vm = make_vm(img);
    run(vm);
    REQUIRE(vm.status == VmStatus::Trapped);
    CHECK(d->code == code);
    CHECK(d->x == vm.trap.x);
    CHECK(d->y == vm.trap.y);
    CHECK(d->message == vm.trap.message);
}

} // namespace

TEST_CASE("a well-formed program validates with no diagnostics") {
    Image img = make_image(8, 6);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 2, 2, {3, 4, 5, 6});
    put_ins(img, 0, Opcode::MATMUL, 1, 2, 3);
    put_ins(img, 1, Opcode::RELU, 3);
    put_ins(img, 2, Opcode::ADD, 3, 1, 4);
    put_ins(img, 3, Opcode::DOT, 1, 4, 5);
    const ValidationReport rep = validate(img);
    INFO(dump(rep));
    CHECK(rep.ok());
    CHECK(rep.diagnostics.empty());
}

TEST_CASE("missing HALT is an error; running off the end at runtime is not a trap") {
    Image img = make_image(2, 3);
    put_matrix(img, 1, 1, 1, {5});
    put_ins(img, 0, Opcode::RELU, 1);
    put_ins(img, 1, Opcode::RELU, 1);
    const ValidationReport rep = validate(img);
    const Diagnostic* d = find_diag(rep, "no-halt");
    REQUIRE(d);
    CHECK(d->severity == Severity::Error);
    CHECK(d->x == 1);
    CHECK_FALSE(rep.ok());
}

TEST_CASE("every trap is found statically at the VM's pixel with the VM's message") {
    SUBCASE("bad-opcode") {
        Image img = make_image(4, 2);
        img.set_pixel(0, 0, {99, 0, 0, 0});
        check_matches_vm(img, "bad-opcode");
    }
    SUBCASE("WIDE before WIDE is bad-opcode at the second") {
        Image img = make_image(4, 2);
        img.set_pixel(0, 0, {kWidePrefix, 0, 0, 0});
        img.set_pixel(1, 0, {kWidePrefix, 0, 0, 0});
        check_matches_vm(img, "bad-opcode");
        CHECK(find_diag(validate(img), "bad-opcode")->x == 1);
    }
    SUBCASE("truncated: WIDE prefix last in row 0") {
        Image img = make_image(3, 2);
        img.set_pixel(2, 0, {kWidePrefix, 0, 0, 0});
        put_ins(img, 0, Opcode::RELU, 1);
        put_ins(img, 1, Opcode::RELU, 1);
        put_matrix(img, 1, 1, 1, {1});
        check_matches_vm(img, "truncated");
        CHECK(find_diag(validate(img), "truncated")->x == 2);
    }
    SUBCASE("row-out-of-image") {
        Image img = make_image(4, 3);
        put_ins(img, 0, Opcode::ADD, 1, 1, 3);
        put_matrix(img, 1, 1, 1, {1});
        check_matches_vm(img, "row-out-of-image");
    }
    SUBCASE("row 0 as an operand") {
        Image img = make_image(4, 3);
        put_ins(img, 0, Opcode::DOT, 0, 1, 2);
        check_matches_vm(img, "row-out-of-image");
    }
    SUBCASE("bad-header") {
        Image img = make_image(4, 3);
        put_ins(img, 0, Opcode::RELU, 2);
        check_matches_vm(img, "bad-header");
    }
    SUBCASE("matrix-overflow of an input") {
        Image img = make_image(4, 3);
        put_ins(img, 0, Opcode::RELU, 2);
        img.set_pixel(0, 2, encode_header({4, 1})); // 4 elements need 2 rows; only row 2 is left
        check_matches_vm(img, "matrix-overflow");
    }
    SUBCASE("shape-mismatch") {
        Image img = make_image(8, 4);
        put_matrix(img, 1, 1, 2, {1, 2});
        put_ins(img, 0, Opcode::MATMUL, 1, 1, 2);
        check_matches_vm(img, "shape-mismatch");
    }
    SUBCASE("matrix-overflow of an output") {
        Image img = make_image(3, 4);
        put_matrix(img, 1, 2, 1, {1, 2});
        put_matrix(img, 2, 1, 2, {3, 4});
        put_ins(img, 0, Opcode::MATMUL, 1, 2, 3); // 2x2 result needs 2 rows at width 3; row 3 is last
        check_matches_vm(img, "matrix-overflow");
        CHECK(find_diag(validate(img), "matrix-overflow")->y == 3);
    }
}

TEST_CASE("headers written by earlier instructions count") {
    SUBCASE("an output becomes a valid input") {
        Image img = make_image(8, 6);
        put_matrix(img, 1, 1, 2, {1, 2});
        put_matrix(img, 2, 2, 1, {3, 4});
        put_ins(img, 0, Opcode::MATMUL, 1, 2, 4); // row 4 has no header in the file
        put_ins(img, 1, Opcode::ADD, 4, 4, 5);
        const ValidationReport rep = validate(img);
        INFO(dump(rep));
        CHECK(rep.ok());
        VmState vm = make_vm(img);
        run(vm);
        CHECK(vm.status == VmStatus::Halted);
    }
    SUBCASE("an output's new shape makes a later instruction mismatch") {
        Image img = make_image(8, 6);
        put_matrix(img, 1, 1, 2, {1, 2});
        put_matrix(img, 2, 2, 1, {3, 4});
        put_matrix(img, 3, 1, 2, {5, 6});         // a 1x2 header that the MATMUL replaces with 1x1
        put_ins(img, 0, Opcode::MATMUL, 1, 2, 3); // 1x2 @ 2x1 = 1x1 into row 3
        put_ins(img, 1, Opcode::ADD, 1, 3, 4);    // 1x2 + 1x1: mismatch only after the MATMUL
        check_matches_vm(img, "shape-mismatch");
        CHECK(find_diag(validate(img), "shape-mismatch")->y == 3);
    }
}

TEST_CASE("reading a DOT result as a matrix header is an error") {
    Image img = make_image(8, 5);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 1, 2, {3, 4});
    put_ins(img, 0, Opcode::DOT, 1, 2, 3);
    put_ins(img, 1, Opcode::RELU, 3);
    const ValidationReport rep = validate(img);
    const Diagnostic* d = find_diag(rep, "dot-result-as-header");
    REQUIRE(d);
    CHECK(d->severity == Severity::Error);
    CHECK(d->x == 0);
    CHECK(d->y == 3);
    CHECK(d->message.find("reads DOT result at row 3 as a matrix header") != std::string::npos);
    // Writing a matrix header there again makes it known.
    Image ok = img;
    put_ins(ok, 1, Opcode::ADD, 1, 2, 3);
    put_ins(ok, 2, Opcode::RELU, 3);
    INFO(dump(validate(ok)));
    CHECK(validate(ok).ok());
}

TEST_CASE("warnings: overlaps, unreferenced data, non-zero none operands; info after HALT") {
    SUBCASE("output overlaps an input (MATMUL in place)") {
        Image img = make_image(8, 3);
        put_matrix(img, 1, 1, 1, {2});
        put_ins(img, 0, Opcode::MATMUL, 1, 1, 1);
        const ValidationReport rep = validate(img);
        CHECK(rep.ok());
        const Diagnostic* d = find_diag(rep, "output-overlaps-input");
        REQUIRE(d);
        CHECK(d->severity == Severity::Warning);
        CHECK(d->x == 0);
    }
    SUBCASE("in place by definition: ADD c = a, ADD c = b of a's shape, QRELU (no warning)") {
        Image img = make_image(8, 4);
        put_matrix(img, 1, 1, 2, {1, 2});
        put_matrix(img, 2, 1, 2, {3, 4});
        put_ins(img, 0, Opcode::ADD, 1, 2, 1); // c = a
        put_ins(img, 1, Opcode::ADD, 1, 2, 2); // c = b, same shape
        img.set_pixel(2, 0, {uint8_t(Opcode::QRELU), 1, 0, 0});
        img.set_pixel(3, 0, {5, 0, 0, 0}); // zero_point 5
        const ValidationReport rep = validate(img);
        INFO(dump(rep));
        CHECK(rep.ok());
        CHECK(find_diag(rep, "output-overlaps-input") == nullptr);
    }
    SUBCASE("ADD writing over a broadcast bias still warns (elements are read by many outputs)") {
        Image img = make_image(8, 4);
        put_matrix(img, 1, 2, 2, {1, 2, 3, 4}); // rows 1..1 (7 columns hold 4 elements)
        put_matrix(img, 2, 1, 2, {3, 4});
        put_ins(img, 0, Opcode::ADD, 1, 2, 2); // c (2x2) written at row 2 over the 1x2 bias b
        const ValidationReport rep = validate(img);
        INFO(dump(rep));
        CHECK(find_diag(rep, "output-overlaps-input") != nullptr);
    }
    SUBCASE("two matrices share pixels") {
        Image img = make_image(4, 5);
        put_matrix(img, 1, 2, 3, {1, 2, 3, 4, 5, 6}); // rows 1..2
        img.set_pixel(0, 2, encode_header({1, 1}));   // a 1x1 at row 2: its element (1,2) is element 3 above
        put_ins(img, 0, Opcode::RELU, 1);
        put_ins(img, 1, Opcode::RELU, 2);
        const ValidationReport rep = validate(img);
        CHECK(rep.ok());
        const Diagnostic* d = find_diag(rep, "matrix-overlap");
        REQUIRE(d);
        CHECK(d->y == 2);
        CHECK(find_diag(rep, "output-overlaps-input") == nullptr);
    }
    SUBCASE("matrices on neighbouring rows do not overlap") {
        Image img = make_image(4, 5);
        put_matrix(img, 1, 1, 3, {1, 2, 3});
        put_matrix(img, 2, 1, 3, {1, 2, 3});
        put_ins(img, 0, Opcode::ADD, 1, 2, 3);
        const ValidationReport rep = validate(img);
        INFO(dump(rep));
        CHECK(rep.diagnostics.empty());
    }
    SUBCASE("data rows no instruction references") {
        Image img = make_image(4, 8);
        put_matrix(img, 1, 1, 1, {1});
        img.at(2, 3)[0] = 7;
        img.at(1, 4)[0] = 7;
        img.at(1, 6)[3] = 1;
        put_ins(img, 0, Opcode::RELU, 1);
        const ValidationReport rep = validate(img);
        CHECK(rep.ok());
        std::vector<std::pair<uint32_t, std::string>> got;
        for (const Diagnostic& d : rep.diagnostics)
            if (d.code == "unreferenced-data") got.push_back({d.y, d.message});
        REQUIRE(got.size() == 2);
        CHECK(got[0].first == 3);
        CHECK(got[0].second == "rows 3..4 hold data no instruction references");
        CHECK(got[1].first == 6);
        CHECK(got[1].second == "row 6 holds data no instruction references");
    }
    SUBCASE("non-zero none operands, HALT's included") {
        Image img = make_image(4, 3);
        put_matrix(img, 1, 1, 1, {1});
        put_ins(img, 0, Opcode::RELU, 1, 5, 0);
        put_ins(img, 1, Opcode::HALT, 0, 0, 9);
        const ValidationReport rep = validate(img);
        CHECK(rep.ok());
        size_t n = 0;
        for (const Diagnostic& d : rep.diagnostics)
            if (d.code == "nonzero-none-operand") {
                ++n;
                CHECK(d.severity == Severity::Warning);
            }
        CHECK(n == 2);
    }
    SUBCASE("instructions after HALT") {
        Image img = make_image(6, 3);
        put_matrix(img, 1, 1, 1, {1});
        put_ins(img, 0, Opcode::HALT);
        put_ins(img, 3, Opcode::RELU, 1);
        const ValidationReport rep = validate(img);
        CHECK(rep.ok());
        const Diagnostic* d = find_diag(rep, "after-halt");
        REQUIRE(d);
        CHECK(d->severity == Severity::Info);
        CHECK(d->x == 3);
        CHECK(count_severity(rep, Severity::Warning) == 1); // row 1 is never referenced
    }
}

TEST_CASE("WIDE operands reach rows past 255") {
    Image img = make_image(4, 300);
    put_matrix(img, 290, 1, 2, {1, 2});
    put_matrix(img, 1, 1, 2, {3, 4});
    img.set_pixel(0, 0, {kWidePrefix, 1, 0, 1});
    put_ins(img, 1, Opcode::ADD, 290 - 256, 1, 295 - 256);
    const ValidationReport rep = validate(img);
    INFO(dump(rep));
    CHECK(rep.ok());
    CHECK(rep.diagnostics.empty());
}

TEST_CASE("an empty image is an error") {
    Image img;
    const ValidationReport rep = validate(img);
    REQUIRE(find_diag(rep, "empty-image"));
    CHECK_FALSE(rep.ok());
}

TEST_CASE("accepted random programs never trap; rejected ones name a real problem") {
    std::mt19937 rng(20261125);
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 1500; ++i) {
        const Image img = random_program(rng);
        const ValidationReport rep = validate(img);
        VmState vm = make_vm(img);
        run(vm);
        if (rep.ok()) {
            ++accepted;
            INFO("program " << i << " trapped: " << describe_trap(vm.trap));
            CHECK(vm.status == VmStatus::Halted);
        } else {
            ++rejected;
            // A trap the VM reports is the same one the validator reported first.
            if (vm.status == VmStatus::Trapped) {
                const Diagnostic* first = nullptr;
                for (const Diagnostic& d : rep.diagnostics)
                    if (d.severity == Severity::Error) {
                        first = &d;
                        break;
                    }
                REQUIRE(first);
                if (first->code != "dot-result-as-header") {
                    CHECK(first->x == vm.trap.x);
                    CHECK(first->y == vm.trap.y);
                    CHECK(first->message == vm.trap.message);
                }
            }
        }
    }
    MESSAGE("accepted " << accepted << ", rejected " << rejected);
    CHECK(accepted > 150);
    CHECK(rejected > 150);
}

TEST_CASE("rows named only by parameter pixels (a QMATMUL bias) count as referenced") {
    auto loaded = px::load_png(pxtest::source_path("assets/pixellm.pxi"));
    REQUIRE(loaded);
    const px::ValidationReport report = px::validate(loaded->image);
    CHECK(report.ok());
    for (const px::Diagnostic& d : report.diagnostics) {
        INFO(d.message);
        CHECK(d.code != "unreferenced-data");
    }
}

TEST_CASE("rows a trapping instruction names are referenced, and its error is marked always_traps") {
    Image img = make_image(8, 4);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 1, 3, {1, 2, 3});
    put_ins(img, 0, Opcode::MATMUL, 1, 2, 3); // 1x2 @ 1x3: SHAPE_MISMATCH
    put_ins(img, 1, Opcode::HALT);
    const ValidationReport rep = validate(img);
    INFO(dump(rep));
    CHECK_FALSE(rep.ok());
    const Diagnostic* e = find_diag(rep, "shape-mismatch");
    REQUIRE(e);
    CHECK(e->always_traps);
    CHECK(find_diag(rep, "unreferenced-data") == nullptr);
    CHECK(diagnostic_text(*e).rfind("error[shape-mismatch] at pixel (0,2): MATMUL at pixel (0,0)", 0) == 0);
}

TEST_CASE("errors that depend on the data are not always_traps; a missing HALT neither") {
    Image img = make_image(4, 3);
    put_matrix(img, 1, 1, 1, {1});
    put_ins(img, 0, Opcode::RELU, 1);
    put_ins(img, 1, Opcode::RELU, 1);
    img.set_pixel(2, 0, {uint8_t(Opcode::RELU), 1, 0, 0});
    img.set_pixel(3, 0, {uint8_t(Opcode::RELU), 1, 0, 0});
    const ValidationReport rep = validate(img);
    const Diagnostic* e = find_diag(rep, "no-halt");
    REQUIRE(e);
    CHECK_FALSE(e->always_traps);
}

TEST_CASE("a matrix used as two element types is a type-conflict warning naming both instruction pixels") {
    // FMATMUL writes row 3 as f32 (pc 0); MATMUL then reads it as u8 codes (pc 3).
    Image img = make_image(10, 5);
    put_matrix(img, 1, 1, 1, {0});
    put_matrix(img, 2, 1, 1, {0});
    put_ins(img, 0, Opcode::FMATMUL, 1, 2, 3);
    img.set_pixel(1, 0, {1, 1, 1, 0});
    put_ins(img, 3, Opcode::MATMUL, 3, 2, 4);
    put_ins(img, 4, Opcode::HALT);
    const ValidationReport rep = validate(img);
    INFO(dump(rep));
    CHECK(rep.ok()); // a warning: the bytes are defined, the reading almost certainly wrong
    const Diagnostic* d = find_diag(rep, "type-conflict");
    REQUIRE(d);
    CHECK(d->severity == Severity::Warning);
    CHECK(d->x == 3);
    CHECK(d->y == 0);
    CHECK(d->message ==
          "the matrix at row 3 is used as f32 by FMATMUL at pixel (0,0) (operand c) and as u8 by "
          "MATMUL at pixel (3,0) (operand a)");
    // The same program reading row 3 with FADD (f32) has no conflict.
    put_ins(img, 3, Opcode::FADD, 3, 3, 4);
    img.set_pixel(4, 0, {1, 1, 1, 0});
    put_ins(img, 5, Opcode::HALT);
    CHECK(find_diag(validate(img), "type-conflict") == nullptr);
}

TEST_CASE("f16 matrices occupy ceil(n/2) pixels: no false overlap, traps match the VM") {
    // Width 7 (6 element pixels per row): a 1x12 f32 matrix at rows 1..2, converted to f16 at row 3
    // (6 pixels: one row), and back to f32 at rows 4..5. Counted as 12 pixels, the f16 matrix would
    // reach into row 4 and overlap the f32 result.
    Image img = make_image(7, 6);
    img.set_pixel(0, 1, encode_header({12, 1}));
    for (uint32_t i = 0; i < 12; ++i)
        img.set_pixel(element_x(i, 7), uint32_t(element_y(i, 1, 7)), word_pixel(0x3F800000u + i));
    img.set_pixel(0, 0, {uint8_t(Opcode::FCONVERT), 1, 0, 3});
    img.set_pixel(1, 0, {1, 0, 2, 0});
    img.set_pixel(2, 0, {uint8_t(Opcode::FCONVERT), 3, 0, 4});
    img.set_pixel(3, 0, {2, 0, 1, 0});
    img.set_pixel(4, 0, {uint8_t(Opcode::HALT), 0, 0, 0});
    const ValidationReport rep = validate(img);
    INFO(dump(rep));
    CHECK(rep.diagnostics.empty());
    // The f32 result written at row 5 instead needs rows 5..6: found statically, with the VM's pixel
    // and message.
    img.set_pixel(2, 0, {uint8_t(Opcode::FCONVERT), 3, 0, 5});
    check_matches_vm(img, "matrix-overflow");
}
