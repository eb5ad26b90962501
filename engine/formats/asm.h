// asm.h — the .pxasm text format: assembler and disassembler.
//
// The text names matrices with shapes and data and lists instructions by mnemonic with named
// operands; the assembler allocates rows (engine/layout.h), emits WIDE prefixes for rows above
// 255, writes debug symbols and the source into PNG text chunks (PROTOCOL.md §7). The
// disassembler turns any image back into text that assembles to the same pixels:
// assemble(disassemble(assemble(x))) == assemble(x), byte for byte. Format: docs/pxasm.md.
// Matrices carry an element type (u8, f32, f16, i32; dtype.h): typed data is written as decimal
// literals that assemble back to exactly the same bits, and the type is recorded in the symbols.
#pragma once
#include "debuginfo.h"
#include "dtype.h"
#include "image.h"
#include "result.h"
#include "vm.h"

#include <string>
#include <string_view>
#include <vector>

namespace px {

struct AsmOptions {
    std::string file_name = "<input>"; // used in messages: "file.pxasm:12: ..."
    std::string base_dir;              // where relative .npy paths are resolved ("" = cwd)
};

struct Assembled {
    Image image;
    std::vector<std::string> warnings;
};

Result<Assembled> assemble(std::string_view source, const AsmOptions& options = {});

// The whole program as .pxasm text (names from symbols or inferred, data inline).
std::string disassemble(const Image& image);

// One instruction as text, e.g. "MATMUL h_in, W_hidden, h", using region names where known.
std::string disassemble_instruction(const Instruction& ins, const std::vector<Region>& regions);

// The bits of one element literal of a matrix of type t (docs/pxasm.md "Typed data"):
// u8 0..255; i32 a signed decimal -2147483648..2147483647 or 0x0..0xFFFFFFFF (the bits); f32 and
// f16 a decimal (sign, fraction, exponent) rounded to the nearest value (ties to even; f32 by
// strtof, f16 from the nearest double, with subnormals, overflow to inf), inf, -inf, nan (the
// canonical quiet NaN: 0x7FC00000, f16 0x7E00) or nan:0xHEX (exactly those bits, any pattern).
// The error says what is wrong, without file or line (the assembler adds them).
Result<uint32_t> parse_element_literal(std::string_view text, DType t);
// The shortest literal that parse_element_literal reads back as exactly `bits` (f32: the first of
// %.6g..%.9g that does; f16: %.3g..%.5g; -0, inf, -inf; nan for the canonical NaN, nan:0x... for
// every other NaN).
std::string element_literal(uint32_t bits, DType t);

} // namespace px
