// pxi disasm — a program as .pxasm text that assembles back to the same pixels.
#include "asm.h"
#include "commands.h"

#include <iostream>

namespace {

struct DisasmArgs {
    std::string input, output;
    bool force = false;
};

void disasm_command(const DisasmArgs& args) {
    pxi::check_output(args.output, {args.input}, args.force);
    const px::Image image = pxi::load_or_exit(args.input);
    const std::string text = px::disassemble(image);
    if (args.output.empty()) {
        std::cout << text;
        pxi::finish(pxi::kExitOk);
    }
    std::string error;
    if (!pxi::write_text_file(args.output, text, error)) pxi::fail(pxi::kExitUsage, error);
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_disasm(CLI::App& app) {
    auto args = std::make_shared<DisasmArgs>();
    CLI::App* cmd = app.add_subcommand("disasm", "Disassemble a program to .pxasm text (stdout unless -o)");
    cmd->add_option("input", args->input, "program (.pxi)")->required();
    cmd->add_option("-o,--output", args->output, "write the text here (atomic write)");
    pxi::add_force_flag(cmd, args->force);
    cmd->callback([args] { disasm_command(*args); });
}
