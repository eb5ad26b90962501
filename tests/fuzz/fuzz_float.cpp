// Fuzz target: executor parity on hostile programs, aimed at the float opcodes (FMATMUL, FADD,
// FMUL and whatever typed opcodes the table gains). The input is not an image but a recipe for
// one, read byte by byte: an image width, up to four
// matrices in fixed slots whose shapes and element words come from the input (NaN payloads,
// infinities, subnormals, -0, extremes and raw words in every position), and up to six
// instructions. Opcodes come from the opcode table (opcodes.h), three times in four from the typed
// ones: those whose definition declares operand types or names parameter channels (ops/opdef.h
// operand_types, param_channel_text: dtype pixels, so the float opcodes and the integer-word
// ones), so opcodes added to the table are reached without editing this file. Parameter
// pixel channels are drawn from what parameters hold: dtype codes, slot rows, small numbers,
// raw bytes.
//
// The program runs step by step on the reference executor and on the optimized one (cpu_fast)
// side by side. Invariants: after every step both have the same registers (so the same traps)
// and byte-identical images; a trap leaves the image as it was. Anything else is __builtin_trap().
#include "cpu_fast.h"
#include "opcodes.h"
#include "ops/opdef.h"
#include "vm.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Reads the input front to back; past its end every read is 0 (libFuzzer grows inputs).
struct Reader {
    const uint8_t* data;
    size_t size, at = 0;
    uint8_t byte() { return at < size ? data[at++] : 0; }
    uint32_t word() {
        uint32_t w = 0;
        for (int i = 0; i < 4; ++i)
            w |= uint32_t(byte()) << (8 * i);
        return w;
    }
};

// Element words that break float executors: NaN payloads (quiet, signalling, negative), +-inf,
// subnormals (smallest, largest), +-0, the smallest normals, +-MAX, 1 and values whose products
// overflow, underflow or cancel; f16 patterns in both halves; i32 extremes.
constexpr uint32_t kHostile[] = {0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,
                                 0x00800000, 0x80800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
                                 0x7FC12345, 0x7F800001, 0xFF800001, 0x7FBFFFFF, 0xFFFFFFFF, 0x7F7FFFFF,
                                 0xFF7FFFFF, 0x3F800000, 0xBF800000, 0x5F800000, 0x1F800000, 0x3F800001,
                                 0x33800000, 0x4B800000, 0x7C007C00, 0xFC00FC00, 0x7E017E01, 0x00010001,
                                 0x03FF83FF, 0x7BFFFBFF, 0x80000000, 0x7FFFFFFF, 0x000000FF, 0x00000080};

