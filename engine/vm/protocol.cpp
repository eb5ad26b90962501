#include "protocol.h"

#include <cctype>

namespace px {

const OpcodeInfo* opcode_info(uint8_t number) {
    for (const OpcodeInfo& info : kOpcodes)
        if (info.number == number) return &info;
    return nullptr;
}

const OpcodeInfo* opcode_by_name(std::string_view name) {
    for (const OpcodeInfo& info : kOpcodes) {
        if (info.name.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < name.size() && same; ++i)
            same = std::toupper(static_cast<unsigned char>(name[i])) == info.name[i];
        if (same) return &info;
    }
    return nullptr;
}

std::string_view operand_kind_name(OperandKind kind) {
    switch (kind) {
    case OperandKind::None: return "none";
    case OperandKind::MatrixIn: return "matrix in";
    case OperandKind::MatrixOut: return "matrix out";
    case OperandKind::MatrixInOut: return "matrix in/out";
    case OperandKind::ScalarOut: return "scalar out";
    }
    return "?";
}

bool is_row_operand(OperandKind kind) {
    return kind != OperandKind::None;
}

std::string_view trap_name(TrapCode code) {
    switch (code) {
#define PX_TRAP_NAME(num, name, meaning)                                                                     \
    case TrapCode::name: return #name;
        PX_TRAP_TABLE(PX_TRAP_NAME)
#undef PX_TRAP_NAME
    }
    return "UNKNOWN_TRAP";
}

std::string_view trap_meaning(TrapCode code) {
    switch (code) {
#define PX_TRAP_MEANING(num, name, meaning)                                                                  \
    case TrapCode::name: return meaning;
        PX_TRAP_TABLE(PX_TRAP_MEANING)
#undef PX_TRAP_MEANING
    }
    return "unknown trap";
}

std::string glsl_defines() {
    std::string s = "// generated from engine/opcodes.h and engine/protocol.h — do not edit\n";
    auto def = [&s](std::string_view name, uint64_t value) {
        s += "#define ";
        s += name;
        s += " " + std::to_string(value) + "u\n";
    };
#define PX_GLSL_OP(num, name, ka, kb, kc, params, meaning)                                                   \
    def("OP_" #name, num);                                                                                   \
    def("OP_" #name "_PARAMS", params);
    PX_OPCODE_TABLE(PX_GLSL_OP)
#undef PX_GLSL_OP
#define PX_GLSL_TRAP(num, name, meaning) def("TRAP_" #name, num);
    PX_TRAP_TABLE(PX_GLSL_TRAP)
#undef PX_GLSL_TRAP
    def("WIDE_PREFIX", kWidePrefix);
    def("MAX_DIMENSION", kMaxDimension);
    return s;
}

} // namespace px
