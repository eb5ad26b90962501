// gl_util.h — small move-only owners of the GL objects pxdbg creates, and shader compilation.
#pragma once
#include <epoxy/gl.h>

#include <string>
#include <utility>

namespace pxdbg {

template <void (*Delete)(GLuint)> class GlName {
  public:
    GlName() = default;
    explicit GlName(GLuint id) : id_(id) {}
    GlName(GlName&& o) noexcept : id_(std::exchange(o.id_, 0)) {}
    GlName& operator=(GlName&& o) noexcept {
        if (this != &o) reset(std::exchange(o.id_, 0));
        return *this;
    }
    GlName(const GlName&) = delete;
    GlName& operator=(const GlName&) = delete;
    ~GlName() { reset(); }
    void reset(GLuint id = 0) {
        if (id_) Delete(id_);
        id_ = id;
    }
    GLuint get() const { return id_; }
    explicit operator bool() const { return id_ != 0; }

  private:
    GLuint id_ = 0;
};

inline void delete_texture(GLuint id) {
    glDeleteTextures(1, &id);
}
inline void delete_program(GLuint id) {
    glDeleteProgram(id);
}
inline void delete_vertex_array(GLuint id) {
    glDeleteVertexArrays(1, &id);
}

using GlTexture = GlName<delete_texture>;
using GlProgram = GlName<delete_program>;
using GlVertexArray = GlName<delete_vertex_array>;

// Compiles and links a vertex + fragment program; on failure returns 0 and sets `log`.
GLuint link_program(const char* vert, const char* frag, std::string& log);

} // namespace pxdbg
