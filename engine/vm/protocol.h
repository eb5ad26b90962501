// protocol.h — constants of Pixel Protocol 1.1 (PROTOCOL.md is normative; this mirrors it).
//
// Trap codes, resource limits and the debug-info chunk keys live here next to the opcode table,
// so that the GLSL executor receives all of them through glsl_defines() and no number is typed
// twice.
#pragma once
#include "opcodes.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace px {

inline constexpr std::string_view kProtocolVersion = "1.1";

// Resource limits (PROTOCOL.md §8). Loaders refuse larger images before allocating.
inline constexpr uint32_t kMaxDimension = 16384;
inline constexpr uint64_t kDefaultStepLimit = 65536;

// X(number, NAME, "meaning")
#define PX_TRAP_TABLE(X)                                                                                     \
    X(0, NONE, "no trap")                                                                                    \
    X(1, BAD_OPCODE, "the opcode byte is not in the opcode table")                                           \
    X(2, TRUNCATED, "a WIDE prefix or parameter pixels run past the end of row 0")                           \
    X(3, ROW_OUT_OF_IMAGE, "an operand names row 0 or a row at or beyond the image height")                  \
    X(4, BAD_HEADER, "a matrix header has zero rows or zero columns")                                        \
    X(5, MATRIX_OVERFLOW, "a matrix's elements run past the last row of the image")                          \
    X(6, SHAPE_MISMATCH, "operand shapes do not fit the opcode's rule")                                      \
    X(7, STEP_LIMIT, "the step limit was reached before HALT")                                               \
    X(8, BAD_PARAM, "a parameter pixel holds a value outside its defined range")                             \
    X(9, OUT_OF_RANGE, "a data pixel holds an index or length outside what the instruction allows")

enum class TrapCode : uint8_t {
#define PX_TRAP_ENUM(num, name, meaning) name = num,
    PX_TRAP_TABLE(PX_TRAP_ENUM)
#undef PX_TRAP_ENUM
};

std::string_view trap_name(TrapCode code);
std::string_view trap_meaning(TrapCode code);

// PNG text chunk keys for debug information (PROTOCOL.md §7). Executors ignore them; every tool
// that saves an image writes back every text chunk it loaded.
inline constexpr std::string_view kSymbolsKey = "pxos.symbols"; // JSON, see debuginfo.h
inline constexpr std::string_view kSourceKey = "pxos.source";   // the .pxasm text it was built from

// `#define` lines for GLSL: every opcode (OP_<NAME>), trap code (TRAP_<NAME>), the WIDE prefix
// and the limits. Shaders are compiled with this text injected after their #version line.
std::string glsl_defines();

} // namespace px
