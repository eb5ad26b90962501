// pxi compare — runs a program on the CPU reference and on the GL executor in lockstep and
// compares them after every instruction: status, pc, step count, trap (code, pixel, message), the
// rectangles written, and the whole image. Reports parity per step, or the first step and pixel
// where they diverge (exit 1). The question compare answers is "do the executors agree?", so exit 0
// means parity, also for a program that traps when both trap identically (same code, pixel,
// message, pc and step count, image untouched); the summary then says so, with how many steps ran
// before the trap. Whether a program traps is `pxi run`'s question (exit 1 there). Exit 2 for an
// unreadable file or when no OpenGL 4.3 context can be had.
#include "commands.h"
#include "gl_session.h"
#include "vm.h"

#include <iostream>

namespace {

struct CompareArgs {
    std::string input, kernel = "tiled";
    uint64_t max_steps = px::kDefaultStepLimit;
    bool json = false, quiet = false;
};

#ifdef PXOS_HAVE_GL
std::string rects_text(const std::vector<px::Rect>& rects) {
    std::string s;
    for (const px::Rect& r : rects)
        s += (s.empty() ? "" : ";") + std::to_string(r.x) + "," + std::to_string(r.y) + "," +
             std::to_string(r.w) + "," + std::to_string(r.h);
    return s.empty() ? "-" : s;
}

std::string opcode_name(uint8_t op) {
    const px::OpcodeInfo* info = px::opcode_info(op);
    return info ? std::string(info->name) : "op" + std::to_string(op);
}

void compare_command(const CompareArgs& args) {
    px::Image image = pxi::load_or_exit(args.input);
    std::string error;
    auto gl = pxi::open_gl(image, args.kernel, args.max_steps, true, error);
    if (!gl) pxi::fail(pxi::kExitUsage, error);
    px::VmState vm = px::make_vm(std::move(image), args.max_steps);

    nlohmann::json steps = nlohmann::json::array();
    nlohmann::json divergence = nullptr;
    uint64_t n = 0;
    while (vm.status == px::VmStatus::Ready) {
        const px::StepResult c = px::step(vm);
        const px::gl::GlStepResult g = px::gl::gl_step(gl->executor);
        ++n;
        const px::VmRegisters& gr = px::gl::gl_registers(gl->executor);
        std::string what; // the first thing that differs
        if (!(vm.registers() == gr) || c.executed_pc != g.step.executed_pc)
            what = "registers cpu [" + px::registers_text(vm) + "] gl [" + px::registers_text(gr) + "]";
        else if (c.written != g.step.written)
            what = "written rects cpu " + rects_text(c.written) + " gl " + rects_text(g.step.written);
        const px::Image gimg = px::gl::gl_read_image(gl->executor);
        int64_t px_x = -1, px_y = -1;
        for (uint32_t y = 0; y < vm.image.height && px_x < 0; ++y)
            for (uint32_t x = 0; x < vm.image.width; ++x)
                if (vm.image.pixel(x, y) != gimg.pixel(x, y)) {
                    px_x = x, px_y = y;
                    break;
                }
        const auto errors = px::gl::gl_take_errors(gl->executor);
        if (what.empty() && px_x >= 0) what = "pixels";
        if (what.empty() && !errors.empty()) what = "OpenGL error: " + errors.front();
        nlohmann::json s{{"step", n},
                         {"pc", c.executed_pc},
                         {"opcode", opcode_name(c.opcode)},
                         {"status", std::string(px::status_name(vm.status))},
                         {"gpu_ms", g.gpu_ms >= 0 ? nlohmann::json(g.gpu_ms) : nlohmann::json(nullptr)},
                         {"parity", what.empty()}};
        if (vm.status == px::VmStatus::Trapped) s["trap"] = px::describe_trap(vm.trap);
        if (!what.empty()) {
            divergence = {{"step", n}, {"pc", c.executed_pc}, {"what", what}};
            if (px_x >= 0) {
                const px::Rgba a = vm.image.pixel(uint32_t(px_x), uint32_t(px_y));
                const px::Rgba b = gimg.pixel(uint32_t(px_x), uint32_t(px_y));
                divergence["pixel"] = {px_x, px_y};
                divergence["cpu"] = {a[0], a[1], a[2], a[3]};
                divergence["gl"] = {b[0], b[1], b[2], b[3]};
            }
        }
        if (!args.json && !args.quiet) {
            // A trapping instruction is not a step (PROTOCOL.md §4.1) and dispatches nothing.
            const bool trapped = vm.status == px::VmStatus::Trapped;
            std::string gpu = "nothing dispatched";
            if (g.gpu_ms >= 0) {
                char ms[32];
                std::snprintf(ms, sizeof ms, "gpu %.3f ms", g.gpu_ms);
                gpu = ms;
            }
            std::cout << (trapped ? "trap at" : "step " + std::to_string(vm.steps)) << " pc " << c.executed_pc
                      << " "
                      << (trapped ? "TRAP " + std::string(px::trap_name(vm.trap.code))
                                  : opcode_name(c.opcode))
                      << ": " << (what.empty() ? "identical" : "DIVERGES") << " (" << gpu << ")\n";
        }
        steps.push_back(std::move(s));
        if (!what.empty()) break;
    }
    const bool parity = divergence.is_null();
    if (args.json) {
        pxi::print_json({{"file", args.input},
                         {"kernel", args.kernel},
                         {"renderer", gl->context.renderer},
                         {"parity", parity},
                         {"steps_compared", n},
                         {"steps_run", vm.steps},
                         {"status", std::string(px::status_name(vm.status))},
                         {"divergence", divergence},
                         {"steps", steps}});
    } else if (parity && vm.status == px::VmStatus::Trapped) {
        std::cout << args.input << ": parity; both executors trap at pc " << vm.pc << " after " << vm.steps
                  << (vm.steps == 1 ? " step" : " steps")
                  << " with the same report (trapped: " << px::describe_trap(vm.trap) << "; kernel "
                  << args.kernel << "; " << gl->context.renderer << ")\n";
    } else if (parity) {
        std::cout << args.input << ": parity after every one of " << vm.steps
                  << (vm.steps == 1 ? " step" : " steps") << " (" << px::status_name(vm.status) << "; kernel "
                  << args.kernel << "; " << gl->context.renderer << ")\n";
    } else {
        std::cout << args.input << ": CPU and GL diverge at step " << divergence["step"] << " (pc "
                  << divergence["pc"] << "): " << divergence["what"].get<std::string>();
        if (divergence.contains("pixel"))
            std::cout << "; first pixel (" << divergence["pixel"][0] << "," << divergence["pixel"][1]
                      << ") cpu "
                      << pxi::rgba_text(vm.image.pixel(divergence["pixel"][0], divergence["pixel"][1]))
                      << " gl "
                      << pxi::rgba_text({divergence["gl"][0], divergence["gl"][1], divergence["gl"][2],
                                         divergence["gl"][3]});
        std::cout << "\n";
    }
    pxi::finish(parity ? pxi::kExitOk : pxi::kExitFailed);
}
#endif

} // namespace

void register_compare(CLI::App& app) {
    auto args = std::make_shared<CompareArgs>();
    CLI::App* cmd = app.add_subcommand(
        "compare",
        "Run on the CPU and the GL executor in lockstep; report parity per step or the first divergence "
        "(exit 0 on parity, also when both trap identically; 1 on a divergence)");
    cmd->add_option("input", args->input, "program to compare (.pxi)")->required();
    cmd->add_option("--kernel", args->kernel, "MATMUL kernel of the gl executor")
        ->check(CLI::IsMember({"simple", "tiled"}))
        ->capture_default_str();
    cmd->add_option("--max-steps", args->max_steps, "step limit (a STEP_LIMIT trap when reached)")
        ->check(pxi::non_negative())
        ->capture_default_str();
    cmd->add_flag("--json", args->json, "print the comparison as JSON");
    cmd->add_flag("-q,--quiet", args->quiet, "print only the summary line");
    cmd->callback([args] {
#ifdef PXOS_HAVE_GL
        compare_command(*args);
#else
        pxi::fail(pxi::kExitUsage, "this pxi was built without the OpenGL executor (PXOS_GL=OFF)");
#endif
    });
}
