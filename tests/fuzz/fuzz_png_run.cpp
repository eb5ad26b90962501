// Fuzz target: PNG bytes -> load -> validate -> run on the CPU with a step limit.
// Invariants beyond "no crash": a program validate() accepts never traps, and a trap leaves the
// image exactly as it was before the trapping instruction.
#include "png_io.h"
#include "validate.h"
#include "vm.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto loaded = px::load_png_bytes({data, size}, "<fuzz>");
    if (!loaded) return 0;
    const px::Image& image = loaded->image;
    if (uint64_t(image.width) * image.height > (1u << 20)) return 0; // keep each run fast
    const px::ValidationReport report = px::validate(image);
    px::VmState vm = px::make_vm(image, 4096);
    while (vm.status == px::VmStatus::Ready) {
        const std::vector<uint8_t> before = vm.image.rgba;
        px::step(vm);
        if (vm.status == px::VmStatus::Trapped && vm.image.rgba != before) __builtin_trap();
    }
    if (report.ok() && vm.status == px::VmStatus::Trapped && vm.trap.code != px::TrapCode::STEP_LIMIT)
        __builtin_trap();
    // Re-encoding what we loaded must load back to the same pixels.
    auto encoded = px::encode_png(image);
    if (!encoded) __builtin_trap();
    auto again = px::load_png_bytes(encoded.value(), "<fuzz-reencoded>");
    if (!again || again->image.rgba != image.rgba) __builtin_trap();
    return 0;
}
