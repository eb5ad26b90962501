// TEMPORARY ADAPTER (see README.md): one-line disassembly until engine/asm.cpp lands.
#include "asm.h"

namespace px {

std::string disassemble_instruction(const Instruction& ins, const std::vector<Region>& regions) {
    if (!ins.info) return ".byte " + std::to_string(ins.opcode);
    std::string s(ins.info->name);
    if (ins.wide) s += ".wide";
    bool first = true;
    for (int i = 0; i < 3; ++i) {
        if (ins.info->operands[i] == OperandKind::None) continue;
        std::string name = "m" + std::to_string(ins.operand[i]);
        for (const Region& r : regions)
            if (r.row == ins.operand[i]) name = r.name;
        s += (first ? " " : ", ") + name;
        first = false;
    }
    return s;
}

} // namespace px
