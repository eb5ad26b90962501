// Tests of the executor's shaders: every shader compiles with the protocol defines injected; the
// OP_/TRAP_ names they use exist in the one opcode/trap table; glsl_defines() agrees with the
// table; no shader types a protocol number itself; the embedded copies match shaders/ on disk.
#include "gl_shaders.h"
#include "gl_test_util.h"
#include "protocol.h"

#include <epoxy/gl.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

using namespace px;
using namespace pxtest;

namespace {

// NAME -> value of every `#define NAME <n>u` line in glsl_defines().
std::map<std::string, uint64_t> parse_defines(const std::string& text) {
    std::map<std::string, uint64_t> out;
    const std::regex line(R"(#define (\w+) (\d+)u)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it)
        out[(*it)[1]] = std::stoull((*it)[2]);
    return out;
}

} // namespace

TEST_CASE("glsl_defines() agrees with the opcode and trap tables") {
    const auto defs = parse_defines(glsl_defines());
    size_t ops = 0, traps = 0;
    for (const OpcodeInfo& info : kOpcodes) {
        const std::string name = "OP_" + std::string(info.name);
        REQUIRE_MESSAGE(defs.count(name), name);
        CHECK(defs.at(name) == info.number);
        REQUIRE(defs.count(name + "_PARAMS"));
        CHECK(defs.at(name + "_PARAMS") == info.param_pixels);
        ++ops;
    }
    for (unsigned code = 0; code < 256; ++code) {
        const std::string_view tn = trap_name(TrapCode(code));
        if (tn == "UNKNOWN_TRAP") continue;
        const std::string name = "TRAP_" + std::string(tn);
        REQUIRE_MESSAGE(defs.count(name), name);
        CHECK(defs.at(name) == code);
        ++traps;
    }
    size_t op_defs = 0, trap_defs = 0;
    for (const auto& [name, value] : defs) {
        if (name.rfind("OP_", 0) == 0 && name.find("_PARAMS") == std::string::npos) ++op_defs;
        if (name.rfind("TRAP_", 0) == 0) ++trap_defs;
    }
    CHECK(op_defs == ops); // no define without a table entry
    CHECK(trap_defs == traps);
    CHECK(defs.at("WIDE_PREFIX") == kWidePrefix);
    CHECK(defs.at("MAX_DIMENSION") == kMaxDimension);
}

TEST_CASE("shaders use only protocol names that exist and type no protocol number") {
    const auto defs = parse_defines(glsl_defines());
    const std::regex used(R"(\b((OP|TRAP)_\w+|WIDE_PREFIX|MAX_DIMENSION)\b)");
    size_t uses = 0;
    for (const gl::ShaderFile& f : gl::embedded_shader_files()) {
        CHECK_MESSAGE(f.text.find("#define OP_") == std::string::npos, f.name);
        CHECK_MESSAGE(f.text.find("#define TRAP_") == std::string::npos, f.name);
        for (auto it = std::sregex_iterator(f.text.begin(), f.text.end(), used); it != std::sregex_iterator();
             ++it) {
            CHECK_MESSAGE(defs.count((*it)[1]),
                          f.name << " uses " << (*it)[1] << ", which the table does not define");
            ++uses;
        }
    }
    CHECK(uses > 0); // the element-wise kernel dispatches on OP_ names
}

TEST_CASE("every shader compiles and links with the defines injected") {
    gl_context();
    const auto& files = gl::embedded_shader_files();
    size_t compiled = 0;
    for (const gl::ShaderFile& f : files) {
        if (f.name.size() < 5 || f.name.substr(f.name.size() - 5) != ".comp") continue;
        auto src = gl::assemble_shader(files, f.name);
        REQUIRE_MESSAGE(src.ok(), f.name);
        CHECK(src->find("#define OP_HALT 0u") != std::string::npos);
        CHECK(src->find("#include") == std::string::npos);
        const GLuint sh = glCreateShader(GL_COMPUTE_SHADER);
        const char* text = src->c_str();
        glShaderSource(sh, 1, &text, nullptr);
        glCompileShader(sh);
        GLint ok = 0;
        glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
        char log[2048] = {};
        glGetShaderInfoLog(sh, sizeof log, nullptr, log);
        CHECK_MESSAGE(ok, f.name << ": " << log);
        const GLuint prog = glCreateProgram();
        glAttachShader(prog, sh);
        glLinkProgram(prog);
        glGetProgramiv(prog, GL_LINK_STATUS, &ok);
        CHECK_MESSAGE(ok, f.name << " does not link");
        glDeleteProgram(prog);
        glDeleteShader(sh);
        ++compiled;
    }
    CHECK(compiled >= 6);
    CHECK(glGetError() == GL_NO_ERROR);
}

TEST_CASE("the embedded shaders are the files in shaders/, and a development reload works") {
    auto disk = gl::load_shader_files(gl::source_shader_dir());
    REQUIRE_MESSAGE(disk.ok(), (disk.ok() ? "" : disk.error().message));
    const auto& embedded = gl::embedded_shader_files();
    REQUIRE(disk->size() == embedded.size());
    for (size_t i = 0; i < embedded.size(); ++i)
        CHECK_MESSAGE(disk->at(i).text == embedded[i].text, embedded[i].name);

    gl_context();
    Image img = make_image(4, 4);
    gl::ExecutorDesc desc;
    desc.shader_dir = gl::source_shader_dir();
    CHECK(gl::create_executor(img, desc).ok());
    desc.shader_dir = "/nonexistent/shaders";
    auto bad = gl::create_executor(img, desc);
    REQUIRE(!bad.ok());
    CHECK(bad.error().message.find("/nonexistent/shaders") != std::string::npos);
}

TEST_CASE("a shader that does not compile is reported by name, not crashed on") {
    // A development reload from a folder holding a broken gather.comp.
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "pxos_gl_broken_shaders";
    std::filesystem::create_directories(dir);
    for (const gl::ShaderFile& f : gl::embedded_shader_files()) {
        std::ofstream out(dir / f.name, std::ios::binary);
        out << f.text << (f.name == "gather.comp" ? "\nthis is not glsl\n" : "");
    }
    gl_context();
    gl::ExecutorDesc desc;
    desc.shader_dir = dir.string();
    auto ex = gl::create_executor(make_image(4, 4), desc);
    REQUIRE(!ex.ok());
    CHECK(ex.error().message.find("gather.comp does not compile") != std::string::npos);
    std::filesystem::remove_all(dir);
    while (glGetError() != GL_NO_ERROR) {
    }

    CHECK(!gl::assemble_shader(gl::embedded_shader_files(), "missing.comp").ok());
    std::vector<gl::ShaderFile> no_version = {{"x.comp", "void main() {}\n"}};
    CHECK(!gl::assemble_shader(no_version, "x.comp").ok());
    std::vector<gl::ShaderFile> bad_include = {{"x.comp", "#version 430\n#include \"nope.glsl\"\n"}};
    auto r = gl::assemble_shader(bad_include, "x.comp");
    REQUIRE(!r.ok());
    CHECK(r.error().message.find("nope.glsl") != std::string::npos);
}
