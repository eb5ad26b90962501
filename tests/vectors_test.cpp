// Runs every protocol test vector (tests/vectors/*.json, expectations computed independently of
// the interpreter by tests/vectors/make_vectors.py and by hand) on the CPU reference interpreter,
// and checks that the corpus covers every opcode and every trap the protocol can raise.
#include "validate.h"
#include "vectors.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <set>

using namespace px;
using namespace pxtest;

TEST_CASE("every vector gives its expected image, status, steps, pc and trap on the CPU") {
    const auto files = vector_files();
    REQUIRE(files.size() >= 56);
    for (const std::string& path : files) {
        auto v = load_vector(path);
        REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
        CHECK(std::filesystem::path(path).stem().string() == v->name);
        VmState vm = make_vm(v->image, v->step_limit);
        run(vm);
        const std::string diff = check_vector(*v, vm);
        CHECK_MESSAGE(diff.empty(), diff);
    }
}

TEST_CASE("the validator agrees with the vectors") {
    for (const std::string& path : vector_files()) {
        auto v = load_vector(path);
        REQUIRE(v.ok());
        const ValidationReport rep = validate(v->image);
        INFO(v->name);
        if (v->expect.status == "trapped" && v->expect.trap != "STEP_LIMIT") {
            CHECK_FALSE(rep.ok());
        } else if (v->expect.status == "halted" && v->expect.pc < v->image.width) {
            CHECK(rep.ok()); // ended on a HALT: accepted
        }
    }
}

TEST_CASE("the vectors cover every opcode and every trap") {
    std::set<uint8_t> opcodes;
    std::set<std::string> traps;
    bool wide = false;
    for (const std::string& path : vector_files()) {
        auto v = load_vector(path);
        REQUIRE(v.ok());
        for (uint32_t x = 0; x < v->image.width; ++x) {
            const uint8_t op = v->image.at(x, 0)[0];
            if (op == kWidePrefix) wide = true;
            if (opcode_info(op)) opcodes.insert(op);
        }
        if (!v->expect.trap.empty()) traps.insert(v->expect.trap);
    }
    CHECK(wide);
    for (const OpcodeInfo& info : kOpcodes)
        CHECK_MESSAGE(opcodes.count(info.number), "no vector uses " << info.name);
    // BAD_PARAM needs an opcode with parameter pixels; such opcodes bring their own vectors.
    bool any_params = false;
    for (const OpcodeInfo& info : kOpcodes)
        any_params |= info.param_pixels > 0;
#define PX_TRAP_COVERED(num, name, meaning)                                                                  \
    if (TrapCode::name != TrapCode::NONE && (TrapCode::name != TrapCode::BAD_PARAM || any_params))           \
        CHECK_MESSAGE(traps.count(#name), "no vector traps " #name);
    PX_TRAP_TABLE(PX_TRAP_COVERED)
#undef PX_TRAP_COVERED
}

TEST_CASE("check_vector reports differences readably") {
    auto v = load_vector(std::string(PXOS_SOURCE_DIR) + "/tests/vectors/matmul.json");
    REQUIRE(v.ok());
    VmState vm = make_vm(v->image);
    run(vm);
    REQUIRE(check_vector(*v, vm).empty());
    Image wrong = vm.image;
    wrong.at(1, 3)[0] = 14;
    const std::string diff = check_vector(*v, wrong, "trapped", 1, 0, "BAD_OPCODE", 0, 0);
    CHECK(diff.find("vector matmul") != std::string::npos);
    CHECK(diff.find("status: got trapped, expected halted") != std::string::npos);
    CHECK(diff.find("steps: got 1, expected 2") != std::string::npos);
    CHECK(diff.find("pixel (1,3): got (14,0,0,0), expected (13,0,0,0)") != std::string::npos);
}
