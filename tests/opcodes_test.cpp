// The opcode table (opcodes.h) against everything that must follow it. For every table entry:
// a definition (engine/ops/, ops/opdef.h) with every part filled in; at least one test vector
// (tests/vectors/*.json) that executes it; a kernel in every executor (the reference, the fast
// CPU executor, the GL executor with both MATMUL kernels where a GL context can be had), each
// giving every such vector's expected result; a disassembly that names it and assembles back to
// the same bytes; and a tooltip (inspect.h's describe_pixel, what the debugger shows) that names
// it, says what it means and decodes its parameter pixels. Adding an opcode to the table without
// one of these fails here, naming the opcode and what it lacks.
#include "asm.h"
#include "cpu_fast.h"
#include "inspect.h"
#include "ops/opdef.h"
#include "vectors.h"
#include "vm.h"
#ifdef PXOS_OPCODES_TEST_GL
#include "gl_executor.h"
#endif

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <set>

using namespace px;
using namespace pxtest;

namespace {

struct Corpus {
    std::vector<Vector> vectors;
    // The vectors in which each opcode executes (a step that ran it, on the reference).
    std::map<uint8_t, std::vector<const Vector*>> by_opcode;
};

const Corpus& corpus() {
    static const Corpus c = [] {
        Corpus c;
        for (const std::string& path : vector_files()) {
            auto v = load_vector(path);
            REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
            c.vectors.push_back(std::move(v.value()));
        }
        for (const Vector& v : c.vectors) {
            VmState vm = make_vm(v.image, v.step_limit);
            std::set<uint8_t> ran;
            while (vm.status == VmStatus::Ready) {
                const uint64_t before = vm.steps;
                const StepResult r = step(vm);
                if (vm.steps > before) ran.insert(r.opcode);
            }
            for (uint8_t op : ran)
                c.by_opcode[op].push_back(&v);
        }
        return c;
    }();
    return c;
}

std::string name_of(const OpcodeInfo& info) {
    return std::string(info.name) + " (" + std::to_string(info.number) + ")";
}

// The final state of a vector run on a CPU executor, against its expectation.
std::string run_cpu(const Vector& v, const PlanExecutor& execute) {
    VmState vm = make_vm(v.image, v.step_limit);
    RunOptions options;
    options.execute = execute;
    run(vm, options);
    return check_vector(v, vm);
}

// An instruction of this opcode at pc 0 of a 16 x 4 image with parameter pixels that are in
// range for every opcode (shift 1, everything else 0), for the decoding-only checks.
Image one_instruction(const OpcodeInfo& info) {
    Image img = make_image(16, 4);
    img.set_pixel(0, 0, {info.number, 1, 2, 3});
    for (uint32_t k = 0; k < info.param_pixels; ++k)
        img.set_pixel(1 + k, 0, {0, 0, 0, uint8_t(k == 0 ? 1 : 0)});
    return img;
}

} // namespace

TEST_CASE("every opcode in the table has a complete definition") {
    for (const OpcodeInfo& info : kOpcodes) {
        INFO(name_of(info));
        const OpDef* def = op_def(info.number);
        REQUIRE_MESSAGE(def, "no definition: add engine/ops/<opcode>.cpp");
        CHECK(uint8_t(def->code) == info.number);
        CHECK_MESSAGE((def->decode != nullptr), "OpDef::decode is missing");
        CHECK_MESSAGE((def->check != nullptr), "OpDef::check is missing");
        CHECK_MESSAGE((def->shape != nullptr), "OpDef::shape is missing");
        CHECK_MESSAGE((def->describe != nullptr), "OpDef::describe is missing");
        CHECK_MESSAGE((def->param_rows != nullptr), "OpDef::param_rows is missing");
        CHECK_MESSAGE((def->reference != nullptr), "OpDef::reference is missing");
    }
    // Bytes outside the table have none, and plan_instruction() traps on them.
    for (int b = 0; b < 256; ++b)
        CHECK((op_def(uint8_t(b)) != nullptr) == (opcode_info(uint8_t(b)) != nullptr));
}

