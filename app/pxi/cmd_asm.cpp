// pxi asm — assembles .pxasm text into a .pxi (format: docs/pxasm.md), then runs the validator's
// static checks (engine/validate.h): a program with an instruction that traps whenever it is
// reached (a shape mismatch, a shift of 0, ...) is refused with the diagnostic `pxi validate`
// prints, unless --allow-trap (for building trap tests on purpose).
#include "asm.h"
#include "commands.h"
#include "png_io.h"
#include "validate.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

struct AsmArgs {
    std::string input, output;
    bool force = false, allow_trap = false;
};

void asm_command(const AsmArgs& args) {
    pxi::check_output(args.output, {args.input}, args.force);
    std::ifstream in(args.input, std::ios::binary);
    if (!in) pxi::fail(pxi::kExitUsage, args.input + ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) pxi::fail(pxi::kExitUsage, args.input + ": read error");
    const std::filesystem::path path(args.input);
    px::AsmOptions options;
    options.file_name = path.filename().string();
    options.base_dir = path.parent_path().string();
    auto assembled = px::assemble(text.str(), options);
    if (!assembled &&
        assembled.error().code == px::ErrorCode::TooLarge) // memory: like a file too large to load
        pxi::fail(pxi::kExitUsage, args.input + ": " + assembled.error().message);
    if (!assembled) pxi::fail(pxi::kExitFailed, assembled.error().message);
    for (const std::string& w : assembled->warnings)
        pxi::warn(w);
    // The static checks: errors that mean "traps whenever reached" refuse the program; the
    // others (no HALT, a DOT result read as a header) are reported as warnings.
    const px::ValidationReport report = px::validate(assembled->image);
    bool traps = false;
    for (const px::Diagnostic& d : report.diagnostics) {
        if (d.severity != px::Severity::Error) continue;
        const std::string line = px::diagnostic_text(d);
        if (d.always_traps && !args.allow_trap) {
            std::cerr << "pxi: " << options.file_name << ": " << line << "\n";
            traps = true;
        } else {
            pxi::warn(options.file_name + ": " + line);
        }
    }
    if (traps)
        pxi::fail(pxi::kExitFailed, args.output +
                                        " not written: the program traps (pxi validate shows the same; "
                                        "--allow-trap assembles it anyway)");
    px::Status st = px::save_png(assembled->image, args.output);
    if (!st) pxi::fail(pxi::kExitUsage, st.error().message);
    std::cout << args.output << ": " << assembled->image.width << "x" << assembled->image.height << "\n";
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_asm(CLI::App& app) {
    auto args = std::make_shared<AsmArgs>();
    CLI::App* cmd =
        app.add_subcommand("asm", "Assemble .pxasm text into a .pxi program (refused if it can only trap)");
    cmd->add_option("input", args->input, "source (.pxasm)")->required();
    cmd->add_option("-o,--output", args->output, "program to write (.pxi)")->required();
    pxi::add_force_flag(cmd, args->force);
    cmd->add_flag("--allow-trap", args->allow_trap,
                  "write the program even when an instruction traps whenever it is reached");
    cmd->callback([args] { asm_command(*args); });
}
