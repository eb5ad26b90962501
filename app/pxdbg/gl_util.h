// gl_util.h — small move-only owners of the GL objects pxdbg creates, and shader compilation.
#pragma once
#include "gl_objects.h"

#include <epoxy/gl.h>

#include <string>
#include <utility>

namespace pxdbg {

using px::gl::GlName; // engine/gl/gl_objects.h

inline void delete_vertex_array(GLuint id) {
    glDeleteVertexArrays(1, &id);
}

using GlTexture = px::gl::Texture;
using GlProgram = px::gl::Program;
using GlVertexArray = GlName<delete_vertex_array>;

// Compiles and links a vertex + fragment program; on failure returns 0 and sets `log`.
GLuint link_program(const char* vert, const char* frag, std::string& log);

} // namespace pxdbg