// A dtype parameter pixel is P1 = (dtype_a, dtype_b, dtype_c, 0) (PROTOCOL.md §11.1): the
// disassembler names its channels as dtypes. Such an opcode must say, through
// OpDef::operand_types, that its operands have the types P1 declares, so the type analysis
// (typing.h), the validator and the debugger show each matrix as what it is.
TEST_CASE("every opcode with a dtype parameter pixel declares its operand types from it") {
    int with_dtype = 0;
    for (const OpcodeInfo& info : kOpcodes) {
        if (info.param_pixels == 0) continue;
        INFO(name_of(info));
        const OpDef* def = op_def(info.number);
        REQUIRE(def);
        Instruction ins;
        ins.opcode = info.number;
        ins.info = &info;
        ins.param_count = info.param_pixels;
        ins.params[0] = {1, 1, 1, 0};
        bool dtype_pixel = false;
        for (int c = 0; c < 3 && def->param_channel_text; ++c)
            dtype_pixel = dtype_pixel || parse_dtype(def->param_channel_text(ins, 0, c)).has_value();
        if (!dtype_pixel) continue;
        ++with_dtype;
        REQUIRE_MESSAGE((def->operand_types != nullptr),
                        "P1 is a dtype pixel but OpDef::operand_types is not set (ops/opdef.h)");
        // Every instance the opcode's check accepts: P1 combinations with the other parameters 0,
        // and the instructions of its test vectors.
        std::vector<Instruction> instances;
        for (uint8_t a = 0; a < 4; ++a)
            for (uint8_t b = 0; b < 4; ++b)
                for (uint8_t c = 0; c < 4; ++c) {
                    Instruction i = ins;
                    i.params[0] = {a, b, c, 0};
                    instances.push_back(i);
                }
        for (const Vector& v : corpus().vectors)
            for (const Decoded& d : decode_row0(v.image).instructions)
                if (d.ins.opcode == info.number && !d.truncated) instances.push_back(d.ins);
        int accepted = 0;
        for (const Instruction& i : instances) {
            const OpParams params = def->decode(i);
            if (!def->check(i, params, 65535).empty()) continue;
            ++accepted;
            const std::array<DType, 3> types = def->operand_types(params);
            for (int k = 0; k < 3; ++k) {
                const OperandKind kind = info.operands[k];
                if (kind == OperandKind::None || kind == OperandKind::ScalarOut) continue;
                CHECK_MESSAGE(types[size_t(k)] == DType(i.params[0][size_t(k)]),
                              "operand "
                                  << "abc"[k] << ": operand_types says " << dtype_name(types[size_t(k)])
                                  << ", P1 declares code " << int(i.params[0][size_t(k)]));
            }
        }
        CHECK_MESSAGE(accepted > 0, "no accepted instance to check operand_types on");
    }
    CHECK(with_dtype >= 3); // FMATMUL, FADD, FMUL at least
}

TEST_CASE("every opcode has a test vector that executes it") {
    const Corpus& c = corpus();
    REQUIRE(c.vectors.size() >= 20);
    for (const OpcodeInfo& info : kOpcodes)
        CHECK_MESSAGE(c.by_opcode.count(info.number),
                      name_of(info) << " runs in no test vector: add one to tests/vectors/");
}

TEST_CASE("every opcode runs its vectors on the reference and the fast CPU executor") {
    const Corpus& c = corpus();
    for (const OpcodeInfo& info : kOpcodes) {
        INFO(name_of(info));
        CHECK_MESSAGE(
            fast_has_kernel(info.number),
            "the fast executor has no kernel (nor the reference, explicitly) for it: engine/cpu_fast.cpp");
        if (!c.by_opcode.count(info.number)) continue; // reported above
        for (const Vector* v : c.by_opcode.at(info.number)) {
            const std::string ref = run_cpu(*v, execute_reference);
            CHECK_MESSAGE(ref.empty(), "reference: " << ref);
            const std::string fast = run_cpu(*v, fast_executor({2, 0}));
            CHECK_MESSAGE(fast.empty(), "fast: " << fast);
        }
    }
}

