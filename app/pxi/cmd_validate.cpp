// pxi validate — static checks (engine/validate.h): one line per diagnostic, status 1 on errors.
#include "commands.h"
#include "validate.h"

#include <iostream>

namespace {

struct ValidateArgs {
    std::string input;
    bool json = false;
};

void validate_command(const ValidateArgs& args) {
    const px::Image image = pxi::load_or_exit(args.input);
    const px::ValidationReport report = px::validate(image);
    if (args.json) {
        nlohmann::json diags = nlohmann::json::array();
        for (const px::Diagnostic& d : report.diagnostics)
            diags.push_back({{"severity", std::string(px::severity_name(d.severity))},
                             {"code", d.code},
                             {"x", d.x},
                             {"y", d.y},
                             {"message", d.message}});
        pxi::print_json({{"file", args.input}, {"ok", report.ok()}, {"diagnostics", diags}});
    } else {
        for (const px::Diagnostic& d : report.diagnostics)
            std::cout << px::diagnostic_text(d) << "\n";
        if (report.ok()) std::cout << args.input << ": valid\n";
    }
    pxi::finish(report.ok() ? pxi::kExitOk : pxi::kExitFailed);
}

} // namespace

void register_validate(CLI::App& app) {
    auto args = std::make_shared<ValidateArgs>();
    CLI::App* cmd =
        app.add_subcommand("validate", "Check a program without running it (status 1 on any error)");
    cmd->add_option("input", args->input, "program to check (.pxi)")->required();
    cmd->add_flag("--json", args->json, "print the diagnostics as JSON");
    cmd->callback([args] { validate_command(*args); });
}
