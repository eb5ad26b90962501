// Fuzz target: assembler text -> assemble -> disassemble -> assemble again; both builds must
// have the same pixels (the round-trip promise of engine/asm.h).
#include "asm.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    px::AsmOptions options;
    options.file_name = "<fuzz>";
    options.base_dir = "/nonexistent-fuzz-dir"; // no file access from fuzz inputs
    auto first = px::assemble(text, options);
    if (!first) return 0;
    if (uint64_t(first->image.width) * first->image.height > (1u << 20)) return 0;
    const std::string listing = px::disassemble(first->image);
    auto second = px::assemble(listing, options);
    if (!second) __builtin_trap();
    if (second->image.width != first->image.width || second->image.height != first->image.height ||
        second->image.rgba != first->image.rgba)
        __builtin_trap();
    return 0;
}
