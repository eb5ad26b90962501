// Fuzz target: raw bytes as a small image, bypassing PNG, to reach the interpreter's checks
// directly. Byte 0 = width-1 (1..64), byte 1 = height-1 (1..64), then pixels (zero-filled).
// Invariants: writes stay inside the reported rects, traps leave the image untouched, undo
// restores the image exactly.
#include "validate.h"
#include "vm.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const uint32_t width = uint32_t(data[0] % 64) + 1, height = uint32_t(data[1] % 64) + 1;
    px::Image image = px::make_image(width, height);
    std::memcpy(image.rgba.data(), data + 2, std::min(size - 2, image.rgba.size()));
    const px::ValidationReport report = px::validate(image);
    px::VmState vm = px::make_vm(image, 1024);
    while (vm.status == px::VmStatus::Ready) {
        const std::vector<uint8_t> before = vm.image.rgba;
        px::UndoRecord undo;
        const px::StepResult r = px::step(vm, &undo);
        for (uint32_t y = 0; y < height; ++y)
            for (uint32_t x = 0; x < width; ++x) {
                const size_t i = (size_t(y) * width + x) * 4;
                if (std::memcmp(&before[i], &vm.image.rgba[i], 4) == 0) continue;
                bool inside = false;
                for (const px::Rect& rect : r.written)
                    inside |= rect.contains(x, y);
                if (!inside) __builtin_trap();
            }
        if (vm.status == px::VmStatus::Trapped && vm.image.rgba != before) __builtin_trap();
        px::VmState copy = vm;
        px::undo_step(copy, undo);
        if (copy.image.rgba != before) __builtin_trap();
    }
    // An accepted program never traps, except at the step limit, and OUT_OF_RANGE where the
    // validator said an index is computed at run time (PROTOCOL.md §13, validate.h).
    bool data_dependent = false;
    for (const px::Diagnostic& d : report.diagnostics)
        data_dependent |= d.code == "data-dependent";
    if (report.ok() && vm.status == px::VmStatus::Trapped && vm.trap.code != px::TrapCode::STEP_LIMIT &&
        !(vm.trap.code == px::TrapCode::OUT_OF_RANGE && data_dependent))
        __builtin_trap();
    return 0;
}
