// The OpenGL 4.3 compute executor (gl_executor.h).
//
// One step: plan_instruction() on pixels read back from the texture (row 0 cached: no opcode
// writes row 0, since every operand row is >= 1), then for an instruction that computes:
//   1. gather: each input matrix's R channel is packed into its own SSBO (gather.comp);
//   2. barrier;
//   3. one kernel computes and scatters into the image (add / dot+dot_store / matmul_*), writing
//      R only of element pixels and the whole header pixel.
// Because every input is copied out before the kernel writes, an output that overlaps an input
// still reads the image as it was before the instruction (PROTOCOL.md §4.2). A trapping
// instruction dispatches nothing, so the image is untouched.
//
// GL state: the executor saves and restores what it binds (current program, image unit 0, SSBO
// binding points 0..2 and the generic SSBO binding, pixel pack/unpack buffers and pack/unpack
// pixel-store parameters), so it can share the GUI's context. It enables GL_DEBUG_OUTPUT and, when
// no debug callback is installed yet, installs its own to collect errors (removed on destruction).
#include "gl_executor.h"

#include "gl_objects.h"
#include "gl_shaders.h"

#include "fmath.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

namespace px::gl {

namespace {

constexpr const char* kProgramNames[] = {"gather.comp",
                                         "gather32.comp",
                                         "elementwise.comp",
                                         "dot.comp",
                                         "dot_store.comp",
                                         "matmul_simple.comp",
                                         "matmul_tiled.comp",
                                         "matmul_tiled_panel.comp",
                                         "fmatmul_simple.comp",
                                         "fmatmul_tiled.comp",
                                         "felementwise.comp",
                                         "fconvert.comp",
                                         "flayernorm_simple.comp",
                                         "flayernorm_tiled.comp",
                                         "fsoftmax_simple.comp",
                                         "fsoftmax_tiled.comp",
                                         "fattention_simple.comp",
                                         "fattention_tiled.comp",
                                         "loop.comp",
                                         "rows_gather.comp",
                                         "rows_store.comp",
                                         "select.comp",
                                         "penalize.comp",
                                         "qlut.comp",
                                         "qlayernorm.comp",
                                         "qattention.comp"};
enum ProgramId {
    kGather,
    kGather32,
    kElementwise,
    kDot,
    kDotStore,
    kMatmulSimple,
    kMatmulTiled,
    kMatmulTiledPanel,
    kFMatmulSimple,
    kFMatmulTiled,
    kFElementwise,
    kFConvert,
    kFLayerNormSimple,
    kFLayerNormTiled,
    kFSoftmaxSimple,
    kFSoftmaxTiled,
    kFAttentionSimple,
    kFAttentionTiled,
    kLoop,
    kRowsGather,
    kRowsStore,
    kSelect,
    kPenalize,
    kQLut,
    kQLayerNorm, // needs GL_ARB_gpu_shader_int64 (not compiled without it)
    kQAttention, // likewise
    kProgramCount
};
// The tiled kernel uses its row-panel configuration below this many rows of a (a 32-row tile
// would be mostly padding there).
constexpr uint32_t kPanelRows = 16;
// FATTENTION keeps one slice of L score words per (query row, head) in flight; the units of an
// instruction are dispatched in batches whose scores fit in this many bytes.
constexpr uint64_t kScoresBytes = uint64_t(32) << 20;

// Saves the bindings and pixel-store state the executor touches and restores them on scope exit.
class StateScope {
  public:
    StateScope() {
        glGetIntegerv(GL_CURRENT_PROGRAM, &program_);
        glGetIntegeri_v(GL_IMAGE_BINDING_NAME, 0, &image_.name);
        glGetIntegeri_v(GL_IMAGE_BINDING_LEVEL, 0, &image_.level);
        glGetIntegeri_v(GL_IMAGE_BINDING_LAYERED, 0, &image_.layered);
        glGetIntegeri_v(GL_IMAGE_BINDING_LAYER, 0, &image_.layer);
        glGetIntegeri_v(GL_IMAGE_BINDING_ACCESS, 0, &image_.access);
        glGetIntegeri_v(GL_IMAGE_BINDING_FORMAT, 0, &image_.format);
        for (GLuint i = 0; i < ssbo_.size(); ++i) {
            glGetIntegeri_v(GL_SHADER_STORAGE_BUFFER_BINDING, i, &ssbo_[i].name);
            glGetInteger64i_v(GL_SHADER_STORAGE_BUFFER_START, i, &ssbo_[i].start);
            glGetInteger64i_v(GL_SHADER_STORAGE_BUFFER_SIZE, i, &ssbo_[i].size);
        }
        glGetIntegerv(GL_SHADER_STORAGE_BUFFER_BINDING, &ssbo_generic_);
        glGetIntegerv(GL_PIXEL_PACK_BUFFER_BINDING, &pack_buffer_);
        glGetIntegerv(GL_PIXEL_UNPACK_BUFFER_BINDING, &unpack_buffer_);
        for (size_t i = 0; i < kStore.size(); ++i)
            glGetIntegerv(kStore[i], &store_[i]);
        // What the executor relies on: tightly packed rows, no buffer behind client pointers.
        glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
        glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
        for (size_t i = 0; i < kStore.size(); ++i)
            glPixelStorei(kStore[i], kStoreDefault[i]);
    }
    ~StateScope() {
        for (size_t i = 0; i < kStore.size(); ++i)
            glPixelStorei(kStore[i], store_[i]);
        glBindBuffer(GL_PIXEL_PACK_BUFFER, GLuint(pack_buffer_));
        glBindBuffer(GL_PIXEL_UNPACK_BUFFER, GLuint(unpack_buffer_));
        for (GLuint i = 0; i < ssbo_.size(); ++i) {
            if (ssbo_[i].name == 0 || ssbo_[i].size == 0)
                glBindBufferBase(GL_SHADER_STORAGE_BUFFER, i, GLuint(ssbo_[i].name));
            else
                glBindBufferRange(GL_SHADER_STORAGE_BUFFER, i, GLuint(ssbo_[i].name),
                                  GLintptr(ssbo_[i].start), GLsizeiptr(ssbo_[i].size));
        }
        glBindBuffer(GL_SHADER_STORAGE_BUFFER, GLuint(ssbo_generic_));
        glBindImageTexture(0, GLuint(image_.name), image_.level, GLboolean(image_.layered), image_.layer,
                           GLenum(image_.access), GLenum(image_.format));
        glUseProgram(GLuint(program_));
    }
    StateScope(const StateScope&) = delete;
    StateScope& operator=(const StateScope&) = delete;

