// HALT (PROTOCOL.md §5): stops execution; no operands, writes nothing. The step driver stops the
// VM after it (vm.cpp, step_registers).
#include "opdef.h"

namespace px::ops {
namespace {
std::optional<Trap> shape(Plan&, const PlanContext&) {
    return std::nullopt;
}
void reference(Image&, const Plan&) {}
} // namespace

const OpDef def_HALT = {Opcode::HALT, no_params, no_check, shape,      no_description,
                        no_rows,      reference, nullptr,  u8_operands};

} // namespace px::ops
