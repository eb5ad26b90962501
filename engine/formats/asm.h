// asm.h — the .pxasm text format: assembler and disassembler.
//
// The text names matrices with shapes and data and lists instructions by mnemonic with named
// operands; the assembler allocates rows (engine/layout.h), emits WIDE prefixes for rows above
// 255, writes debug symbols and the source into PNG text chunks (PROTOCOL.md §7). The
// disassembler turns any image back into text that assembles to the same pixels:
// assemble(disassemble(assemble(x))) == assemble(x), byte for byte. Format: docs/pxasm.md.
#pragma once
#include "debuginfo.h"
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

} // namespace px