  private:
    static constexpr std::array<GLenum, 10> kStore = {
        GL_PACK_ALIGNMENT,   GL_PACK_ROW_LENGTH,  GL_PACK_SKIP_PIXELS,  GL_PACK_SKIP_ROWS,
        GL_PACK_SWAP_BYTES,  GL_UNPACK_ALIGNMENT, GL_UNPACK_ROW_LENGTH, GL_UNPACK_SKIP_PIXELS,
        GL_UNPACK_SKIP_ROWS, GL_UNPACK_SWAP_BYTES};
    static constexpr std::array<GLint, 10> kStoreDefault = {4, 0, 0, 0, 0, 4, 0, 0, 0, 0};
    struct ImageBinding {
        GLint name = 0, level = 0, layered = 0, layer = 0, access = GL_READ_ONLY, format = GL_R8;
    };
    struct SsboBinding {
        GLint name = 0;
        GLint64 start = 0, size = 0;
    };
    GLint program_ = 0;
    ImageBinding image_;
    std::array<SsboBinding, 4> ssbo_{};
    GLint ssbo_generic_ = 0, pack_buffer_ = 0, unpack_buffer_ = 0;
    std::array<GLint, 10> store_{};
};

bool has_gl_extension(const char* name) {
    return epoxy_has_gl_extension(name);
}

} // namespace

struct Executor::Impl {
    ExecutorDesc desc;
    uint32_t width = 0, height = 0;
    std::vector<TextChunk> text;
    Texture texture;
    std::vector<Rgba> row0; // cached: no opcode writes row 0 (operand rows are >= 1)
    std::array<Program, kProgramCount> programs;
    std::array<Buffer, 3> inputs;           // packed R channels (or f32 words) of a and b; bias words
    std::array<GLsizeiptr, 3> input_size{}; // bytes allocated in each
    Buffer sum;                             // DOT's uint accumulator
    Buffer scores;                          // FATTENTION's scores (binding 2), grown on demand
    GLsizeiptr scores_size = 0;
    std::array<Query, 2> timer; // GL_TIMESTAMP before and after a step's dispatches
    GLint64 max_ssbo_bytes = 0;
    GLint max_texture_size = 0;
    bool own_callback = false;
    bool has_int64 = false; // GL_ARB_gpu_shader_int64: QLAYERNORM and QATTENTION (PROTOCOL.md §16)

