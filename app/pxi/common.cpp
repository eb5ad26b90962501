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

bool write_text_file(const std::string& path, const std::string& text, std::string& error) {
    const px::Status st = px::write_file_atomic(
        path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!st) error = st.error().message;
    return st.ok();
}

} // namespace pxi
