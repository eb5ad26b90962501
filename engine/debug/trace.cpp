// trace.cpp — see trace.h.
#include "trace.h"

#include <cstdio>

namespace px {

uint64_t fnv1a64(const uint8_t* data, size_t size) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; ++i) {
        h ^= data[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t rgba_hash(const Image& image) {
    return fnv1a64(image.rgba.data(), image.rgba.size());
}

std::string trace_line(const VmState& vm, const StepResult& r) {
    const bool trapped = r.status == VmStatus::Trapped;
    if (!trapped && r.written.empty() && r.status == VmStatus::Halted && r.executed_pc >= vm.image.width)
        return {};
    const PixelFetch fetch = image_fetch(vm.image);
    std::string s =
        "step=" + std::to_string(trapped ? vm.steps + 1 : vm.steps) + " pc=" + std::to_string(r.executed_pc);
    if (r.executed_pc < vm.image.width) {
        const Decoded d = decode(fetch, vm.image.width, r.executed_pc);
        if (d.ins.info) {
            s += " " + std::string(d.ins.info->name) + (d.ins.wide ? ".wide " : " ");
            for (int k = 0; k < 3; ++k)
                s += (k ? "," : "") + std::to_string(d.ins.operand[k]);
        } else {
            s += " op" + std::to_string(d.ins.opcode);
        }
    }
    s += " status=" + std::string(status_name(r.status));
    if (trapped)
        s += " trap=" + std::string(trap_name(vm.trap.code)) + "@" + std::to_string(vm.trap.x) + "," +
             std::to_string(vm.trap.y);
    s += " writes=";
    if (r.written.empty()) s += "-";
    for (size_t i = 0; i < r.written.size(); ++i) {
        const Rect& w = r.written[i];
        s += (i ? ";" : "") + std::to_string(w.x) + "," + std::to_string(w.y) + "," + std::to_string(w.w) +
             "," + std::to_string(w.h);
    }
    char hash[32];
    std::snprintf(hash, sizeof hash, " fnv=%016llx", static_cast<unsigned long long>(rgba_hash(vm.image)));
    return s + hash;
}

std::string trace_run(VmState& vm) {
    std::string out;
    while (vm.status == VmStatus::Ready) {
        const StepResult r = step(vm);
        const std::string line = trace_line(vm, r);
        if (!line.empty()) out += line + "\n";
    }
    return out;
}

} // namespace px