    VmRegisters regs; // the same meaning as px::VmState's
    std::vector<std::string> errors;
    std::mutex errors_mutex;
    uint32_t dispatches = 0; // issued by the current step (GlStepResult::dispatches)
};

Result<Program> compile_compute(const std::string& source, const std::string& name) {
    const GLuint shader = glCreateShader(GL_COMPUTE_SHADER);
    const char* text = source.c_str();
    glShaderSource(shader, 1, &text, nullptr);
    glCompileShader(shader);
    GLint ok = 0;
    glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
    auto info_log = [](GLuint obj, bool is_shader) {
        GLint len = 0;
        is_shader ? glGetShaderiv(obj, GL_INFO_LOG_LENGTH, &len)
                  : glGetProgramiv(obj, GL_INFO_LOG_LENGTH, &len);
        std::string log(size_t(std::max(len, 1)), '\0');
        is_shader ? glGetShaderInfoLog(obj, len, nullptr, log.data())
                  : glGetProgramInfoLog(obj, len, nullptr, log.data());
        log.resize(std::strlen(log.c_str()));
        while (!log.empty() && (log.back() == '\n' || log.back() == ' '))
            log.pop_back();
        for (char& c : log)
            if (c == '\n') c = ' ';
        return log;
    };
    if (!ok) {
        std::string log = info_log(shader, true);
        glDeleteShader(shader);
        return make_error(ErrorCode::Gl, "shader " + name + " does not compile: " + log);
    }
    Program program(glCreateProgram());
    glAttachShader(program.get(), shader);
    glLinkProgram(program.get());
    glDetachShader(program.get(), shader);
    glDeleteShader(shader);
    glGetProgramiv(program.get(), GL_LINK_STATUS, &ok);
    if (!ok)
        return make_error(ErrorCode::Gl,
                          "shader " + name + " does not link: " + info_log(program.get(), false));
    label(GL_PROGRAM, program.get(), "pxos " + name);
    return program;
}

namespace {

void GLAPIENTRY debug_callback(GLenum source, GLenum type, GLuint id, GLenum severity, GLsizei length,
                               const GLchar* message, const void* user) {
    if (type != GL_DEBUG_TYPE_ERROR && severity != GL_DEBUG_SEVERITY_HIGH) return;
    auto* impl = static_cast<Executor::Impl*>(const_cast<void*>(user));
    std::lock_guard<std::mutex> lock(impl->errors_mutex); // drivers may call from their own thread
    if (impl->errors.size() < 64)
        impl->errors.emplace_back(message, length >= 0 ? size_t(length) : std::strlen(message));
}

void destroy_impl(Executor::Impl* impl) {
    if (!impl) return;
    if (impl->own_callback) { // only if nobody replaced it since
        GLvoid* fn = nullptr;
        const GLvoid* user = nullptr;
        glGetPointerv(GL_DEBUG_CALLBACK_FUNCTION, &fn);
        glGetPointerv(GL_DEBUG_CALLBACK_USER_PARAM, const_cast<GLvoid**>(&user));
        if (fn == reinterpret_cast<GLvoid*>(&debug_callback) && user == impl)
            glDebugMessageCallback(nullptr, nullptr);
    }
    delete impl; // the wrappers delete the GL names: the creating context must be current
}

void collect_gl_errors(Executor::Impl& ex) {
    std::lock_guard<std::mutex> lock(ex.errors_mutex);
    for (GLenum e; (e = glGetError()) != GL_NO_ERROR;)
        if (ex.errors.size() < 64)
            ex.errors.push_back("glGetError: 0x" + [e] {
                char buf[16];
                std::snprintf(buf, sizeof buf, "%04X", unsigned(e));
                return std::string(buf);
            }());
}

Result<Program> compile_program(const std::vector<ShaderFile>& files, const std::string& name) {
    auto source = assemble_shader(files, name);
    if (!source) return source.error();
    return compile_compute(*source, name);
}

GLint loc(const Program& p, const char* name) {
    return glGetUniformLocation(p.get(), name);
}
void set_uint(const Program& p, const char* name, uint32_t v) {
    glProgramUniform1ui(p.get(), loc(p, name), v);
}
void set_header(const Program& p, MatrixHeader h) {
    const Rgba px = encode_header(h);
    glProgramUniform4ui(p.get(), loc(p, "u_header"), px[0], px[1], px[2], px[3]);
}

// Every dispatch goes through here, so a step can say how many it issued.
void dispatch(Executor::Impl& ex, uint64_t gx, uint64_t gy, uint64_t gz) {
    glDispatchCompute(GLuint(gx), GLuint(gy), GLuint(gz));
    ++ex.dispatches;
}

// Dispatches `invocations` of a 1-D shader with `local` invocations per group, as a 2-D grid of
// groups when one dimension would exceed the guaranteed 65535 (shaders use linear_invocation()).
void dispatch_linear(Executor::Impl& ex, uint64_t invocations, uint32_t local) {
    const uint64_t groups = (invocations + local - 1) / local;
    if (groups == 0) return;
    const uint64_t gx = std::min<uint64_t>(groups, 65535);
    const uint64_t gy = (groups + gx - 1) / gx;
    dispatch(ex, gx, gy, 1);
}

// FATTENTION's and QATTENTION's scores (binding 2): one slice of L scores of `score_bytes` each for
// every (query row, head) unit in flight, in at most kScoresBytes (or the driver's largest storage
// block, one slice at least). The buffer grows when a larger slice batch needs it. Returns how many
// units one dispatch takes: as many as fit, and at most 65535 (a dispatch's groups).
uint64_t bind_scores(Executor::Impl& ex, uint64_t units, uint32_t L, uint32_t score_bytes) {
    const uint64_t slice = uint64_t(score_bytes) * L;
    const uint64_t limit =
        std::min<uint64_t>(kScoresBytes, uint64_t(std::max<GLint64>(ex.max_ssbo_bytes, slice)));
    const uint64_t batch = std::clamp<uint64_t>(limit / slice, 1, std::min<uint64_t>(units, 65535));
    const GLsizeiptr need = GLsizeiptr(std::max<uint64_t>(batch * slice, 16));
    if (!ex.scores || ex.scores_size < need) {
        ex.scores = make_buffer("pxos attention scores");
        glNamedBufferStorage(ex.scores.get(), need, nullptr, 0);
        ex.scores_size = need;
    }
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 2, ex.scores.get());
    return batch;
}

// Runs `units` attention units in batches of `batch`: u_unit0 and u_count set for each, then
// dispatch_batch(count), with a storage barrier after each (the batches reuse the scores buffer in
// order).
template <class DispatchBatch>
void for_unit_batches(const Program& p, uint64_t units, uint64_t batch, DispatchBatch&& dispatch_batch) {
    for (uint64_t u0 = 0; u0 < units; u0 += batch) {
        const uint64_t count = std::min(batch, units - u0);
        set_uint(p, "u_unit0", uint32_t(u0));
        set_uint(p, "u_count", uint32_t(count));
        dispatch_batch(count);
        glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
    }
}

// A matrix product's gx x gy groups, in bands of group rows of at most ex.desc.max_dispatch_work
// multiply-adds each (at least one group row), flushed one by one so that no single submission
// runs long enough to trip a GPU watchdog. The shaders offset their group row by u_group_y0.
// Bands write disjoint output rows and read only the gathered inputs, so their order is free.
void dispatch_bands(Executor::Impl& ex, const Program& p, uint64_t gx, uint64_t gy,
                    uint64_t work_per_group_row) {
    const uint64_t budget = ex.desc.max_dispatch_work ? ex.desc.max_dispatch_work : kDefaultMaxDispatchWork;
    const uint64_t band = std::max<uint64_t>(1, budget / std::max<uint64_t>(1, work_per_group_row));
    for (uint64_t y0 = 0; y0 < gy; y0 += band) {
        set_uint(p, "u_group_y0", uint32_t(y0));
        dispatch(ex, gx, std::min(band, gy - y0), 1);
        if (y0 + band < gy) glFlush();
    }
}

Status upload(Executor::Impl& ex, const Image& image) {
    if (image.width == 0 || image.height == 0 || image.rgba.size() != size_t(image.width) * image.height * 4)
        return make_error(ErrorCode::Usage, "the GL executor needs a non-empty RGBA image");
    if (image.width > uint32_t(ex.max_texture_size) || image.height > uint32_t(ex.max_texture_size))
        return make_error(ErrorCode::Gl, "image " + std::to_string(image.width) + "x" +
                                             std::to_string(image.height) + " exceeds GL_MAX_TEXTURE_SIZE " +
                                             std::to_string(ex.max_texture_size));
    // The largest matrix has (w-1)*(h-1) elements, packed one byte each in an SSBO.
    const uint64_t max_bytes = (uint64_t(image.width - 1) * (image.height - 1) + 3) / 4 * 4;
    if (int64_t(max_bytes) > ex.max_ssbo_bytes)
        return make_error(ErrorCode::Gl,
                          "image " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                              " may hold a matrix larger than GL_MAX_SHADER_STORAGE_BLOCK_SIZE (" +
                              std::to_string(ex.max_ssbo_bytes) + " bytes)");
    StateScope scope;
    if (!ex.texture || ex.width != image.width || ex.height != image.height) {
        ex.texture = make_texture(GL_TEXTURE_2D, "pxos program " + std::to_string(image.width) + "x" +
                                                     std::to_string(image.height));
        glTextureStorage2D(ex.texture.get(), 1, GL_RGBA8UI, GLsizei(image.width), GLsizei(image.height));
        // Integer textures are not filterable: nearest keeps the texture complete for samplers.
        glTextureParameteri(ex.texture.get(), GL_TEXTURE_MIN_FILTER, GL_NEAREST);
        glTextureParameteri(ex.texture.get(), GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    }
    glTextureSubImage2D(ex.texture.get(), 0, 0, 0, GLsizei(image.width), GLsizei(image.height),
                        GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, image.rgba.data());
    ex.width = image.width;
    ex.height = image.height;
    ex.text = image.text;
    ex.row0.assign(image.width, Rgba{});
    std::memcpy(ex.row0.data(), image.rgba.data(), size_t(image.width) * 4);
    ex.regs = VmRegisters{.step_limit = ex.regs.step_limit};
    return Ok{};
}

Rgba read_pixel(const Executor::Impl& ex, uint32_t x, uint32_t y) {
    if (y == 0) return ex.row0[x];
    Rgba px{};
    glGetTextureSubImage(ex.texture.get(), 0, GLint(x), GLint(y), 0, 1, 1, 1, GL_RGBA_INTEGER,
                         GL_UNSIGNED_BYTE, 4, px.data());
    return px;
}

// Slot 0, 1: one byte per element (packed), or one uint per element for whole-pixel (f32) operands;
// slot 2: one uint per element (int32 or f32 bias pixels).
void ensure_input(Executor::Impl& ex, int slot, uint64_t elements, bool words = false) {
    const uint64_t bytes = slot == 2 || words ? elements * 4 : (elements + 3) / 4 * 4;
    const GLsizeiptr need = GLsizeiptr(std::max<uint64_t>(bytes, 16));
    if (ex.inputs[size_t(slot)] && ex.input_size[size_t(slot)] >= need) return;
    GLsizeiptr size = 256;
    while (size < need)
        size *= 2;
    size = std::min<GLsizeiptr>(std::max(size, need), GLsizeiptr(std::max<GLint64>(ex.max_ssbo_bytes, need)));
    static constexpr const char* kNames[] = {"pxos packed operand a", "pxos packed operand b",
                                             "pxos int32 bias"};
    ex.inputs[size_t(slot)] = make_buffer(kNames[slot]);
    glNamedBufferStorage(ex.inputs[size_t(slot)].get(), size, nullptr, 0);
    ex.input_size[size_t(slot)] = size;
}

void gather(Executor::Impl& ex, int slot, uint32_t row, MatrixHeader h, bool words = false) {
    words = words || slot == 2;
    ensure_input(ex, slot, h.elements(), words);
    const Program& p = ex.programs[words ? kGather32 : kGather];
    glUseProgram(p.get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, ex.inputs[size_t(slot)].get());
    set_uint(p, "u_row", row);
    set_uint(p, "u_count", uint32_t(h.elements()));
    set_uint(p, "u_width", ex.width);
    dispatch_linear(ex, words ? h.elements() : (h.elements() + 3) / 4, 256);
}

struct QuantUniforms {
    uint32_t za = 0, zb = 0, zc = 0, shift = 1, clamp_lo = 0, clamp_hi = 255;
    int32_t m = 0, mb = 0;
    uint32_t bias_row = 0;
};

void set_quant(const Program& p, const QuantUniforms& q, bool two_multipliers) {
    set_uint(p, "u_za", q.za);
    set_uint(p, "u_zb", q.zb);
    set_uint(p, "u_zc", q.zc);
    set_uint(p, "u_shift", q.shift);
    set_uint(p, "u_clamp_lo", q.clamp_lo);
    set_uint(p, "u_clamp_hi", q.clamp_hi);
    if (two_multipliers) {
        glProgramUniform1i(p.get(), loc(p, "u_ma"), q.m);
        glProgramUniform1i(p.get(), loc(p, "u_mb"), q.mb);
    } else {
        glProgramUniform1i(p.get(), loc(p, "u_multiplier"), q.m);
    }
}

// The quantization uniforms from the plan's decoded parameters (zeros for opcodes without).
QuantUniforms quant_uniforms(const OpParams& params) {
    QuantUniforms q;
    if (const auto* d = std::get_if<QMatmulParams>(&params)) {
        q = {d->za, d->zb, d->zc, d->shift, d->clamp_lo, d->clamp_hi, d->multiplier, 0, d->bias_row};
    } else if (const auto* d = std::get_if<QMatmul32Params>(&params)) {
        q.za = d->za, q.zb = d->zb, q.bias_row = d->bias_row;
    } else if (const auto* d = std::get_if<QAddParams>(&params)) {
        q = {d->za, d->zb, d->zc, d->shift, d->clamp_lo, d->clamp_hi, d->ma, d->mb, 0};
    } else if (const auto* d = std::get_if<QReluParams>(&params)) {
        q.zc = d->zero_point;
    } else if (const auto* d = std::get_if<FMatmulParams>(&params)) {
        q.bias_row = d->bias_row;
    } else if (const auto* d = std::get_if<LayerNormParams>(&params)) {
        q.bias_row = d->bias_row;
    }
    return q;
}

// The kernel each opcode runs on the GPU, no default: a new opcode makes the compiler warn
// (-Wswitch) and gl_has_kernel() false (tests/opcodes_test.cpp) until it is given one. Element-wise
// and matmul opcodes select their arithmetic in the shader by u_opcode (shaders/elementwise.comp,
// shaders/matmul_common.glsl).
enum class GlKernel : uint8_t {
    Missing,
    Nothing,
    Dot,
    Elementwise,
    Matmul,
    FMatmul,
    FElementwise,
    FConvert,
    FLayerNorm,
    FSoftmax,
    FAttention,
    Loop,
    Rows,
    Select,
    Penalize,
    QLut,
    QLayerNorm,
    QAttention
};
GlKernel gl_kernel(Opcode op) {
    switch (op) {
    case Opcode::HALT:
    case Opcode::RELU: return GlKernel::Nothing; // they write nothing
    case Opcode::DOT: return GlKernel::Dot;
    case Opcode::ADD:
    case Opcode::QADD:
    case Opcode::QRELU: return GlKernel::Elementwise;
    case Opcode::MATMUL:
    case Opcode::QMATMUL:
    case Opcode::QMATMUL32: return GlKernel::Matmul;
    case Opcode::FMATMUL: return GlKernel::FMatmul;
    case Opcode::FADD:
    case Opcode::FMUL: return GlKernel::FElementwise;
    case Opcode::DEQUANT:
    case Opcode::QUANT:
    case Opcode::FCONVERT:
    case Opcode::GELU: return GlKernel::FConvert;
    case Opcode::LAYERNORM: return GlKernel::FLayerNorm;
    case Opcode::FSOFTMAX: return GlKernel::FSoftmax;
    case Opcode::FATTENTION: return GlKernel::FAttention;
    case Opcode::LOOP: return GlKernel::Loop;
    case Opcode::GATHER:
    case Opcode::APPEND: return GlKernel::Rows;
    case Opcode::ARGMAX:
    case Opcode::SAMPLE: return GlKernel::Select;
    case Opcode::PENALIZE: return GlKernel::Penalize;
    case Opcode::QLUT: return GlKernel::QLut;
    case Opcode::QLAYERNORM: return GlKernel::QLayerNorm;
    case Opcode::QATTENTION: return GlKernel::QAttention;
    }
    return GlKernel::Missing;
}

// The read half of GATHER, APPEND and PENALIZE (rows_gather.comp): `count` words of the matrix at
// a_row into SSBO 0, picked by mode (0: the i32 indices at b_row, 1: straight, 2: row `last`).
// False, with the reason reported, when they exceed the largest SSBO. Caller has bound the image.
bool read_rows(Executor::Impl& ex, const Plan& plan, uint32_t mode, uint32_t a_row, uint32_t b_row,
               uint32_t d, uint64_t count, uint32_t dtype, uint32_t last) {
    if (int64_t(count * 4) > ex.max_ssbo_bytes) { // upload() checked one byte per element
        std::lock_guard<std::mutex> lock(ex.errors_mutex);
        ex.errors.push_back(std::string(plan.ins.info->name) + " of " + std::to_string(count) +
                            " elements exceeds GL_MAX_SHADER_STORAGE_BLOCK_SIZE (" +
                            std::to_string(ex.max_ssbo_bytes) + " bytes)");
        return false;
    }
    ensure_input(ex, 0, count, true);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, ex.inputs[0].get());
    const Program& g = ex.programs[kRowsGather];
    glUseProgram(g.get());
    set_uint(g, "u_mode", mode);
    set_uint(g, "u_a_row", a_row);
    set_uint(g, "u_b_row", b_row);
    set_uint(g, "u_d", d);
    set_uint(g, "u_count", uint32_t(count));
    set_uint(g, "u_dtype", dtype);
    set_uint(g, "u_last", last);
    set_uint(g, "u_width", ex.width);
    dispatch_linear(ex, count, 256);
    return true;
}

// The write half (rows_store.comp): SSBO 0's `count` words to elements offset.. of the matrix at
// out_row, with its header.
void store_rows(Executor::Impl& ex, uint32_t out_row, uint64_t offset, uint64_t count, uint32_t dtype,
                MatrixHeader header) {
    glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT | GL_SHADER_IMAGE_ACCESS_BARRIER_BIT);
    const Program& s = ex.programs[kRowsStore];
    glUseProgram(s.get());
    set_uint(s, "u_out_row", out_row);
    set_uint(s, "u_offset", uint32_t(offset));
    set_uint(s, "u_count", uint32_t(count));
    set_uint(s, "u_dtype", dtype);
    set_uint(s, "u_width", ex.width);
    glProgramUniform1i(s.get(), loc(s, "u_write_header"), 1);
    set_header(s, header);
    dispatch_linear(ex, std::max<uint64_t>(count, 1), 256); // the header even with no elements
}

