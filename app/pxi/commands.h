// commands.h — the pxi subcommands. main.cpp owns the CLI11 App and calls each register_<name>();
// every command lives in its own cmd_<name>.cpp. A command reports its exit status by throwing
// CLI::RuntimeError(code) from its callback (0 success, 1 the program traps / is invalid / differs,
// 2 usage error or unreadable file); main() turns parse errors into one line and status 2.
#pragma once
#include "image.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

void register_run(CLI::App& app);
void register_validate(CLI::App& app);
void register_disasm(CLI::App& app);
void register_asm(CLI::App& app);
void register_info(CLI::App& app);
void register_diff(CLI::App& app);
void register_pixellm(CLI::App& app);
void register_accuracy(CLI::App& app);
void register_compare(CLI::App& app);    // CPU vs GL lockstep (cmd_compare.cpp)
void register_bench(CLI::App& app);      // executor timings against the naive baseline (cmd_bench.cpp)
void register_tokenizer(CLI::App& app);  // tokenizer train|gpt2 (cmd_tokenizer.cpp)
void register_tokenize(CLI::App& app);   // text -> ids with an image's tokenizer
void register_detokenize(CLI::App& app); // ids -> bytes
void register_corpus(CLI::App& app);     // the language model's text and baselines (cmd_corpus.cpp)
void register_gpt(CLI::App& app);        // the GPT program: build (cmd_gpt.cpp)
void register_generate(CLI::App& app);   // ... generate text with it
void register_eval(CLI::App& app);       // ... score a text with it (bits per byte)
void register_lens(CLI::App& app);       // the quantization lens against the float32 program (JSON)
void register_attention(CLI::App& app);  // ... its attention probabilities (JSON)

namespace pxi {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1; // trap, invalid program, differences
inline constexpr int kExitUsage = 2;  // usage error, unreadable file

// Ends the command with this exit status (no message: print it before).
[[noreturn]] void finish(int code);
// Prints "pxi: <message>" on stderr and ends the command with this status.
[[noreturn]] void fail(int code, const std::string& message);
void warn(const std::string& message); // "pxi: warning: <message>"

// Loads a .pxi, printing load warnings; on error prints one line and ends with status 2.
px::Image load_or_exit(const std::string& path);
// Prints JSON to stdout (indented).
void print_json(const nlohmann::json& j);
// "(r, g, b, a)"
std::string rgba_text(const px::Rgba& p);
// The write policy of every pxi output (docs/write-paths.md), checked before any work is done:
// the output is never one of the command's inputs (unless allow_input, run's --in-place, for the
// first input), and an
// existing file is replaced only with force (--force); otherwise one line and status 2. The
// write itself is atomic (px::write_file_atomic, px::save_png).
void check_output(const std::string& output, const std::vector<std::string>& inputs, bool force,
                  bool allow_input = false);
// Whether two paths name the same file (existing or not).
bool same_file(const std::string& a, const std::string& b);
// A count option's check: refuses a negative number with a plain message (CLI11's own range
// check prints the largest double).
CLI::Validator non_negative();
// Adds the --force flag every writing command takes.
void add_force_flag(CLI::App* cmd, bool& force);
// Writes text atomically (temporary file + rename); false with a message on failure.
bool write_text_file(const std::string& path, const std::string& text, std::string& error);

} // namespace pxi