TEST_CASE("every opcode disassembles by name and assembles back to the same bytes") {
    const Corpus& c = corpus();
    for (const OpcodeInfo& info : kOpcodes) {
        INFO(name_of(info));
        const Image one = one_instruction(info);
        const Decoded d = decode(image_fetch(one), one.width, 0);
        REQUIRE(d.ins.info);
        const std::string line = disassemble_instruction(d.ins, {});
        CHECK_MESSAGE(line.rfind(std::string(info.name), 0) == 0, "disassembly: " << line);
        if (!c.by_opcode.count(info.number)) continue;
        const Vector& v = *c.by_opcode.at(info.number).front();
        INFO("vector " << v.name);
        const std::string text = disassemble(v.image);
        CHECK(text.find(std::string(info.name)) != std::string::npos);
        auto back = assemble(text);
        REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().message) << "\n" << text);
        CHECK(back->image.width == v.image.width);
        CHECK(back->image.height == v.image.height);
        CHECK_MESSAGE(back->image.rgba == v.image.rgba, text);
    }
}

TEST_CASE("every opcode has a tooltip that names it, says what it does and decodes its parameters") {
    for (const OpcodeInfo& info : kOpcodes) {
        INFO(name_of(info));
        const Image one = one_instruction(info);
        const PixelMeaning m = describe_pixel(one, {}, 0, 0);
        CHECK(m.role == PixelRole::Opcode);
        CHECK(m.label == info.name);
        CHECK(!info.meaning.empty());
        CHECK_MESSAGE(m.text.find(std::string(info.meaning)) != std::string::npos, m.text);
        const Decoded d = decode(image_fetch(one), one.width, 0);
        const std::string params = describe_params(d.ins);
        if (info.param_pixels > 0) {
            CHECK_MESSAGE(!params.empty(), "its parameter pixels have no description (OpDef::describe)");
            CHECK_MESSAGE(m.text.find(params) != std::string::npos, m.text);
        } else {
            CHECK(params.empty());
        }
    }
}

#ifdef PXOS_OPCODES_TEST_GL
namespace {
// One headless context for the executable, or the reason there is none.
const std::optional<gl::HeadlessContext>& gl_context() {
    static std::optional<gl::HeadlessContext> ctx;
    static bool tried = false;
    if (!tried) {
        tried = true;
        auto r = gl::create_headless_context();
        if (r)
            ctx.emplace(std::move(r.value()));
        else
            MESSAGE("no OpenGL 4.3 context, the GL executor is not checked: " << r.error().message);
    }
    return ctx;
}
} // namespace

TEST_CASE("every opcode runs its vectors on the GL executor, both MATMUL kernels") {
    for (const OpcodeInfo& info : kOpcodes)
        CHECK_MESSAGE(gl::gl_has_kernel(info.number),
                      name_of(info) << ": the GL executor has no kernel for it: engine/gl/gl_executor.cpp");
    if (!gl_context()) return;
    const Corpus& c = corpus();
    for (auto kernel : {gl::MatmulKernel::Simple, gl::MatmulKernel::Tiled}) {
        gl::ExecutorDesc desc;
        desc.matmul = kernel;
        const std::string kernel_name = kernel == gl::MatmulKernel::Simple ? "simple" : "tiled";
        auto ex = gl::create_executor(make_image(1, 1), desc);
        REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.error().message));
        for (const OpcodeInfo& info : kOpcodes) {
            if (!c.by_opcode.count(info.number)) continue;
            for (const Vector* v : c.by_opcode.at(info.number)) {
                INFO(name_of(info) << ", vector " << v->name << ", kernel " << kernel_name);
                REQUIRE(gl::reset_executor(*ex, v->image).ok());
                gl::gl_set_step_limit(*ex, v->step_limit);
                while (gl::gl_status(*ex) == VmStatus::Ready)
                    gl::gl_step(*ex);
                const VmRegisters& r = gl::gl_registers(*ex);
                const std::string diff = check_vector(
                    *v, gl::gl_read_image(*ex), std::string(status_name(r.status)), r.steps, r.pc,
                    r.status == VmStatus::Trapped ? std::string(trap_name(r.trap.code)) : "", r.trap.x,
                    r.trap.y);
                CHECK_MESSAGE(diff.empty(), "gl: " << diff);
                // The registers equal the reference's, trap message included.
                VmState vm = make_vm(v->image, v->step_limit);
                run(vm);
                CHECK_MESSAGE(vm.registers() == r,
                              "cpu " << registers_text(vm) << " / gl " << registers_text(r));
                const auto errors = gl::gl_take_errors(*ex);
                CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors[0]));
            }
        }
    }
}
#endif