// The text-generation opcodes (PROTOCOL.md §13): LOOP's counter write (only when the plan took the
// jump), GATHER and APPEND as a read pass into an SSBO, a barrier, then a write pass, ARGMAX and
// SAMPLE as one invocation that reads everything before it writes, and PENALIZE as GATHER's read
// of a's last row, a pass over b's window that penalizes the copy, then the write pass. Caller
// holds a StateScope and has bound the image.
void execute_gen(Executor::Impl& ex, const Plan& plan, GlKernel kernel) {
    const auto& op = plan.ins.operand;
    switch (kernel) {
    case GlKernel::Loop: {
        if (!plan.jump) return; // not taken: nothing written
        const Program& p = ex.programs[kLoop];
        glUseProgram(p.get());
        set_uint(p, "u_row", op[0]);
        set_uint(p, "u_width", ex.width);
        dispatch(ex, 1, 1, 1);
        return;
    }
    case GlKernel::Rows: {
        const bool gather_op = Opcode(plan.ins.opcode) == Opcode::GATHER;
        uint32_t mode = 1, dtype = 0, last = 0;
        uint64_t offset = 0;
        if (gather_op) {
            const auto& q = std::get<GatherParams>(plan.params);
            mode = q.mode == 0 ? 0 : q.mode == 1 ? 1 : 2;
            dtype = q.dtype.a;
            last = plan.shape[1].rows - 1;
        } else {
            const auto& q = std::get<AppendParams>(plan.params);
            dtype = q.dtype.a;
            offset = uint64_t(plan.out_shape.rows - plan.shape[0].rows) * plan.out_shape.cols;
        }
        const uint64_t count = gather_op ? plan.out_shape.elements() : plan.shape[0].elements();
        if (!read_rows(ex, plan, mode, op[0], gather_op ? op[1] : 0, plan.shape[0].cols, count, dtype, last))
            return;
        store_rows(ex, op[2], offset, count, dtype, plan.out_shape);
        return;
    }
    case GlKernel::Penalize: {
        const auto& q = std::get<PenalizeParams>(plan.params);
        const MatrixHeader h = plan.shape[0];
        if (!read_rows(ex, plan, 2, op[0], 0, h.cols, h.cols, 1, h.rows - 1)) return;
        glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
        const uint64_t elements = plan.shape[1].elements(), first = q.window_first(elements);
        const Program& p = ex.programs[kPenalize];
        glUseProgram(p.get());
        set_uint(p, "u_a_row", op[0]);
        set_uint(p, "u_first_a", uint32_t(uint64_t(h.rows - 1) * h.cols));
        set_uint(p, "u_b_row", op[1]);
        set_uint(p, "u_first_b", uint32_t(first));
        set_uint(p, "u_count", uint32_t(elements - first));
        set_uint(p, "u_penalty", fm::canon_bits(q.penalty));
        set_uint(p, "u_width", ex.width);
        dispatch_linear(ex, elements - first, 256);
        store_rows(ex, op[2], 0, h.cols, 1, plan.out_shape);
        return;
    }
    case GlKernel::Select: {
        const MatrixHeader h = plan.shape[0];
        ensure_input(ex, 1, uint64_t(h.cols) * 3 + 16, true); // logits, weights, block sums
        glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, ex.inputs[1].get());
        const Program& p = ex.programs[kSelect];
        glUseProgram(p.get());
        const bool sample = Opcode(plan.ins.opcode) == Opcode::SAMPLE;
        set_uint(p, "u_opcode", plan.ins.opcode);
        set_uint(p, "u_a_row", op[0]);
        set_uint(p, "u_first", uint32_t(uint64_t(h.rows - 1) * h.cols));
        set_uint(p, "u_n", h.cols);
        set_uint(p, "u_b_row", sample ? op[1] : 0);
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_width", ex.width);
        set_uint(p, "u_temperature",
                 sample ? fm::canon_bits(std::get<SampleParams>(plan.params).temperature) : 0);
        set_uint(p, "u_top_k", sample ? std::get<SampleParams>(plan.params).top_k : 0);
        set_header(p, plan.out_shape);
        dispatch(ex, 1, 1, 1);
        return;
    }
    default: return;
    }
}

