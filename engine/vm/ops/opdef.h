// opdef.h — one definition per opcode: everything the engine knows about an opcode, in one place.
//
// Each engine/ops/<opcode>.cpp defines one OpDef: how its parameter pixels decode, check (check 7
// of PROTOCOL.md §4.4) and read as text, which matrix rows they name, its shape rule (which
// computes the output's shape and the pixels written besides its matrix outputs), and its
// reference semantics. opcodes.h's table drives the registry: every X() line must have a
// definition named ops::def_<NAME>, or the engine does not link. plan_instruction() (vm.cpp) runs
// the generic checks (decoding, operand rows, input headers, output fit) around an OpDef's own, so
// it stays the one source of traps for every executor and the validator.
//
// An executor other than the reference supplies one kernel per opcode and reads the decoded
// parameters from Plan::params; tests/opcodes_test.cpp fails when any of this is missing.
#pragma once
#include "dtype.h"
#include "vm.h"

#include <array>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace px {

// What a shape rule sees besides the plan: where the instruction is and how to read pixels.
// Messages are built only on the way to a trap: a plan is made on every step, and building them
// eagerly cost more than the rest of planning (malloc and free were a third of it, measured).
struct PlanContext {
    const PixelFetch& fetch;
    uint32_t width = 0, height = 0;
    uint32_t op_x = 0;     // x of the opcode pixel (after a WIDE prefix)
    std::string_view name; // the opcode's name, for messages
    // "NAME at pixel (x,0): ", the start of a shape rule's trap message.
    std::string at() const { return std::string(name) + " at pixel (" + std::to_string(op_x) + ",0): "; }
};

struct OpDef {
    Opcode code;
    // The parameter pixels as values; never fails (std::monostate when there are none).
    OpParams (*decode)(const Instruction& ins);
    // Check 7: "" when every parameter is in range, else a message naming the pixel and value.
    std::string (*check)(const Instruction& ins, const OpParams& params, uint32_t height);
    // The shape rule, run on a plan whose input shapes passed the generic checks: sets
    // out_shape for MatrixOut operands, appends writes other than the MatrixOut matrices, or traps.
    std::optional<Trap> (*shape)(Plan& plan, const PlanContext& cx);
    // One line for the disassembler and the debugger's tooltips; "" when there are no parameters.
    std::string (*describe)(const OpParams& params);
    // Matrix rows the parameters name (a bias), for tools that list what an instruction reads.
    std::vector<uint32_t> (*param_rows)(const OpParams& params);
    // The reference semantics: carries out a checked plan, all reads before any write (§4.2).
    void (*reference)(Image& image, const Plan& plan);
    // Optional: the disassembler's name for channel c of parameter pixel k ("f32", "gelu"), or ""
    // for the number. Every name must read back through param_channel_value() to the same byte.
    std::string (*param_channel_text)(const Instruction& ins, uint32_t k, int c) = nullptr;
    // Optional: the element type of operands a, b, c as this instruction reads or writes them
    // (operands of kind none: U8), for the validator's type analysis, the disassembler and the
    // debugger's inspector. nullptr means all three are u8. Every opcode that reads or writes a
    // matrix as anything but u8 (f32, f16, i32: index and token matrices included) sets it.
    std::array<DType, 3> (*operand_types)(const OpParams& params) = nullptr;
    // Optional: the element type of each row param_rows() names, in the same order (QMATMUL's and
    // QMATMUL32's bias: i32, FMATMUL's: f32). nullptr means every parameter row is u8. Every opcode
    // whose parameters name a row of another type sets it.
    std::vector<DType> (*param_row_types)(const OpParams& params) = nullptr;
    // Optional: the pixels of its MatrixOut operand the instruction writes when that is less than
    // the whole matrix of out_shape (APPEND: the header pixel and the appended rows, not the rows it
    // keeps); nullptr: the whole matrix. Plan::writes is what undo saves, what the GL executor
    // reads back and what the optimized CPU executor's kept copies are trusted by (cpu_fast.cpp),
    // so it must hold every pixel any executor writes.
    std::vector<Rect> (*out_writes)(const Plan& plan, uint32_t width) = nullptr;
};

