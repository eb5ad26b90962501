// RELU (PROTOCOL.md §5.3): ReLU on unsigned bytes is the identity. It still checks its operand
// (header and fit), so a program that names a bad matrix traps; it writes nothing.
#include "opdef.h"

namespace px::ops {
namespace {
std::optional<Trap> shape(Plan&, const PlanContext&) {
    return std::nullopt;
}
void reference(Image&, const Plan&) {} // unsigned bytes are never negative
} // namespace

const OpDef def_RELU = {Opcode::RELU, no_params, no_check, shape,      no_description,
                        no_rows,      reference, nullptr,  u8_operands};

} // namespace px::ops