// The integer transformer opcodes (PROTOCOL.md §16): every input gathered as whole pixel words (u8
// codes are their low byte; QLAYERNORM's gains and biases are int32 words) before anything is
// written, then one kernel. QLAYERNORM and QATTENTION compute in 64-bit integers
// (GL_ARB_gpu_shader_int64: llvmpipe and NVIDIA have it); without it they write nothing and report
// why, so the run fails loudly rather than differ. Caller holds a StateScope and has bound the image.
void execute_qint(Executor::Impl& ex, const Plan& plan, GlKernel kernel) {
    const auto& op = plan.ins.operand;
    auto fail = [&](std::string message) {
        std::lock_guard<std::mutex> lock(ex.errors_mutex);
        ex.errors.push_back(std::move(message));
    };
    if (kernel != GlKernel::QLut && !ex.has_int64)
        return fail(std::string(plan.ins.info->name) +
                    std::string(" needs 64-bit integers in shaders (GL_ARB_gpu_shader_int64), which this "
                                "OpenGL context lacks; run the program on the cpu executor"));
    for (size_t i = 0; i < 2; ++i)
        if (int64_t(plan.shape[i].elements() * 4) > ex.max_ssbo_bytes)
            return fail("operand of " + std::to_string(plan.shape[i].elements()) +
                        " elements exceeds GL_MAX_SHADER_STORAGE_BLOCK_SIZE (" +
                        std::to_string(ex.max_ssbo_bytes) + " bytes)");
    gather(ex, 0, op[0], plan.shape[0], true);
    gather(ex, 1, op[1], plan.shape[1], true);
    if (kernel == GlKernel::QAttention) // V, the value cache: K's shape (the plan checked it)
        gather(ex, 2, std::get<QAttentionParams>(plan.params).v_row, plan.shape[1]);
    else
        ensure_input(ex, 2, 1);
    glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, ex.inputs[0].get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, ex.inputs[1].get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, ex.inputs[2].get());
    if (kernel == GlKernel::QLut) {
        const Program& p = ex.programs[kQLut];
        glUseProgram(p.get());
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_count", uint32_t(plan.shape[0].elements()));
        set_uint(p, "u_width", ex.width);
        set_header(p, plan.out_shape);
        dispatch_linear(ex, plan.shape[0].elements(), 256);
    } else if (kernel == GlKernel::QLayerNorm) {
        const auto& q = std::get<QLayerNormParams>(plan.params);
        const Program& p = ex.programs[kQLayerNorm];
        glUseProgram(p.get());
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_rows", plan.shape[0].rows);
        set_uint(p, "u_n", plan.shape[0].cols);
        set_uint(p, "u_width", ex.width);
        set_header(p, plan.out_shape);
        set_uint(p, "u_za", q.za);
        set_uint(p, "u_zc", q.zc);
        set_uint(p, "u_shift", q.shift);
        set_uint(p, "u_clamp_lo", q.clamp_lo);
        set_uint(p, "u_clamp_hi", q.clamp_hi);
        glProgramUniform1i(p.get(), loc(p, "u_eps"), q.eps);
        dispatch_linear(ex, plan.shape[0].rows, 64);
    } else {
        const auto& q = std::get<QAttentionParams>(plan.params);
        const Program& p = ex.programs[kQAttention];
        glUseProgram(p.get());
        const uint32_t T = plan.shape[0].rows, D = plan.shape[0].cols, L = plan.shape[1].rows;
        const uint64_t units = uint64_t(T) * q.heads;
        const uint64_t batch = bind_scores(ex, units, L, 8); // int64 probabilities
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_t", T);
        set_uint(p, "u_l", L);
        set_uint(p, "u_d", D);
        set_uint(p, "u_heads", q.heads);
        set_uint(p, "u_width", ex.width);
        set_header(p, plan.out_shape);
        set_uint(p, "u_zq", q.zq);
        set_uint(p, "u_zk", q.zk);
        set_uint(p, "u_zv", q.zv);
        set_uint(p, "u_zc", q.zc);
        set_uint(p, "u_shift_s", q.shift_s);
        set_uint(p, "u_shift_o", q.shift_o);
        set_uint(p, "u_clamp_lo", q.clamp_lo);
        set_uint(p, "u_clamp_hi", q.clamp_hi);
        glProgramUniform1i(p.get(), loc(p, "u_ms"), q.ms);
        glProgramUniform1i(p.get(), loc(p, "u_mo"), q.mo);
        for_unit_batches(p, units, batch, [&](uint64_t count) { dispatch_linear(ex, count, 64); });
    }
}

