// pxi run — executes a program and reports how it ended; optionally saves the result.
//
// The output file is written only when the run halts (or traps, with --save-on-trap), never when
// the input cannot be read, and never over the input unless --in-place: a program that traps
// must not leave a half-run image where a good one was. save_png() is atomic.
#include "bench.h"
#include "commands.h"
#include "cpu_fast.h"
#include "gl_session.h"
#include "npy.h"
#include "pixellm.h"
#include "png_io.h"
#include "profile.h"
#include "trace.h"
#include "vm.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

namespace {

struct RunArgs {
    std::string input, output, executor = "cpu", kernel = "tiled", input_npy, input_region = "input";
    uint64_t max_steps = px::kDefaultStepLimit;
    bool trace = false, json = false, save_on_trap = false, in_place = false, force = false, profile = false;
};

// ---- Executor selection: the one place where an executor is chosen. -------------------------
// Each executor runs `vm` to the end (halt or trap); with `on_trace`, it hands over one line per
// step (engine/trace.h). Returns an error message, or "" on success (a trap is not an error here).
#ifdef PXOS_HAVE_GL
const std::vector<std::string> kExecutors = {"cpu", "cpu-ref", "gl"};

// The GL executor: the program runs on a texture; the image comes back once, at the end. With a
// trace, each line is the CPU's format (the image is read back for its hash) plus the step's GPU
// time from timer queries: "... gpu_ms=0.412".
std::string run_gl(px::VmState& vm, const std::string& kernel,
                   const std::function<void(const std::string&)>& on_trace) {
    std::string error;
    auto gl = pxi::open_gl(vm.image, kernel, vm.step_limit, bool(on_trace), error);
    if (!gl) return error;
    while (px::gl::gl_status(gl->executor) == px::VmStatus::Ready) {
        const px::gl::GlStepResult r = px::gl::gl_step(gl->executor);
        if (!on_trace) continue;
        px::VmState view;
        view.image = px::gl::gl_read_image(gl->executor);
        view.pc = px::gl::gl_pc(gl->executor);
        view.steps = px::gl::gl_steps(gl->executor);
        view.step_limit = vm.step_limit;
        view.status = px::gl::gl_status(gl->executor);
        view.trap = px::gl::gl_trap(gl->executor);
        std::string line = px::trace_line(view, r.step);
        if (line.empty()) continue;
        if (r.gpu_ms >= 0 && view.status != px::VmStatus::Trapped) {
            char ms[32];
            std::snprintf(ms, sizeof ms, " gpu_ms=%.3f", r.gpu_ms);
            line += ms;
        }
        on_trace(line);
    }
    const auto errors = px::gl::gl_take_errors(gl->executor);
    if (!errors.empty()) return "OpenGL error: " + errors.front();
    vm.image = px::gl::gl_read_image(gl->executor);
    vm.pc = px::gl::gl_pc(gl->executor);
    vm.steps = px::gl::gl_steps(gl->executor);
    vm.status = px::gl::gl_status(gl->executor);
    vm.trap = px::gl::gl_trap(gl->executor);
    return "";
}
#else
const std::vector<std::string> kExecutors = {"cpu", "cpu-ref"};
#endif

std::string run_with_executor(const std::string& executor, const std::string& kernel, px::VmState& vm,
                              const std::function<void(const std::string&)>& on_trace) {
#ifdef PXOS_HAVE_GL
    if (executor == "gl") return run_gl(vm, kernel, on_trace);
#else
    (void)kernel;
#endif
    // "cpu" is the optimized interpreter (engine/cpu_fast.h, byte-identical by test); "cpu-ref" the
    // protocol's reference kernels. Both share every check and trap through plan_instruction().
    if (executor == "cpu" || executor == "cpu-ref") {
        const px::PlanExecutor execute = executor == "cpu" ? px::fast_executor() : px::execute_reference;
        if (!on_trace) {
            px::run(vm, {.execute = execute});
            return "";
        }
        while (vm.status == px::VmStatus::Ready) {
            const px::StepResult r = px::step(vm, nullptr, execute);
            const std::string line = px::trace_line(vm, r);
            if (!line.empty()) on_trace(line);
        }
        return "";
    }
    return "unknown executor '" + executor + "'";
}
// ---------------------------------------------------------------------------------------------

// --profile: the run one step at a time with each step timed (engine/profile.h), against the
// machine's ceilings measured first (about a second; pxi bench's loops).
px::Profile run_profiled(const RunArgs& args, px::VmState& vm, std::string& peaks_what) {
    const unsigned threads = args.executor == "cpu" ? std::max(1u, std::thread::hardware_concurrency()) : 1u;
    const pxbench::ProfilePeaks peaks =
        pxbench::measure_profile_peaks(threads, vm.image.rgba.size(), "the image's size");
    peaks_what = peaks.what;
    px::MachinePeaks mp;
    mp.int_gmacs = peaks.int_gmacs, mp.float_gmacs = peaks.float_gmacs, mp.read_gbs = peaks.read_gbs;
    const px::PlanExecutor execute = args.executor == "cpu" ? px::fast_executor() : px::execute_reference;
    return px::profile_run(vm, execute, &mp);
}

nlohmann::json work_json(const px::PlanWork& w) {
    return {{"macs", w.macs},
            {"elements", w.elements},
            {"bytes_read", w.bytes_read},
            {"bytes_written", w.bytes_written},
            {"value_bytes_read", w.value_bytes_read},
            {"value_bytes_written", w.value_bytes_written}};
}

nlohmann::json profile_json(const px::Profile& p, const std::string& peaks) {
    nlohmann::json ops = nlohmann::json::array();
    for (const px::OpProfile& op : p.ops)
        ops.push_back({{"opcode", op.opcode},
                       {"name", op.name},
                       {"count", op.count},
                       {"ms", op.ms},
                       {"work", work_json(op.work)},
                       {"limit_ms", op.limit_ms},
                       {"bound", op.bound},
                       {"fraction_of_limit", op.fraction}});
    return {{"peaks", peaks},
            {"steps", p.steps},
            {"ms", p.ms},
            {"work", work_json(p.work)},
            {"limit_ms", p.limit_ms},
            {"fraction_of_limit", p.fraction},
            {"ops", ops}};
}

void print_profile(const px::Profile& p, const std::string& peaks) {
    std::printf("profile (%s)\n", peaks.c_str());
    std::printf("  %-10s %8s %10s %6s %12s %12s %10s %10s %10s %8s %8s\n", "opcode", "count", "ms", "time%",
                "MAC", "elements", "MB read", "MB written", "value MB", "bound", "of limit");
    auto row = [&](const std::string& name, uint64_t count, double ms, const px::PlanWork& w,
                   const std::string& bound, double fraction) {
        std::printf("  %-10s %8llu %10.3f %5.1f%% %12llu %12llu %10.3f %10.3f %10.3f %8s %8.3f\n",
                    name.c_str(), (unsigned long long)count, ms, p.ms > 0 ? 100.0 * ms / p.ms : 0.0,
                    (unsigned long long)w.macs, (unsigned long long)w.elements, double(w.bytes_read) / 1e6,
                    double(w.bytes_written) / 1e6, double(w.value_bytes_read + w.value_bytes_written) / 1e6,
                    bound.c_str(), fraction);
    };
    for (const px::OpProfile& op : p.ops)
        row(op.name, op.count, op.ms, op.work, op.bound, op.fraction);
    row("total", p.steps, p.ms, p.work, "", p.fraction);
}

void run_command(const RunArgs& args) {
    if (args.profile && args.executor == "gl")
        pxi::fail(pxi::kExitUsage, "--profile times each step on the CPU: use --executor cpu or cpu-ref");
    if (args.profile && args.trace) pxi::fail(pxi::kExitUsage, "--profile and --trace cannot be combined");
    if (!args.output.empty() && pxi::same_file(args.input, args.output) && !args.in_place)
        pxi::fail(pxi::kExitUsage,
                  args.output + ": output is the input file; pass --in-place to overwrite it");
    pxi::check_output(args.output, {args.input, args.input_npy}, args.force, args.in_place);
    px::Image image = pxi::load_or_exit(args.input);
    if (!args.input_npy.empty()) { // data in before the run (engine/pixellm.h)
        auto npy = px::read_npy(args.input_npy);
        if (!npy) pxi::fail(pxi::kExitUsage, npy.error().message);
        if (px::Status st = px::set_region_from_npy(image, args.input_region, *npy); !st)
            pxi::fail(pxi::kExitUsage, args.input_npy + ": " + st.error().message);
    }
    px::VmState vm = px::make_vm(std::move(image), args.max_steps);
    const auto t0 = std::chrono::steady_clock::now();
    nlohmann::json trace_json = nlohmann::json::array();
    std::function<void(const std::string&)> on_trace;
    if (args.trace && args.json)
        on_trace = [&](const std::string& line) { trace_json.push_back(line); };
    else if (args.trace)
        on_trace = [](const std::string& line) { std::cout << line << "\n"; };
    std::optional<px::Profile> profile;
    std::string peaks_what;
    std::string error;
    if (args.profile)
        profile = run_profiled(args, vm, peaks_what);
    else
        error = run_with_executor(args.executor, args.kernel, vm, on_trace);
    // With --profile, the steps' own time (the ceilings were measured first, on the clock).
    const double ms =
        profile ? profile->ms
                : std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!error.empty()) pxi::fail(pxi::kExitUsage, error);