uint32_t element_word(Reader& in) {
    const uint8_t mode = in.byte();
    switch (mode % 4) {
    case 0: return kHostile[(mode >> 2) % (sizeof kHostile / 4)];
    case 1: { // a small float: exact sums and products
        const float f = float(int(mode >> 2) - 32) * 0.25f;
        uint32_t w;
        std::memcpy(&w, &f, 4);
        return w;
    }
    case 2: return uint32_t(mode >> 2); // a small integer (u8 codes, i32 tokens)
    default: return in.word();          // raw
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool verbose = std::getenv("PXOS_FUZZ_VERBOSE") != nullptr;
    Reader in{data, size};
    const uint32_t width = 2 + in.byte() % 47; // 2..48
    const uint32_t stride = width - 1;
    // Four matrix slots, one after another from row 1.
    px::MatrixHeader shape[4];
    uint32_t slot_row[4], next = 1;
    for (int s = 0; s < 4; ++s) {
        shape[s] = {1u + in.byte() % 20, 1u + in.byte() % 20}; // cols, rows
        slot_row[s] = next;
        next += uint32_t((shape[s].elements() + stride - 1) / stride);
    }
    const uint32_t height = std::min<uint32_t>(255, next + in.byte() % 3);
    px::Image image = px::make_image(width, height);
    for (int s = 0; s < 4; ++s) {
        const uint8_t how = in.byte();
        if (how % 8 == 0) continue; // an empty slot: BAD_HEADER when read
        if (slot_row[s] >= height) break;
        image.set_pixel(0, slot_row[s], px::encode_header(shape[s]));
        const uint32_t fill = element_word(in); // most elements repeat one word, some vary
        for (uint64_t i = 0; i < shape[s].elements(); ++i) {
            const uint64_t y = px::element_y(i, slot_row[s], width);
            if (y >= height) break;
            image.set_pixel(px::element_x(i, width), uint32_t(y),
                            px::word_pixel(how & 0x10 || in.byte() & 1 ? element_word(in) : fill));
        }
    }

    // Opcodes from the table; typed ones (float and integer-word operands) three times in four.
    std::vector<const px::OpcodeInfo*> all, typed;
    for (const px::OpcodeInfo& info : px::kOpcodes) {
        all.push_back(&info);
        const px::OpDef* def = px::op_def(info.number);
        if (def && (def->operand_types || def->param_channel_text)) typed.push_back(&info);
    }
    auto channel = [&in, &slot_row]() -> uint8_t {
        const uint8_t b = in.byte();
        switch (b % 8) {
        case 0: return 0;
        case 1:
        case 2: return 1; // f32, ReLU, a row low byte
        case 3: return 2; // f16, GELU
        case 4: return 3; // i32
        case 5: return uint8_t(slot_row[(b >> 3) % 4]);
        case 6: return uint8_t((b >> 3) & 7);
        default: return in.byte();
        }
    };
    uint32_t x = 0;
    for (uint32_t n = 1 + in.byte() % 6; n > 0 && x < width; --n) {
        const uint8_t pick = in.byte();
        const px::OpcodeInfo* info = (pick & 3) != 0 && !typed.empty() ? typed[(pick >> 2) % typed.size()]
                                                                       : all[(pick >> 2) % all.size()];
        px::Rgba op{info->number, 0, 0, 0};
        for (int k = 0; k < 3; ++k) {
            const uint8_t b = in.byte();
            if (info->operands[k] == px::OperandKind::None)
                op[1 + k] = b < 240 ? 0 : b; // sometimes a stray byte
            else
                op[1 + k] = b < 224 ? uint8_t(slot_row[b % 4]) : b; // a slot, sometimes any row
        }
        if (x + 1 + info->param_pixels > width) break;
        image.set_pixel(x++, 0, op);
        for (uint32_t k = 0; k < info->param_pixels; ++k) {
            px::Rgba p{};
            const bool zero_tail = in.byte() % 4 != 0; // the reserved channels usually 0
            for (int c = 0; c < 4; ++c)
                p[c] = zero_tail && c == 3 ? 0 : channel();
            image.set_pixel(x++, 0, p);
        }
    }
    // The rest of row 0 is HALT (0).

    px::VmState ref = px::make_vm(image, 64), fast = px::make_vm(image, 64);
    px::FastSettings settings;
    settings.threads = 1 + in.byte() % 2; // the bytes must not depend on it
    settings.min_macs_per_thread = 0;
    const px::PlanExecutor fast_exec = px::fast_executor(settings);
    while (ref.status == px::VmStatus::Ready) {
        const std::vector<uint8_t> before = ref.image.rgba;
        const px::StepResult r = px::step(ref);
        px::step(fast, nullptr, fast_exec);
        if (!(ref.registers() == fast.registers())) __builtin_trap(); // same trap, same pc
        if (ref.image.rgba != fast.image.rgba) __builtin_trap();      // byte parity
        if (ref.status == px::VmStatus::Trapped && ref.image.rgba != before) __builtin_trap();
        if (verbose) // what a seed reaches (PXOS_FUZZ_VERBOSE=1 with the replay build)
            std::fprintf(stderr, "  %ux%u step %llu %s: %s%s\n", width, height, (unsigned long long)ref.steps,
                         px::opcode_info(r.opcode) ? std::string(px::opcode_info(r.opcode)->name).c_str()
                                                   : "?",
                         std::string(px::status_name(ref.status)).c_str(),
                         ref.status == px::VmStatus::Trapped ? (": " + ref.trap.message).c_str() : "");
    }
    return 0;
}