// The element types of operands a, b, c of a decoded instruction (operand_types, or all u8), and
// of the rows param_rows() names, in its order. An unknown opcode: all u8, no rows.
std::array<DType, 3> operand_types(const Instruction& ins);
std::vector<DType> param_row_types(const Instruction& ins);

// The byte a named channel value stands for in a parameter pixel: dtype names (u8 0, f32 1, f16 2,
// i32 3) and activation names (none 0, relu 1, gelu 2); nullopt for any other word.
std::optional<uint8_t> param_channel_value(std::string_view word);

// nullptr for a byte that is not in the opcode table.
const OpDef* op_def(uint8_t opcode);

namespace ops {
#define PX_OPDEF_DECLARE(num, name, ka, kb, kc, params, meaning) extern const OpDef def_##name;
PX_OPCODE_TABLE(PX_OPDEF_DECLARE)
#undef PX_OPDEF_DECLARE

// ---- Shared by definitions ----

// For opcodes without parameter pixels.
OpParams no_params(const Instruction& ins);
// operand_types of opcodes whose every operand is u8 (the same as nullptr, said explicitly).
std::array<DType, 3> u8_operands(const OpParams& params);
std::string no_check(const Instruction& ins, const OpParams& params, uint32_t height);
std::string no_description(const OpParams& params);
std::vector<uint32_t> no_rows(const OpParams& params);

std::string shape_text(MatrixHeader h);
Trap make_trap(TrapCode code, uint32_t x, uint32_t y, std::string message);
// SHAPE_MISMATCH at b's header: "<NAME> at pixel (x,0): a is RxC, b is RxC; <rule>".
Trap shape_mismatch(const Plan& plan, const PlanContext& cx, const std::string& rule);
// The optional int32 bias of QMATMUL / QMATMUL32: a 1 x cols(b) matrix that fits (§5.5).
std::optional<Trap> check_bias(const Plan& plan, const PlanContext& cx, uint32_t bias_row);
// The shape rule of the element-wise and row-wise opcodes with one input: c becomes a's shape.
std::optional<Trap> same_shape(Plan& plan, const PlanContext& cx);
// The shape rule of every matrix multiply (MATMUL, QMATMUL, QMATMUL32, FMATMUL): cols(a) == rows(b),
// the result is rows(a) x cols(b), and the optional bias row (0: none) is checked by check_bias.
std::optional<Trap> matmul_shape(Plan& plan, const PlanContext& cx, uint32_t bias_row);

// "parameter pixel P<k+1> at (x,0)" and the range checks of §5.5, "" when in range.
std::string param_pixel_name(const Instruction& ins, uint32_t k);
std::string check_shift(const Instruction& ins, uint32_t shift);
std::string check_multiplier(const Instruction& ins, uint32_t k, const char* what, int32_t m);
std::string check_clamp(const Instruction& ins, uint32_t k, uint8_t lo, uint8_t hi);
std::string check_bias_row(const Instruction& ins, uint32_t k, uint32_t row, uint32_t height);
std::string check_reserved(const Instruction& ins, uint32_t k, std::initializer_list<int> channels);
// m / 2^shift as text, "%.9g".
std::string real_text(int32_t m, uint32_t shift);

// Reference-kernel helpers on a checked plan's matrices (R channel, row-major).
std::vector<uint8_t> gather(const Image& image, uint32_t row, MatrixHeader h);
std::vector<int32_t> gather_i32(const Image& image, uint32_t row, MatrixHeader h);
std::vector<int32_t> gather_bias(const Image& image, uint32_t bias_row); // empty when row 0
void scatter(Image& image, uint32_t row, MatrixHeader h, const std::vector<uint8_t>& v);
void scatter_i32(Image& image, uint32_t row, MatrixHeader h, const std::vector<int32_t>& v);

// Check 8 of the attention opcodes, FATTENTION (§12.2) and QATTENTION (§16), which share it: heads
// divides q's columns, K has q's columns and at least its rows, V at v_row has K's header and fits.
// Sets out_shape to q's shape. Defined in fattention.cpp.
std::optional<Trap> attention_shape(Plan& p, const PlanContext& cx, uint32_t v_row, uint32_t heads);
} // namespace ops

} // namespace px
