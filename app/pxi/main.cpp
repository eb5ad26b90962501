// pxi — the headless command-line tool: run, validate, assemble, disassemble, inspect and diff
// .pxi programs. Each subcommand registers itself (commands.h); this file owns the App, turns
// CLI11's parse errors into one line with exit status 2, and passes the commands' statuses on.
#include "commands.h"
#include "protocol.h"

#include <iostream>
#include <new>

int main(int argc, char** argv) {
    CLI::App app{"pxi: run, check and inspect pxOS programs (.pxi: an RGBA PNG that is a program)"};
    app.set_version_flag("--version",
                         std::string("pxi 1.0.0 (Pixel Protocol ") + std::string(px::kProtocolVersion) + ")");
    app.require_subcommand(1);
    app.failure_message([](const CLI::App*, const CLI::Error& e) {
        return std::string("pxi: ") + e.what() + " (see --help)\n";
    });
    register_run(app);
    register_validate(app);
    register_disasm(app);
    register_asm(app);
    register_info(app);
    register_diff(app);
    register_pixellm(app);
    register_accuracy(app);
    register_compare(app);
    register_bench(app);
    register_tokenizer(app);
    register_tokenize(app);
    register_detokenize(app);
    register_corpus(app);
    register_gpt(app);
    register_generate(app);
    register_eval(app);
    register_attention(app);
    register_lens(app);
    // An unknown first word is a mistyped command: say so and list the commands (CLI11 alone
    // would answer "A subcommand is required", which hides the typo).
    if (argc > 1 && argv[1][0] != '-') {
        const std::string word = argv[1];
        std::string names;
        bool known = false;
        for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
            known = known || sub->get_name() == word;
            names += (names.empty() ? "" : ", ") + sub->get_name();
        }
        if (!known) {
            std::cerr << "pxi: unknown command '" << word << "'; the commands are " << names
                      << " (see --help)\n";
            return pxi::kExitUsage;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {
        return e.get_exit_code();
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : pxi::kExitUsage;
    } catch (const std::bad_alloc&) {
        // The last line of defence (issue 18): a limit on the process's memory (ulimit -v, a
        // container) met where no error value is returned. Outputs are written atomically, so
        // nothing half-written is left behind.
        std::cerr << "pxi: out of memory (" << argv[1] << "): the process may not allocate what this needs\n";
        return pxi::kExitUsage;
    }
    return 0;
}
