// common.cpp — helpers shared by the pxi commands: loading with one-line errors, JSON, files.
#include "commands.h"
#include "png_io.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace pxi {

void finish(int code) {
    throw CLI::RuntimeError(code);
}

void fail(int code, const std::string& message) {
    std::cerr << "pxi: " << message << "\n";
    finish(code);
}

void warn(const std::string& message) {
    std::cerr << "pxi: warning: " << message << "\n";
}

px::Image load_or_exit(const std::string& path) {
    auto loaded = px::load_png(path);
    if (!loaded) fail(kExitUsage, loaded.error().message);
    for (const std::string& w : loaded->warnings)
        warn(w);
    return std::move(loaded->image);
}

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2) << "\n";
}

std::string rgba_text(const px::Rgba& p) {
    return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ", " + std::to_string(p[2]) + ", " +
           std::to_string(p[3]) + ")";
}

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    if (std::filesystem::exists(a, ec) && std::filesystem::exists(b, ec) &&
        std::filesystem::equivalent(a, b, ec))
        return true;
    return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

void check_output(const std::string& output, const std::vector<std::string>& inputs, bool force,
                  bool allow_input) {
    if (output.empty()) return;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const std::string& in = inputs[i];
        if (in.empty() || !same_file(in, output)) continue;
        if (i == 0 && allow_input) return; // run --in-place: replacing the program is what was asked
        fail(kExitUsage, output + ": output is the input file " + in + "; refusing to write over it");
    }
    std::error_code ec;
    const auto st = std::filesystem::symlink_status(output, ec);
    if (!ec && std::filesystem::exists(st)) {
        if (std::filesystem::is_directory(st)) fail(kExitUsage, output + ": is a directory");
        if (!force) fail(kExitUsage, output + ": already exists; pass --force to replace it");
    }
}

CLI::Validator non_negative() {
    return CLI::Validator(
        [](std::string& s) {
            if (!s.empty() && s[0] == '-') return "must be 0 or more, not " + s;
            return std::string();
        },
        "N >= 0");
}

void add_force_flag(CLI::App* cmd, bool& force) {
    cmd->add_flag("-f,--force", force, "replace the output file if it exists (never an input file)");
}

bool write_text_file(const std::string& path, const std::string& text, std::string& error) {
    const px::Status st = px::write_file_atomic(
        path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!st) error = st.error().message;
    return st.ok();
}

} // namespace pxi