// Runs a checked plan on the texture. Caller holds a StateScope.
void execute(Executor::Impl& ex, const Plan& plan) {
    const auto& op = plan.ins.operand;
    const GlKernel kernel = gl_kernel(Opcode(plan.ins.opcode));
    if (kernel == GlKernel::Missing) { // tests/opcodes_test.cpp keeps this from happening
        std::lock_guard<std::mutex> lock(ex.errors_mutex);
        ex.errors.push_back("the GL executor has no kernel for opcode " + std::to_string(plan.ins.opcode));
        return;
    }
    if (kernel == GlKernel::Nothing) return;
    if (kernel == GlKernel::Loop || kernel == GlKernel::Rows || kernel == GlKernel::Select ||
        kernel == GlKernel::Penalize) {
        glBindImageTexture(0, ex.texture.get(), 0, GL_FALSE, 0, GL_READ_WRITE, GL_RGBA8UI);
        execute_gen(ex, plan, kernel);
        glMemoryBarrier(GL_ALL_BARRIER_BITS);
        return;
    }
    if (kernel == GlKernel::QLut || kernel == GlKernel::QLayerNorm || kernel == GlKernel::QAttention) {
        glBindImageTexture(0, ex.texture.get(), 0, GL_FALSE, 0, GL_READ_WRITE, GL_RGBA8UI);
        execute_qint(ex, plan, kernel);
        glMemoryBarrier(GL_ALL_BARRIER_BITS);
        return;
    }
    const QuantUniforms q = quant_uniforms(plan.params);                // decoded once, by plan_instruction
    const bool unary = plan.ins.info->operands[1] == OperandKind::None; // in place on a (QRELU)
    // f32 (and i32, f16 pairs) operands are gathered as whole pixels, one word each; u8 as packed bytes.
    const bool words = kernel == GlKernel::FMatmul || kernel == GlKernel::FElementwise ||
                       kernel == GlKernel::FLayerNorm || kernel == GlKernel::FSoftmax ||
                       kernel == GlKernel::FAttention ||
                       (kernel == GlKernel::FConvert && plan.dtype[0] != DType::U8);
    // What each input gathers: an f16 matrix of n elements is ceil(n/2) pixels.
    std::array<MatrixHeader, 2> gathered = {plan.shape[0], plan.shape[1]};
    for (size_t i = 0; i < 2; ++i)
        if (plan.dtype[i] == DType::F16)
            gathered[i] = {uint32_t(dtype_pixels(DType::F16, plan.shape[i].elements())), 1};
    if (words) { // upload() checked one byte per element; an f32 operand needs four
        for (size_t i = 0; i < 2; ++i)
            if (int64_t(gathered[i].elements() * 4) > ex.max_ssbo_bytes) {
                std::lock_guard<std::mutex> lock(ex.errors_mutex);
                ex.errors.push_back("f32 operand of " + std::to_string(plan.shape[i].elements()) +
                                    " elements exceeds GL_MAX_SHADER_STORAGE_BLOCK_SIZE (" +
                                    std::to_string(ex.max_ssbo_bytes) + " bytes)");
                return;
            }
    }

    // 1. Gather every input before anything is written (PROTOCOL.md §4.2).
    glBindImageTexture(0, ex.texture.get(), 0, GL_FALSE, 0, GL_READ_WRITE, GL_RGBA8UI);
    gather(ex, 0, op[0], gathered[0], words);
    if (!unary)
        gather(ex, 1, op[1], gathered[1], words);
    else
        ensure_input(ex, 1, 1);
    if (kernel == GlKernel::FAttention) // V, the value cache: K's shape (the plan checked it)
        gather(ex, 2, std::get<FAttentionParams>(plan.params).v_row, plan.shape[1]);
    else if (q.bias_row)
        gather(ex, 2, q.bias_row, {plan.out_shape.cols, 1}); // the plan checked its shape
    else
        ensure_input(ex, 2, 1);
    glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, ex.inputs[0].get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, ex.inputs[1].get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, ex.inputs[2].get());

    // 2. Compute and scatter.
    switch (kernel) {
    case GlKernel::Dot: {
        const uint32_t zero = 0;
        glClearNamedBufferData(ex.sum.get(), GL_R32UI, GL_RED_INTEGER, GL_UNSIGNED_INT, &zero);
        glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 2, ex.sum.get());
        const Program& p = ex.programs[kDot];
        glUseProgram(p.get());
        const uint64_t n = plan.shape[0].elements();
        set_uint(p, "u_count", uint32_t(n));
        dispatch(ex, GLuint(std::clamp<uint64_t>((n + 1023) / 1024, 1, 1024)), 1, 1);
        glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
        const Program& s = ex.programs[kDotStore];
        glUseProgram(s.get());
        set_uint(s, "u_out_row", op[2]);
        dispatch(ex, 1, 1, 1);
        break;
    }
    case GlKernel::Elementwise: {
        const Program& p = ex.programs[kElementwise];
        glUseProgram(p.get());
        const MatrixHeader ha = plan.shape[0], hb = plan.shape[1];
        set_uint(p, "u_opcode", plan.ins.opcode);
        set_uint(p, "u_out_row", unary ? op[0] : op[2]);
        set_uint(p, "u_count", uint32_t(ha.elements()));
        set_uint(p, "u_b_cols", unary || ha == hb ? 0 : hb.cols); // same rule as px::add_u8
        set_uint(p, "u_width", ex.width);
        glProgramUniform1i(p.get(), loc(p, "u_write_header"), unary ? 0 : 1);
        set_header(p, plan.out_shape);
        set_quant(p, q, true);
        dispatch_linear(ex, ha.elements(), 256);
        break;
    }
    case GlKernel::Matmul: {
        const uint32_t M = plan.shape[0].rows, K = plan.shape[0].cols, N = plan.shape[1].cols;
        const bool tiled = ex.desc.matmul == MatmulKernel::Tiled;
        const bool panel = tiled && M < kPanelRows;
        const ProgramId id = !tiled ? kMatmulSimple : panel ? kMatmulTiledPanel : kMatmulTiled;
        const Program& p = ex.programs[id];
        glUseProgram(p.get());
        set_uint(p, "u_opcode", plan.ins.opcode);
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_m", M);
        set_uint(p, "u_k", K);
        set_uint(p, "u_n", N);
        set_uint(p, "u_width", ex.width);
        set_header(p, plan.out_shape);
        glProgramUniform1i(p.get(), loc(p, "u_has_bias"), q.bias_row ? 1 : 0);
        set_quant(p, q, false);
        // Outputs per group: simple 16 x 16; tiled 32 x 64; tiled panel 1 x 256.
        const uint32_t tile_m = id == kMatmulSimple ? 16 : id == kMatmulTiled ? 32 : 1;
        const uint32_t tile_n = id == kMatmulSimple ? 16 : id == kMatmulTiled ? 64 : 256;
        dispatch_bands(ex, p, (N + tile_n - 1) / tile_n, (M + tile_m - 1) / tile_m, uint64_t(tile_m) * N * K);
        break;
    }
    case GlKernel::FElementwise: {
        const Program& p = ex.programs[kFElementwise];
        glUseProgram(p.get());
        const MatrixHeader ha = plan.shape[0], hb = plan.shape[1];
        set_uint(p, "u_opcode", plan.ins.opcode);
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_count", uint32_t(ha.elements()));
        set_uint(p, "u_b_cols", ha == hb ? 0 : hb.cols); // same rule as px::fbinary_f32
        set_uint(p, "u_width", ex.width);
        glProgramUniform1i(p.get(), loc(p, "u_write_header"), 1);
        set_header(p, plan.out_shape);
        dispatch_linear(ex, ha.elements(), 256);
        break;
    }
    case GlKernel::FConvert: {
        const Program& p = ex.programs[kFConvert];
        glUseProgram(p.get());
        const uint64_t n = plan.shape[0].elements();
        const bool to_f16 = plan.dtype[2] == DType::F16;
        uint32_t scale = 0, zero_point = 0;
        if (const auto* d = std::get_if<QConvertParams>(&plan.params))
            scale = d->scale_bits, zero_point = d->zero_point;
        const uint64_t count = to_f16 ? dtype_pixels(DType::F16, n) : n;
        set_uint(p, "u_opcode", plan.ins.opcode);
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_count", uint32_t(count));
        set_uint(p, "u_elements", uint32_t(n));
        set_uint(p, "u_width", ex.width);
        set_uint(p, "u_scale", scale);
        set_uint(p, "u_zero_point", zero_point);
        glProgramUniform1i(p.get(), loc(p, "u_to_f16"), to_f16 ? 1 : 0);
        glProgramUniform1i(p.get(), loc(p, "u_a_i32"), plan.dtype[0] == DType::I32 ? 1 : 0); // §16.4
        glProgramUniform1i(p.get(), loc(p, "u_write_header"), 1);
        set_header(p, plan.out_shape);
        dispatch_linear(ex, count, 256);
        break;
    }
    case GlKernel::FLayerNorm: {
        const uint32_t M = plan.shape[0].rows, N = plan.shape[0].cols;
        const bool tiled = ex.desc.matmul == MatmulKernel::Tiled;
        const Program& p = ex.programs[tiled ? kFLayerNormTiled : kFLayerNormSimple];
        glUseProgram(p.get());
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_m", M);
        set_uint(p, "u_n", N);
        set_uint(p, "u_width", ex.width);
        set_uint(p, "u_eps", std::get<LayerNormParams>(plan.params).eps_bits);
        glProgramUniform1i(p.get(), loc(p, "u_has_bias"), q.bias_row ? 1 : 0);
        set_header(p, plan.out_shape);
        if (tiled)
            dispatch(ex, M, 1, 1); // one group per row (M <= 65535)
        else
            dispatch_linear(ex, M, 64);
        break;
    }
    case GlKernel::FMatmul: {
        const uint32_t M = plan.shape[0].rows, K = plan.shape[0].cols, N = plan.shape[1].cols;
        const Program& p =
            ex.programs[ex.desc.matmul == MatmulKernel::Tiled ? kFMatmulTiled : kFMatmulSimple];
        glUseProgram(p.get());
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_m", M);
        set_uint(p, "u_k", K);
        set_uint(p, "u_n", N);
        set_uint(p, "u_width", ex.width);
        set_header(p, plan.out_shape);
        glProgramUniform1i(p.get(), loc(p, "u_has_bias"), q.bias_row ? 1 : 0);
        set_uint(p, "u_activation", std::get<FMatmulParams>(plan.params).activation);
        dispatch_bands(ex, p, (N + 15) / 16, (M + 15) / 16,
                       uint64_t(16) * N * K); // both: 16 x 16 outputs per group
        break;
    }
    case GlKernel::FSoftmax: {
        const bool tiled = ex.desc.matmul == MatmulKernel::Tiled;
        const Program& p = ex.programs[tiled ? kFSoftmaxTiled : kFSoftmaxSimple];
        glUseProgram(p.get());
        const MatrixHeader h = plan.shape[0];
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_count", h.rows);
        set_uint(p, "u_cols", h.cols);
        set_uint(p, "u_scale", std::get<FSoftmaxParams>(plan.params).scale);
        set_uint(p, "u_width", ex.width);
        set_header(p, plan.out_shape);
        if (tiled)
            dispatch(ex, h.rows, 1, 1); // one group per row (rows <= 65535)
        else
            dispatch_linear(ex, h.rows, 64);
        break;
    }
    case GlKernel::FAttention: {
        const auto& prm = std::get<FAttentionParams>(plan.params);
        const bool tiled = ex.desc.matmul == MatmulKernel::Tiled;
        const Program& p = ex.programs[tiled ? kFAttentionTiled : kFAttentionSimple];
        glUseProgram(p.get());
        const uint32_t T = plan.shape[0].rows, D = plan.shape[0].cols, L = plan.shape[1].rows;
        const uint64_t units = uint64_t(T) * prm.heads;
        const uint64_t batch = bind_scores(ex, units, L, 4); // f32 scores
        set_uint(p, "u_out_row", op[2]);
        set_uint(p, "u_t", T);
        set_uint(p, "u_l", L);
        set_uint(p, "u_d", D);
        set_uint(p, "u_heads", prm.heads);
        set_uint(p, "u_scale", prm.scale);
        set_uint(p, "u_width", ex.width);
        set_header(p, plan.out_shape);
        for_unit_batches(p, units, batch, [&](uint64_t count) {
            if (tiled)
                dispatch(ex, GLuint(count), 1, 1); // one group per unit
            else
                dispatch_linear(ex, count, 64);
        });
        break;
    }
    default: break;
    }
    // The image and the buffers are read next by shaders, texture reads (pixel fetches, the
    // GUI's sampler) and by the next gather: make every write visible to every kind of access.
    glMemoryBarrier(GL_ALL_BARRIER_BITS);
}

