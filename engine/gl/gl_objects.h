// gl_objects.h — small move-only owners of GL object names (texture, buffer, program, query).
//
// Each wrapper owns exactly one name and deletes it in its destructor; moving transfers the name.
// They are created with the DSA entry points (glCreate*), which bind nothing, and labelled with
// glObjectLabel so debuggers and KHR_debug messages name them. They must be destroyed while the
// context that created them is current (the executor owns them and documents this).
#pragma once
#include <epoxy/gl.h>

#include <string>
#include <utility>

namespace px::gl {

template <void (*Delete)(GLuint)> class GlName {
  public:
    GlName() = default;
    explicit GlName(GLuint name) : name_(name) {}
    GlName(GlName&& o) noexcept : name_(std::exchange(o.name_, 0)) {}
    GlName& operator=(GlName&& o) noexcept {
        if (this != &o) {
            reset();
            name_ = std::exchange(o.name_, 0);
        }
        return *this;
    }
    GlName(const GlName&) = delete;
    GlName& operator=(const GlName&) = delete;
    ~GlName() { reset(); }
    GLuint get() const { return name_; }
    explicit operator bool() const { return name_ != 0; }
    // Deletes the owned name (if any) and takes ownership of `name`.
    void reset(GLuint name = 0) {
        if (name_) Delete(name_);
        name_ = name;
    }

  private:
    GLuint name_ = 0;
};

inline void delete_texture(GLuint n) {
    glDeleteTextures(1, &n);
}
inline void delete_buffer(GLuint n) {
    glDeleteBuffers(1, &n);
}
inline void delete_program(GLuint n) {
    glDeleteProgram(n);
}
inline void delete_query(GLuint n) {
    glDeleteQueries(1, &n);
}

using Texture = GlName<delete_texture>;
using Buffer = GlName<delete_buffer>;
using Program = GlName<delete_program>;
using Query = GlName<delete_query>;

inline void label(GLenum identifier, GLuint name, const std::string& text) {
    glObjectLabel(identifier, name, GLsizei(text.size()), text.c_str());
}

inline Texture make_texture(GLenum target, const std::string& name) {
    GLuint n = 0;
    glCreateTextures(target, 1, &n);
    label(GL_TEXTURE, n, name);
    return Texture(n);
}
inline Buffer make_buffer(const std::string& name) {
    GLuint n = 0;
    glCreateBuffers(1, &n);
    label(GL_BUFFER, n, name);
    return Buffer(n);
}
inline Query make_query(GLenum target, const std::string& name) {
    GLuint n = 0;
    glCreateQueries(target, 1, &n);
    label(GL_QUERY, n, name);
    return Query(n);
}

} // namespace px::gl
