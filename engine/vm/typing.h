// typing.h — the element type of every matrix a program names (PROTOCOL.md §11.1).
//
// The image does not store a matrix's type: each instruction says how it reads or writes its
// operands (OpDef::operand_types: QMATMUL32's c is i32, FMATMUL's operands are what its dtype
// pixel declares) and its parameter rows (OpDef::param_row_types: QMATMUL's bias is i32). This
// module collects those uses over a program's instructions and gives each matrix row one type:
// that of its first use. A row used with two different types is a conflict, which the validator
// reports naming both instruction pixels. Tools (inspector, `pxi info`, the debugger) take types
// from here, and from debug symbols where those declare one (debuginfo.h), never from their own
// opcode lists.
#pragma once
#include "dtype.h"
#include "vm.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace px {

// One typed use of a matrix row by an instruction.
struct TypeUse {
    uint32_t row = 0;
    DType type = DType::U8;
    uint32_t op_x = 0; // x of the instruction's opcode pixel (after a WIDE prefix)
    uint8_t opcode = 0;
    int slot = 0; // 0, 1, 2: operand a, b, c; 3 + k: the k-th row its parameters name (a bias)
};

// The matrix rows one decoded instruction names, with their types: its operands of a matrix kind
// (not None, not ScalarOut) and its parameter rows. Unknown opcodes name none.
std::vector<TypeUse> instruction_type_uses(const Instruction& ins);

// "i32 by QMATMUL32 at pixel (3,0) (operand c)", "f32 by FMATMUL at pixel (5,0) (bias row)".
std::string type_use_text(const TypeUse& use);

struct MatrixTypes {
    std::map<uint32_t, TypeUse> first; // each named row's first use, in program order
    struct Conflict {
        TypeUse first, other; // the row's first use and the first use of another type
    };
    std::vector<Conflict> conflicts; // at most one per row
    // The row's type: its first use's, or nullopt when no instruction names it.
    std::optional<DType> of(uint32_t row) const;
};

// Uses over instructions in program order (the caller decides which run: the validator passes
// those its walk reaches, tools the instructions up to the first HALT).
MatrixTypes matrix_types(const std::vector<Instruction>& program);
// The instructions of row 0 from pc 0 up to and including the first HALT, stopping early at one
// that does not decode (unknown opcode, truncated): the instructions a run can execute.
std::vector<Instruction> program_instructions(const Image& image);

} // namespace px