// One dispatch of every program with parameters that make it write nothing (no elements, output
// row outside the texture): drivers that compile shaders on first use do it now, not in a timed step.
void warm_up(Executor::Impl& ex) {
    StateScope scope;
    glBindImageTexture(0, ex.texture.get(), 0, GL_FALSE, 0, GL_READ_WRITE, GL_RGBA8UI);
    for (int slot = 0; slot < 3; ++slot)
        ensure_input(ex, slot, 1);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, ex.inputs[0].get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, ex.inputs[1].get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 2, ex.sum.get());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, ex.inputs[2].get());
    const uint32_t outside = 0x7FFFFFFF; // a row no texture has
    for (int i = 0; i < kProgramCount; ++i) {
        const Program& p = ex.programs[size_t(i)];
        if (!p.get()) continue; // not compiled (int64 shaders without the extension)
        glUseProgram(p.get());
        for (const char* name : {"u_count", "u_m", "u_k", "u_n"})
            if (loc(p, name) >= 0) set_uint(p, name, 0);
        for (const char* name : {"u_out_row", "u_row"})
            if (loc(p, name) >= 0) set_uint(p, name, outside);
        if (loc(p, "u_width") >= 0) set_uint(p, "u_width", ex.width);
        if (loc(p, "u_write_header") >= 0) glProgramUniform1i(p.get(), loc(p, "u_write_header"), 0);
        dispatch(ex, 1, 1, 1);
    }
    glMemoryBarrier(GL_ALL_BARRIER_BITS);
    glFinish();
}

} // namespace