    const bool trapped = vm.status == px::VmStatus::Trapped;
    bool wrote = false;
    std::string save_error;
    if (!args.output.empty() && (!trapped || args.save_on_trap)) {
        px::Status st = px::save_png(vm.image, args.output);
        if (st)
            wrote = true;
        else
            save_error = st.error().message;
    }
    if (args.json) {
        nlohmann::json j{
            {"file", args.input},
            {"executor", args.executor},
            {"kernel", args.executor == "gl" ? nlohmann::json(args.kernel) : nlohmann::json(nullptr)},
            {"status", std::string(px::status_name(vm.status))},
            {"steps", vm.steps},
            {"pc", vm.pc},
            {"time_ms", ms},
            {"output", wrote ? nlohmann::json(args.output) : nlohmann::json(nullptr)}};
        if (trapped)
            j["trap"] = {{"code", int(vm.trap.code)},
                         {"name", std::string(px::trap_name(vm.trap.code))},
                         {"x", vm.trap.x},
                         {"y", vm.trap.y},
                         {"message", vm.trap.message}};
        else
            j["trap"] = nullptr;
        if (!save_error.empty()) j["error"] = save_error;
        if (args.trace) j["trace"] = trace_json;
        if (profile) j["profile"] = profile_json(*profile, peaks_what);
        pxi::print_json(j);
    } else {
        char time[32];
        std::snprintf(time, sizeof time, "%.3f ms", ms);
        const std::string steps = std::to_string(vm.steps) + (vm.steps == 1 ? " step" : " steps");
        if (trapped) {
            std::cout << args.input << ": trapped after " << steps << " (" << time << ", " << args.executor
                      << ")\n";
            std::cout << "  " << px::describe_trap(vm.trap) << "\n";
        } else if (vm.pc >= vm.image.width) {
            std::cout << args.input << ": halted after " << steps << ", running off the end of row 0 ("
                      << time << ", " << args.executor << ")\n";
        } else {
            std::cout << args.input << ": halted at pc " << vm.pc << " after " << steps << " (" << time
                      << ", " << args.executor << ")\n";
        }
        if (profile) {
            std::cout.flush();
            print_profile(*profile, peaks_what);
            std::fflush(stdout);
        }
        if (wrote)
            std::cout << "  wrote " << args.output << "\n";
        else if (!args.output.empty() && trapped)
            std::cout << "  not writing " << args.output
                      << " (the program trapped; --save-on-trap writes it)\n";
    }
    if (!save_error.empty()) pxi::fail(pxi::kExitUsage, save_error);
    pxi::finish(trapped ? pxi::kExitFailed : pxi::kExitOk);
}

} // namespace

