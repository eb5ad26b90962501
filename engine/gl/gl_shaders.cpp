#include "gl_shaders.h"

#include "protocol.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace px::gl {

const char* source_shader_dir() {
    return PXOS_SHADER_SOURCE_DIR;
}

Result<std::vector<ShaderFile>> load_shader_files(const std::string& dir) {
    if (dir.empty()) return embedded_shader_files();
    std::vector<ShaderFile> files;
    // Reload exactly the files that were embedded: a stray file in the folder is not a shader.
    for (const ShaderFile& embedded : embedded_shader_files()) {
        const std::filesystem::path path = std::filesystem::path(dir) / embedded.name;
        std::ifstream in(path, std::ios::binary);
        if (!in) return make_error(ErrorCode::Io, "cannot read shader " + path.string());
        std::ostringstream text;
        text << in.rdbuf();
        files.push_back({embedded.name, text.str()});
    }
    return files;
}

namespace {
const ShaderFile* find_file(const std::vector<ShaderFile>& files, const std::string& name) {
    for (const ShaderFile& f : files)
        if (f.name == name) return &f;
    return nullptr;
}
} // namespace

Result<std::string> assemble_shader(const std::vector<ShaderFile>& files, const std::string& name) {
    const ShaderFile* main = find_file(files, name);
    if (!main) return make_error(ErrorCode::Gl, "no shader named " + name);
    std::istringstream in(main->text);
    std::string line, out;
    int number = 0;
    bool have_version = false;
    while (std::getline(in, line)) {
        ++number;
        if (!have_version) {
            if (line.rfind("#version", 0) != 0)
                return make_error(ErrorCode::Gl, name + ": the first line must be #version");
            out += line + "\n" + glsl_defines() + "#line " + std::to_string(number + 1) + "\n";
            have_version = true;
            continue;
        }
        if (line.rfind("#include \"", 0) == 0) {
            const size_t end = line.find('"', 10);
            const std::string inc = end == std::string::npos ? "" : line.substr(10, end - 10);
            const ShaderFile* f = find_file(files, inc);
            if (!f)
                return make_error(ErrorCode::Gl,
                                  name + ":" + std::to_string(number) + ": cannot include " + inc);
            out += f->text + "\n#line " + std::to_string(number + 1) + "\n";
            continue;
        }
        out += line + "\n";
    }
    if (!have_version) return make_error(ErrorCode::Gl, name + " is empty");
    return out;
}

} // namespace px::gl