Result<Executor> create_executor(const Image& image, const ExecutorDesc& desc) {
    if (epoxy_gl_version() < 43)
        return make_error(ErrorCode::Gl,
                          "the GL executor needs OpenGL 4.3 (compute shaders); this context has " +
                              std::to_string(epoxy_gl_version() / 10) + "." +
                              std::to_string(epoxy_gl_version() % 10));
    if (epoxy_gl_version() < 45 &&
        !(has_gl_extension("GL_ARB_direct_state_access") && has_gl_extension("GL_ARB_get_texture_sub_image")))
        return make_error(ErrorCode::Gl, "the GL executor needs OpenGL 4.5 or GL_ARB_direct_state_access and "
                                         "GL_ARB_get_texture_sub_image");
    std::unique_ptr<Executor::Impl, void (*)(Executor::Impl*)> impl(new Executor::Impl, destroy_impl);
    Executor::Impl& ex = *impl;
    ex.desc = desc;
    ex.regs.step_limit = desc.step_limit ? desc.step_limit : kDefaultStepLimit;

    glEnable(GL_DEBUG_OUTPUT);
    GLvoid* existing = nullptr;
    glGetPointerv(GL_DEBUG_CALLBACK_FUNCTION, &existing);
    if (!existing) {
        glDebugMessageCallback(debug_callback, &ex);
        ex.own_callback = true;
    }
    collect_gl_errors(ex);
    ex.errors.clear(); // errors from before the executor existed are not its own

    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &ex.max_texture_size);
    glGetInteger64v(GL_MAX_SHADER_STORAGE_BLOCK_SIZE, &ex.max_ssbo_bytes);

    auto files = load_shader_files(desc.shader_dir);
    if (!files) return files.error();
    ex.has_int64 = !desc.without_int64 && has_gl_extension("GL_ARB_gpu_shader_int64");
    for (int i = 0; i < kProgramCount; ++i) {
        if ((i == kQLayerNorm || i == kQAttention) && !ex.has_int64) continue; // execute_qint says why
        auto program = compile_program(*files, kProgramNames[i]);
        if (!program) return program.error();
        ex.programs[size_t(i)] = std::move(*program);
    }
    ex.sum = make_buffer("pxos DOT sum");
    glNamedBufferStorage(ex.sum.get(), 16, nullptr, GL_DYNAMIC_STORAGE_BIT);
    // Two GL_TIMESTAMP queries rather than one GL_TIME_ELAPSED: they nest with any query the GUI
    // has open, and llvmpipe (which runs compute synchronously) reports real times for them.
    if (desc.gpu_timing)
        for (int i = 0; i < 2; ++i)
            ex.timer[size_t(i)] = make_query(GL_TIMESTAMP, i ? "pxos step end" : "pxos step begin");

    if (auto st = upload(ex, image); !st) return st.error();
    if (desc.warm_up) warm_up(ex);
    collect_gl_errors(ex);
    if (!ex.errors.empty())
        return make_error(ErrorCode::Gl, "GL error while creating the executor: " + ex.errors[0]);
    Executor out;
    out.impl = std::move(impl);
    return out;
}

Status reset_executor(Executor& executor, const Image& image) {
    if (!executor.impl) return make_error(ErrorCode::Usage, "reset_executor: no executor");
    return upload(*executor.impl, image);
}

GlStepResult gl_step(Executor& executor) {
    GlStepResult out;
    if (!executor.impl) return out;
    Executor::Impl& ex = *executor.impl;
    if (ex.regs.status != VmStatus::Ready) {
        out.step = StepResult{ex.regs.status, ex.regs.pc};
        return out;
    }
    StateScope scope;
    ex.dispatches = 0;
    const PixelFetch fetch = [&ex](uint32_t x, uint32_t y) { return read_pixel(ex, x, y); };
    out.step = step_registers(ex.regs, ex.width, ex.height, fetch, [&](const Plan& plan) {
        if (ex.timer[0]) glQueryCounter(ex.timer[0].get(), GL_TIMESTAMP);
        execute(ex, plan);
        if (ex.timer[0]) {
            glQueryCounter(ex.timer[1].get(), GL_TIMESTAMP);
            GLuint64 t0 = 0, t1 = 0;
            glGetQueryObjectui64v(ex.timer[0].get(), GL_QUERY_RESULT, &t0);
            glGetQueryObjectui64v(ex.timer[1].get(), GL_QUERY_RESULT, &t1);
            out.gpu_ms = t1 > t0 ? double(t1 - t0) / 1e6 : 0.0;
        }
        for (const Rect& rect : plan.writes) // never happens with Protocol 1.0's opcodes; kept exact anyway
            if (rect.y == 0)
                glGetTextureSubImage(ex.texture.get(), 0, 0, 0, 0, GLsizei(ex.width), 1, 1, GL_RGBA_INTEGER,
                                     GL_UNSIGNED_BYTE, GLsizei(ex.width * 4), ex.row0.data());
    });
    collect_gl_errors(ex);
    out.dispatches = ex.dispatches;
    return out;
}

const VmRegisters& gl_registers(const Executor& ex) {
    static const VmRegisters none{.status = VmStatus::Trapped};
    return ex.impl ? ex.impl->regs : none;
}
uint32_t gl_pc(const Executor& ex) {
    return gl_registers(ex).pc;
}
uint64_t gl_steps(const Executor& ex) {
    return gl_registers(ex).steps;
}
VmStatus gl_status(const Executor& ex) {
    return gl_registers(ex).status;
}
const Trap& gl_trap(const Executor& ex) {
    return gl_registers(ex).trap;
}

bool gl_has_kernel(uint8_t opcode) {
    return opcode_info(opcode) && gl_kernel(Opcode(opcode)) != GlKernel::Missing;
}

Image gl_read_image(const Executor& executor) {
    Image img;
    if (!executor.impl) return img;
    const Executor::Impl& ex = *executor.impl;
    img = make_image(ex.width, ex.height);
    img.text = ex.text;
    StateScope scope;
    glGetTextureImage(ex.texture.get(), 0, GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, GLsizei(img.rgba.size()),
                      img.rgba.data());
    return img;
}

unsigned gl_texture(const Executor& ex) {
    return ex.impl ? ex.impl->texture.get() : 0;
}

void gl_set_step_limit(Executor& ex, uint64_t step_limit) {
    if (ex.impl) ex.impl->regs.step_limit = step_limit;
}

void gl_set_matmul_kernel(Executor& ex, MatmulKernel kernel) {
    if (ex.impl) ex.impl->desc.matmul = kernel;
}

std::vector<std::string> gl_take_errors(Executor& executor) {
    if (!executor.impl) return {};
    collect_gl_errors(*executor.impl);
    std::lock_guard<std::mutex> lock(executor.impl->errors_mutex);
    return std::exchange(executor.impl->errors, {});
}

} // namespace px::gl
