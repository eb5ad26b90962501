// validate.h — static checks of a program, before it runs (PROTOCOL.md §4.4, §9).
//
// Required checks (errors): RGBA image of at least 1x1; a HALT reachable in row 0; every
// instruction decodes (known opcode, parameters inside row 0); every row operand names a data
// row; every input matrix has a non-empty header and fits; shapes follow each opcode's rule as
// the headers stand *after the instructions before it* (outputs written earlier count); outputs
// fit. Recommended checks (warnings): matrices whose pixels overlap, an output overlapping an
// input of the same instruction (except the in-place cases that are so by definition: an in/out
// operand such as QRELU's, and an element-wise ADD/QADD whose output is exactly its input a or
// b), data rows no instruction references (rows a trapping instruction names count as
// referenced), non-zero "none" operands, a matrix used with two different element types
// (typing.h: "type-conflict", naming both instruction pixels).
//
// The validator simulates headers only (no arithmetic), so it is fast on large programs, and a
// program it accepts never traps when run (tests/validate_test.cpp checks this on random
// programs), with one exception: an index or length that an instruction computes at run time
// (a GATHER index written by ARGMAX/SAMPLE) is data, checked when it runs (OUT_OF_RANGE).
// Loops (LOOP, PROTOCOL.md §13.1) are walked as they run: the counter is read from the image and
// counted down, so every iteration's headers (APPEND's growing length) are checked; a counter an
// earlier instruction writes is an error (loop-bound-unknown: the bound is not in pixels the
// validator can read), and a walk past the default step limit is a warning (step-limit).
#pragma once
#include "image.h"

#include <cstdint>
#include <string>
#include <vector>

namespace px {

enum class Severity : uint8_t { Error, Warning, Info };

struct Diagnostic {
    Severity severity = Severity::Error;
    std::string code;    // short stable identifier, e.g. "no-halt", "row-out-of-image"
    std::string message; // one line naming the pixel or row
    uint32_t x = 0, y = 0;
    // An Error that is the trap plan_instruction() reports for an instruction the walk reaches:
    // the program traps there whenever it runs (what `pxi asm` refuses).
    bool always_traps = false;
};

struct ValidationReport {
    std::vector<Diagnostic> diagnostics;
    bool ok() const; // no Error diagnostics
};

ValidationReport validate(const Image& image);

std::string_view severity_name(Severity s);

// "error[shape-mismatch] at pixel (0,2): MATMUL at pixel (1,0): ...", as `pxi validate` prints it.
std::string diagnostic_text(const Diagnostic& d);

} // namespace px
