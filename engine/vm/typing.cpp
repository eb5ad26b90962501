// typing.cpp — see typing.h.
#include "typing.h"

#include "ops/opdef.h"

namespace px {

std::vector<TypeUse> instruction_type_uses(const Instruction& ins) {
    std::vector<TypeUse> uses;
    if (!ins.info) return uses;
    const uint32_t op_x = ins.pc + (ins.wide ? 1 : 0);
    const std::array<DType, 3> types = operand_types(ins);
    for (int i = 0; i < 3; ++i) {
        const OperandKind kind = ins.info->operands[i];
        if (kind == OperandKind::None || kind == OperandKind::ScalarOut) continue;
        uses.push_back({ins.operand[i], types[size_t(i)], op_x, ins.opcode, i});
    }
    const std::vector<uint32_t> rows = param_rows(ins);
    const std::vector<DType> row_types = param_row_types(ins);
    for (size_t k = 0; k < rows.size(); ++k)
        uses.push_back({rows[k], row_types[k], op_x, ins.opcode, 3 + int(k)});
    return uses;
}

std::string type_use_text(const TypeUse& use) {
    const OpcodeInfo* info = opcode_info(use.opcode);
    static const char* kOperand[3] = {"operand a", "operand b", "operand c"};
    return std::string(dtype_name(use.type)) + " by " +
           (info ? std::string(info->name) : "opcode " + std::to_string(use.opcode)) + " at pixel (" +
           std::to_string(use.op_x) + ",0) (" +
           (use.slot < 3 ? std::string(kOperand[use.slot]) : std::string("parameter row")) + ")";
}

std::optional<DType> MatrixTypes::of(uint32_t row) const {
    auto it = first.find(row);
    if (it == first.end()) return std::nullopt;
    return it->second.type;
}

MatrixTypes matrix_types(const std::vector<Instruction>& program) {
    MatrixTypes out;
    std::map<uint32_t, bool> reported;
    for (const Instruction& ins : program)
        for (const TypeUse& u : instruction_type_uses(ins)) {
            auto [it, added] = out.first.emplace(u.row, u);
            if (added || it->second.type == u.type || reported[u.row]) continue;
            reported[u.row] = true;
            out.conflicts.push_back({it->second, u});
        }
    return out;
}

std::vector<Instruction> program_instructions(const Image& image) {
    std::vector<Instruction> out;
    if (image.width == 0 || image.height == 0) return out;
    const PixelFetch fetch = image_fetch(image);
    for (uint32_t pc = 0; pc < image.width;) {
        Decoded d = decode(fetch, image.width, pc);
        if (d.truncated || !d.ins.info) break;
        out.push_back(d.ins);
        if (Opcode(d.ins.opcode) == Opcode::HALT) break;
        pc += d.ins.length;
    }
    return out;
}

} // namespace px
