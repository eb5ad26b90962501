// gl_shaders.h — the executor's GLSL sources: embedded at build time, or reloaded from shaders/.
//
// Every shader is assembled the same way: its #version line, then px::glsl_defines() (the opcode
// and trap numbers from engine/opcodes.h and engine/protocol.h, so no number is typed in GLSL),
// then `#include "x.glsl"` lines replaced by that file, then the rest with a #line directive so
// compiler messages name the right line. Pure text: no GL needed, so tests can inspect it.
#pragma once
#include "result.h"

#include <string>
#include <vector>

namespace px::gl {

struct ShaderFile {
    std::string name; // file name in shaders/, e.g. "matmul_tiled.comp"
    std::string text;
};

// Generated from shaders/*.comp and shaders/*.glsl by engine/gl/embed_shaders.cmake.
const std::vector<ShaderFile>& embedded_shader_files();

// The files from `dir` (non-empty: development reload from disk), else the embedded ones.
Result<std::vector<ShaderFile>> load_shader_files(const std::string& dir);

// The source of `name` ready for glShaderSource: version, defines, includes resolved.
Result<std::string> assemble_shader(const std::vector<ShaderFile>& files, const std::string& name);

// The shaders/ directory of the source tree this binary was built from (development reloads).
const char* source_shader_dir();

} // namespace px::gl
