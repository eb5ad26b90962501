#include "gl_util.h"

#include <vector>

namespace pxdbg {
namespace {

GLuint compile(GLenum type, const char* src, std::string& log) {
    GLuint s = glCreateShader(type);
    glShaderSource(s, 1, &src, nullptr);
    glCompileShader(s);
    GLint ok = 0;
    glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        GLint n = 0;
        glGetShaderiv(s, GL_INFO_LOG_LENGTH, &n);
        std::vector<char> buf(size_t(n) + 1);
        glGetShaderInfoLog(s, n, nullptr, buf.data());
        log += buf.data();
        glDeleteShader(s);
        return 0;
    }
    return s;
}

} // namespace

GLuint link_program(const char* vert, const char* frag, std::string& log) {
    GLuint vs = compile(GL_VERTEX_SHADER, vert, log);
    GLuint fs = compile(GL_FRAGMENT_SHADER, frag, log);
    if (!vs || !fs) {
        if (vs) glDeleteShader(vs);
        if (fs) glDeleteShader(fs);
        return 0;
    }
    GLuint p = glCreateProgram();
    glAttachShader(p, vs);
    glAttachShader(p, fs);
    glLinkProgram(p);
    glDeleteShader(vs);
    glDeleteShader(fs);
    GLint ok = 0;
    glGetProgramiv(p, GL_LINK_STATUS, &ok);
    if (!ok) {
        GLint n = 0;
        glGetProgramiv(p, GL_INFO_LOG_LENGTH, &n);
        std::vector<char> buf(size_t(n) + 1);
        glGetProgramInfoLog(p, n, nullptr, buf.data());
        log += buf.data();
        glDeleteProgram(p);
        return 0;
    }
    return p;
}

} // namespace pxdbg