void register_run(CLI::App& app) {
    auto args = std::make_shared<RunArgs>();
    CLI::App* cmd = app.add_subcommand("run", "Run a program; report how it ended; save the result with -o");
    cmd->add_option("input", args->input, "program to run (.pxi)")->required();
    cmd->add_option("-o,--output", args->output, "where to save the image after the run (atomic write)");
    cmd->add_option("--executor", args->executor, "which executor runs it")
        ->check(CLI::IsMember(kExecutors))
        ->capture_default_str();
    cmd->add_option("--kernel", args->kernel, "MATMUL kernel of the gl executor (same bytes; speed differs)")
        ->check(CLI::IsMember({"simple", "tiled"}))
        ->capture_default_str();
    cmd->add_option("--max-steps", args->max_steps, "step limit (a STEP_LIMIT trap when reached)")
        ->check(pxi::non_negative())
        ->capture_default_str();
    cmd->add_flag("--trace", args->trace,
                  "print one line per step: pc, instruction, status, writes, image hash (gl: and GPU ms)");
    cmd->add_option("--input", args->input_npy,
                    ".npy written into the region named by --input-region first: uint8 as codes, floats "
                    "quantized with the region's scale and zero point (pxos.symbols)");
    cmd->add_option("--input-region", args->input_region, "the region --input fills")->capture_default_str();
    cmd->add_flag("--json", args->json, "print the summary as JSON");
    cmd->add_flag("--profile", args->profile,
                  "time each step and report per opcode: count, ms, multiply-adds, bytes touched, the bound "
                  "(measured first, about a second) and the fraction of it reached");
    cmd->add_flag("--save-on-trap", args->save_on_trap, "write the output even when the program traps");
    cmd->add_flag("--in-place", args->in_place, "allow the output to be the input file");
    pxi::add_force_flag(cmd, args->force);
    cmd->callback([args] { run_command(*args); });
}
