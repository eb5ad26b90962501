// trace.h — one text line per executed step, shared by `pxi run --trace` and the golden tests.
//
//   step=1 pc=0 MATMUL 1,2,3 status=ready writes=0,3,1,1;1,3,2,1 fnv=cbf29ce484222325
//
// Fields: the step number (1-based: the VM's step count after the step; for a trap, the number
// the step would have had), the pc of the instruction, its mnemonic (with .wide) and numeric
// operand rows, the VM status after the step, the rectangles written (x,y,w,h separated by ';',
// "-" for none) and the 64-bit FNV-1a hash of all RGBA bytes of the image after the step. A trap
// gives one last line with `status=trapped trap=<NAME>@x,y` and the hash of the unchanged image.
// The format is stable:
// tests/golden/*.trace are compared byte for byte.
#pragma once
#include "image.h"
#include "vm.h"

#include <cstdint>
#include <string>

namespace px {

uint64_t fnv1a64(const uint8_t* data, size_t size);
// FNV-1a 64 of image.rgba (pixels only): the hash in traces, golden files and pxdbg's state file.
uint64_t rgba_hash(const Image& image);

// The line for a step that step() just reported (vm is the state after it). Empty when the step
// did nothing (a VM that was not Ready, or the pc ran off row 0 without executing anything).
std::string trace_line(const VmState& vm, const StepResult& result);

// Runs vm to the end and returns every line, each ending in '\n'.
std::string trace_run(VmState& vm);

} // namespace px
