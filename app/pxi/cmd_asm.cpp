// pxi asm — assembles .pxasm text into a .pxi (format: docs/pxasm.md).
#include "asm.h"
#include "commands.h"
#include "png_io.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

struct AsmArgs {
    std::string input, output;
};

void asm_command(const AsmArgs& args) {
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
    if (!assembled) pxi::fail(pxi::kExitFailed, assembled.error().message);
    for (const std::string& w : assembled->warnings)
        pxi::warn(w);
    px::Status st = px::save_png(assembled->image, args.output);
    if (!st) pxi::fail(pxi::kExitUsage, st.error().message);
    std::cout << args.output << ": " << assembled->image.width << "x" << assembled->image.height << "\n";
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_asm(CLI::App& app) {
    auto args = std::make_shared<AsmArgs>();
    CLI::App* cmd = app.add_subcommand("asm", "Assemble .pxasm text into a .pxi program");
    cmd->add_option("input", args->input, "source (.pxasm)")->required();
    cmd->add_option("-o,--output", args->output, "program to write (.pxi)")->required();
    cmd->callback([args] { asm_command(*args); });
}
