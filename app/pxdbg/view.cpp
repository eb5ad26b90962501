// view.cpp — program and matrix views: the GL draw callback, texture uploads, input, overlays.
#include "view.h"

#include "compare.h"
#include "gl_shaders.h"

#include <glm/common.hpp>
#include <glm/exponential.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace pxdbg {

namespace {

// Runs inside ImGui_ImplOpenGL3_RenderDrawData: draws one view quad and restores the GL state
// it touched (the backend re-binds its own state after the ResetRenderState that follows).
void view_callback(const ImDrawList*, const ImDrawCmd* cmd) {
    const ViewDraw& v = *static_cast<const ViewDraw*>(cmd->UserCallbackData);
    const ViewRenderer& r = *v.renderer;
    const ImDrawData* dd = ImGui::GetDrawData();
    if (!dd || !r.program) return;
    const ImVec2 scale = dd->FramebufferScale;
    const float fb_h = dd->DisplaySize.y * scale.y;

    GLint last_program, last_vao, last_active, last_tex0, last_tex1, last_tex2, last_scissor[4];
    glGetIntegerv(GL_CURRENT_PROGRAM, &last_program);
    glGetIntegerv(GL_VERTEX_ARRAY_BINDING, &last_vao);
    glGetIntegerv(GL_ACTIVE_TEXTURE, &last_active);
    glActiveTexture(GL_TEXTURE0);
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &last_tex0);
    glActiveTexture(GL_TEXTURE1);
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &last_tex1);
    glActiveTexture(GL_TEXTURE2);
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &last_tex2);
    glGetIntegerv(GL_SCISSOR_BOX, last_scissor);
    const GLboolean last_scissor_on = glIsEnabled(GL_SCISSOR_TEST);
    const GLboolean last_blend = glIsEnabled(GL_BLEND);

    // Clip to the command's clip rect and to the view's own rect.
    const float x0 = std::max(cmd->ClipRect.x, v.clip.x), y0 = std::max(cmd->ClipRect.y, v.clip.y);
    const float x1 = std::min(cmd->ClipRect.z, v.clip.z), y1 = std::min(cmd->ClipRect.w, v.clip.w);
    if (x1 > x0 && y1 > y0) {
        const float fx0 = (x0 - dd->DisplayPos.x) * scale.x, fy0 = (y0 - dd->DisplayPos.y) * scale.y;
        const float fx1 = (x1 - dd->DisplayPos.x) * scale.x, fy1 = (y1 - dd->DisplayPos.y) * scale.y;
        glEnable(GL_SCISSOR_TEST);
        glScissor(GLint(fx0), GLint(fb_h - fy1), GLsizei(fx1 - fx0 + 0.5f), GLsizei(fy1 - fy0 + 0.5f));
        glDisable(GL_BLEND);
        glUseProgram(r.program.get());
        glBindVertexArray(r.vao.get());
        glActiveTexture(GL_TEXTURE0);
        glBindTexture(GL_TEXTURE_2D, v.image);
        glActiveTexture(GL_TEXTURE1);
        glBindTexture(GL_TEXTURE_2D, v.compare ? v.compare : v.image);
        glActiveTexture(GL_TEXTURE2);
        glBindTexture(GL_TEXTURE_2D, v.row_info ? v.row_info : r.no_row_info.get());
        const float w = dd->DisplaySize.x, h = dd->DisplaySize.y;
        auto ndc_x = [&](float sx) { return (sx - dd->DisplayPos.x) / w * 2 - 1; };
        auto ndc_y = [&](float sy) { return 1 - (sy - dd->DisplayPos.y) / h * 2; };
        glUniform4f(r.loc_quad, ndc_x(x0), ndc_y(y1), ndc_x(x1), ndc_y(y0));
        glUniform2i(r.loc_size, v.width, v.height);
        glUniform2f(r.loc_origin, (v.origin.x - dd->DisplayPos.x) * scale.x,
                    fb_h - (v.origin.y - dd->DisplayPos.y) * scale.y);
        glUniform2f(r.loc_zoom, v.zoom * scale.x, v.zoom * v.stretch_y * scale.y);
        glUniform4i(r.loc_channels, v.channels[0], v.channels[1], v.channels[2], v.channels[3]);
        glUniform1i(r.loc_data, v.data_mode);
        glUniform2f(r.loc_range, v.range_lo, v.range_hi);
        glUniform1i(r.loc_compare_mode, v.compare ? v.compare_mode : 0);
        glUniform1f(r.loc_grid, v.grid);
        glUniform1i(r.loc_matrix, v.matrix_mode);
        glUniform1i(r.loc_elem_type, v.elem_type);
        glUniform1i(r.loc_colormap, v.colormap);
        glUniform1i(r.loc_per_row, v.row_info != 0);
        glUniform1i(r.loc_row_info, 2);
        glUniform1i(r.loc_image, 0);
        glUniform1i(r.loc_compare, 1);
        glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    }

    glUseProgram(GLuint(last_program));
    glBindVertexArray(GLuint(last_vao));
    glActiveTexture(GL_TEXTURE2);
    glBindTexture(GL_TEXTURE_2D, GLuint(last_tex2));
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, GLuint(last_tex1));
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, GLuint(last_tex0));
    glActiveTexture(GLenum(last_active));
    glScissor(last_scissor[0], last_scissor[1], last_scissor[2], last_scissor[3]);
    if (last_scissor_on)
        glEnable(GL_SCISSOR_TEST);
    else
        glDisable(GL_SCISSOR_TEST);
    if (last_blend)
        glEnable(GL_BLEND);
    else
        glDisable(GL_BLEND);
}

void add_view_draw(ImDrawList* dl, ViewRenderer& r, const ViewDraw& v) {
    r.draws.push_back(v);
    r.draws.back().renderer = &r;
    dl->AddCallback(view_callback, &r.draws.back()); // deque: stable address until begin_frame
    dl->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
}

GLuint make_texture(GLenum internal, uint32_t w, uint32_t h) {
    GLuint t = 0;
    glGenTextures(1, &t);
    glBindTexture(GL_TEXTURE_2D, t);
    glTexStorage2D(GL_TEXTURE_2D, 1, internal, GLsizei(w), GLsizei(h));
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    return t;
}

void upload_rect(GLuint tex, const px::Image& img, px::Rect rc) {
    glBindTexture(GL_TEXTURE_2D, tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, GLint(img.width));
    glTexSubImage2D(GL_TEXTURE_2D, 0, GLint(rc.x), GLint(rc.y), GLsizei(rc.w), GLsizei(rc.h), GL_RGBA_INTEGER,
                    GL_UNSIGNED_BYTE, img.at(rc.x, rc.y));
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
}

ImU32 operand_color(int i) {
    static const ImU32 k[3] = {IM_COL32(80, 200, 255, 255), IM_COL32(255, 170, 40, 255),
                               IM_COL32(255, 80, 200, 255)};
    return k[i];
}

// Text color that reads on top of the pixel as the shader shows it.
ImU32 label_color(const ViewState& vs, px::Rgba p) {
    float lum;
    if (vs.data_mode) {
        const float t = (float(p[0]) - vs.range_lo) / std::max(vs.range_hi - vs.range_lo, 1e-6f);
        lum = t; // viridis brightens monotonically
    } else {
        const int shown = vs.channels[0] + vs.channels[1] + vs.channels[2] + vs.channels[3];
        if (shown == 1) {
            const int c = vs.channels[0] ? 0 : vs.channels[1] ? 1 : vs.channels[2] ? 2 : 3;
            lum = p[c] / 255.0f;
        } else {
            lum = (0.3f * (vs.channels[0] ? p[0] : 0) + 0.59f * (vs.channels[1] ? p[1] : 0) +
                   0.11f * (vs.channels[2] ? p[2] : 0)) /
                  255.0f;
        }
    }
    return lum > 0.55f ? IM_COL32(0, 0, 0, 255) : IM_COL32(255, 255, 255, 255);
}

} // namespace

bool init_renderer(ViewRenderer& r) {
    std::string log;
    const auto& shaders = px::gl::embedded_shader_files();
    auto source = [&shaders](const char* name) {
        for (const px::gl::ShaderFile& f : shaders)
            if (f.name == name) return f.text;
        return std::string();
    };
    GLuint p = link_program(source("view.vert").c_str(), source("view.frag").c_str(), log);
    if (!p) {
        r.error = "view shader: " + log;
        return false;
    }
    r.program.reset(p);
    GLuint vao = 0;
    glGenVertexArrays(1, &vao);
    r.vao.reset(vao);
    auto loc = [p](const char* n) { return glGetUniformLocation(p, n); };
    r.loc_quad = loc("u_quad");
    r.loc_size = loc("u_size");
    r.loc_origin = loc("u_origin");
    r.loc_zoom = loc("u_zoom");
    r.loc_channels = loc("u_channels");
    r.loc_data = loc("u_data_mode");
    r.loc_range = loc("u_range");
    r.loc_compare_mode = loc("u_compare_mode");
    r.loc_grid = loc("u_grid");
    r.loc_matrix = loc("u_matrix_mode");
    r.loc_image = loc("u_image");
    r.loc_compare = loc("u_compare");
    r.loc_elem_type = loc("u_elem_type");
    r.loc_colormap = loc("u_colormap");
    r.loc_per_row = loc("u_per_row");
    r.loc_row_info = loc("u_row_info");
    // A 1x1 "no data row" texture keeps unit 2 complete when no per-row ranges are drawn.
    const float none[4] = {0, 1, 0, 0};
    r.no_row_info.reset(make_texture(GL_RGBA32F, 1, 1));
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, 1, 1, GL_RGBA, GL_FLOAT, none);
    return true;
}

void begin_frame(ViewRenderer& r) {
    r.draws.clear(); // the callbacks of the previous frame have run
}

void sync_textures(ViewRenderer& r, const px::Image& img, const px::Image& loaded, bool all,
                   const std::vector<px::Rect>& rects) {
    if (img.width == 0 || img.height == 0) return;
    if (all || r.tex_w != img.width || r.tex_h != img.height || !r.cpu_tex) {
        r.cpu_tex.reset(make_texture(GL_RGBA8UI, img.width, img.height));
        r.start_tex.reset(make_texture(GL_RGBA8UI, img.width, img.height));
        r.tex_w = img.width;
        r.tex_h = img.height;
        upload_rect(r.cpu_tex.get(), img, {0, 0, img.width, img.height});
        if (loaded.width == img.width && loaded.height == img.height)
            upload_rect(r.start_tex.get(), loaded, {0, 0, img.width, img.height});
        r.texels_uploaded += uint64_t(img.width) * img.height * 2;
        return;
    }
    for (const px::Rect& rc : rects) {
        if (rc.empty()) continue;
        upload_rect(r.cpu_tex.get(), img, rc);
        r.texels_uploaded += uint64_t(rc.w) * rc.h;
    }
}

void upload_matrix_texture(GlTexture& tex, uint32_t cols, uint32_t rows,
                           const std::vector<px::Rgba>& pixels) {
    if (cols == 0 || rows == 0 || pixels.size() < size_t(cols) * rows) {
        tex.reset();
        return;
    }
    tex.reset(make_texture(GL_RGBA8UI, cols, rows));
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, GLsizei(cols), GLsizei(rows), GL_RGBA_INTEGER, GL_UNSIGNED_BYTE,
                    pixels.data());
}

void sync_row_ranges(ViewRenderer& r, const px::Image& img, const std::vector<px::Region>& regions,
                     const px::Row0Listing& listing, uint64_t serial) {
    if (r.ranges_serial == serial && r.row_info) return;
    // Big images: ranges follow loads only (reading every matrix each step would cost frames).
    const bool big = uint64_t(img.width) * img.height > (uint64_t(1) << 22);
    if (big && r.row_info && r.ranges.size() == regions.size()) return;
    r.ranges_serial = serial;
    r.ranges.clear();
    if (img.height == 0) return;
    std::vector<float> rows(size_t(img.height) * 4, 0.0f); // lo, hi, type + 4 * end x, is data
    for (const px::Region& reg : regions) {
        const px::DType type = px::element_type(listing, reg.row, &reg);
        auto m = px::read_typed_matrix(img, reg.row, type, &reg);
        if (!m || m->stored.empty()) continue;
        // Over the finite values; a float matrix symmetric about 0 for the diverging map.
        const px::ValueStats vs = px::value_stats(m->stored, 0);
        ViewRenderer::RowRange rr{reg.row, reg.row, type, vs.min, vs.max};
        const bool is_float = px::dtype_is_float(type);
        if (is_float) {
            const double mag = std::max({std::fabs(vs.min), std::fabs(vs.max), 1e-30});
            rr.lo = -mag, rr.hi = mag;
        }
        const uint64_t used = px::dtype_pixels(type, m->stored.size()); // element pixels
        rr.last_row = uint32_t(px::element_y(used - 1, reg.row, img.width));
        const uint32_t end_last = px::element_x(used - 1, img.width) + 1; // exclusive
        for (uint32_t y = rr.row; y <= rr.last_row && y < img.height; ++y) {
            float* p = &rows[size_t(y) * 4];
            const uint32_t end = y == rr.last_row ? end_last : img.width;
            p[0] = float(rr.lo);
            p[1] = is_float ? float(rr.hi) : float(std::max(rr.hi, rr.lo + 1));
            p[2] = float(uint32_t(type) + 4 * end); // type (dtype code), and where elements end
            p[3] = 1.0f;
        }
        r.ranges.push_back(rr);
    }
    r.row_info.reset(make_texture(GL_RGBA32F, img.height, 1));
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, GLsizei(img.height), 1, GL_RGBA, GL_FLOAT, rows.data());
}

glm::dvec2 screen_to_pixel(const ViewState& vs, glm::vec2 canvas_pos, glm::vec2 screen) {
    return vs.pan + glm::dvec2(screen - canvas_pos) / double(vs.zoom);
}

glm::vec2 pixel_to_screen(const ViewState& vs, glm::vec2 canvas_pos, glm::dvec2 pixel) {
    return canvas_pos + glm::vec2((pixel - vs.pan) * double(vs.zoom));
}

void center_on(ViewState& vs, glm::vec2 canvas_size, glm::dvec2 pixel) {
    vs.pan = pixel - glm::dvec2(canvas_size) / 2.0 / double(vs.zoom);
}

void zoom_about(ViewState& vs, float new_zoom, ImVec2 canvas_pos, ImVec2 anchor) {
    const glm::vec2 cp(canvas_pos.x, canvas_pos.y), a(anchor.x, anchor.y);
    const glm::dvec2 fixed = screen_to_pixel(vs, cp, a);
    vs.zoom = glm::clamp(new_zoom, kMinZoom, kMaxZoom);
    vs.pan = fixed - glm::dvec2(a - cp) / double(vs.zoom);
}

void fit_view(ViewState& vs, ImVec2 size, uint32_t w, uint32_t h) {
    if (w == 0 || h == 0 || size.x <= 0 || size.y <= 0) return;
    // A gutter on the left keeps region names readable beside the image.
    const float gutter = std::min(vs.fit_gutter, size.x / 3);
    const glm::vec2 canvas(size.x - gutter, size.y), image(w, h);
    const glm::vec2 ratio = canvas / image;
    vs.zoom = glm::clamp(glm::min(ratio.x, ratio.y), kMinZoom, kMaxZoom);
    center_on(vs, canvas, glm::dvec2(image) / 2.0);
    vs.pan.x -= gutter / vs.zoom;
}

namespace {

// Input common to every canvas: wheel zoom about the cursor, drag to pan, fit and 1:1 requests.
void canvas_input(ViewState& vs, ImVec2 pos, ImVec2 size, uint32_t w, uint32_t h, bool& hovered,
                  bool& clicked) {
    ImGuiIO& io = ImGui::GetIO();
    hovered = ImGui::IsItemHovered();
    clicked = false;
    if (vs.fit_pending) {
        fit_view(vs, size, w, h);
        vs.fit_pending = false;
    }
    if (vs.one_to_one_pending) {
        zoom_about(vs, 1.0f, pos, ImVec2(pos.x + size.x / 2, pos.y + size.y / 2));
        vs.one_to_one_pending = false;
    }
    if (vs.center_pending) {
        center_on(vs, glm::vec2(size.x, size.y), *vs.center_pending);
        vs.center_pending.reset();
    }
    if (hovered && io.MouseWheel != 0)
        zoom_about(vs, vs.zoom * glm::exp2(io.MouseWheel * 0.5f), pos, io.MousePos);
    if (ImGui::IsItemActive() && (io.MouseDown[0] || io.MouseDown[2]) &&
        (io.MouseDelta.x != 0 || io.MouseDelta.y != 0))
        vs.pan -= glm::dvec2(io.MouseDelta.x, io.MouseDelta.y) / double(vs.zoom);
    if (hovered && ImGui::IsMouseReleased(0) && io.MouseDragMaxDistanceSqr[0] < 16) clicked = true;
}

ImVec2 to_screen(const ViewState& vs, ImVec2 pos, double x, double y) {
    const glm::vec2 s = pixel_to_screen(vs, glm::vec2(pos.x, pos.y), glm::dvec2(x, y));
    return ImVec2(s.x, s.y);
}

void outline_rects(ImDrawList* dl, const ViewState& vs, ImVec2 pos, const std::vector<px::Rect>& rects,
                   ImU32 col, float thickness, ImU32 fill = 0) {
    for (const px::Rect& rc : rects) {
        const ImVec2 a = to_screen(vs, pos, rc.x, rc.y), b = to_screen(vs, pos, rc.x + rc.w, rc.y + rc.h);
        if (fill) dl->AddRectFilled(a, b, fill);
        dl->AddRect(ImVec2(a.x - 0.5f, a.y - 0.5f), ImVec2(b.x + 0.5f, b.y + 0.5f), col, 0, 0, thickness);
    }
}

void tag(ImDrawList* dl, ImVec2 at, ImU32 col, const std::string& text) {
    const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
    dl->AddRectFilled(at, ImVec2(at.x + ts.x + 6, at.y + ts.y + 2), IM_COL32(20, 20, 24, 210), 2);
    dl->AddText(ImVec2(at.x + 3, at.y + 1), col, text.c_str());
}

std::string shape(px::MatrixHeader h) {
    return std::to_string(h.rows) + "x" + std::to_string(h.cols);
}

// Labels come from the CPU image's structure (listing, regions). A view of the GPU texture reads
// back just the visible cells: where a GPU pixel differs from the CPU's, its cell shows the GPU
// bytes in hex, in magenta, instead of the CPU's label.
void draw_annotations(ImDrawList* dl, const ViewState& vs, ImVec2 pos, ImVec2 size, const ViewScene& sc,
                      GLuint gpu_tex) {
    const px::Image& img = *sc.image;
    const double x0 = std::max(0.0, std::floor(vs.pan.x)), y0 = std::max(0.0, std::floor(vs.pan.y));
    const double x1 = std::min<double>(img.width, std::ceil(vs.pan.x + size.x / vs.zoom));
    const double y1 = std::min<double>(img.height, std::ceil(vs.pan.y + size.y / vs.zoom));
    if (x1 <= x0 || y1 <= y0) return;
    ImFont* font = ImGui::GetFont();
    const float font_size = ImGui::GetFontSize();
    const px::Rect vis{uint32_t(x0), uint32_t(y0), uint32_t(x1 - x0), uint32_t(y1 - y0)};
    std::vector<uint8_t> gpu;
    if (gpu_tex) {
        gpu.resize(size_t(vis.w) * vis.h * 4);
        glGetTextureSubImage(gpu_tex, 0, GLint(vis.x), GLint(vis.y), 0, GLsizei(vis.w), GLsizei(vis.h), 1,
                             GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, GLsizei(gpu.size()), gpu.data());
    }
    for (uint32_t y = uint32_t(y0); y < uint32_t(y1); ++y)
        for (uint32_t x = uint32_t(x0); x < uint32_t(x1); ++x) {
            px::PixelMeaning m = px::describe_pixel_label(img, *sc.regions, *sc.listing, x, y);
            ImU32 color = label_color(vs, img.pixel(x, y));
            if (!gpu.empty()) {
                const uint8_t* g = &gpu[(size_t(y - vis.y) * vis.w + (x - vis.x)) * 4];
                if (std::memcmp(g, img.at(x, y), 4) != 0) {
                    char hex[12];
                    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", g[0], g[1], g[2], g[3]);
                    m.label = hex;
                    color = IM_COL32(255, 60, 220, 255);
                }
            }
            // The label at the normal size, else smaller, else (8 hex digits) on two lines.
            // Only hex labels (8 digits of RGBA) split over two lines: a number must read as one.
            const bool hex = m.role == px::PixelRole::Param || m.role == px::PixelRole::Other || !gpu.empty();
            const std::string split =
                hex && m.label.size() == 8 ? m.label.substr(0, 4) + "\n" + m.label.substr(4) : std::string();
            const std::pair<const std::string*, float> tries[5] = {{&m.label, font_size},
                                                                   {&m.label, font_size * 0.8f},
                                                                   {&split, font_size},
                                                                   {&split, font_size * 0.8f},
                                                                   {&m.label, font_size * 0.65f}};
            const std::string* text = nullptr;
            float size = font_size;
            ImVec2 ts;
            for (const auto& [t, sz] : tries) {
                if (t->empty()) continue;
                ts = font->CalcTextSizeA(sz, FLT_MAX, 0, t->c_str());
                if (ts.x <= vs.zoom - 3 && ts.y <= vs.zoom - 2) {
                    text = t;
                    size = sz;
                    break;
                }
            }
            if (!text) continue;
            const ImVec2 cell = to_screen(vs, pos, x, y);
            const ImVec2 at(cell.x + (vs.zoom - ts.x) / 2, cell.y + (vs.zoom - ts.y) / 2);
            dl->AddText(font, size, at, color, text->c_str());
        }
}

} // namespace

ViewInteraction draw_program_view(const char* id, ImVec2 size, ViewState& vs, ViewRenderer& r,
                                  const ViewScene& sc, const ViewOverlay& overlay) {
    ViewInteraction out;
    static const px::Image kNone;
    const px::Image& img = sc.image ? *sc.image : kNone;
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    size.x = std::max(size.x, 32.0f);
    size.y = std::max(size.y, 32.0f);
    ImGui::InvisibleButton(id, size, ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonMiddle);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(pos, ImVec2(pos.x + size.x, pos.y + size.y), IM_COL32(28, 28, 32, 255));
    if (img.width == 0) return out;
    vs.canvas = size;
    canvas_input(vs, pos, size, img.width, img.height, out.hovered, out.clicked);

    dl->PushClipRect(pos, ImVec2(pos.x + size.x, pos.y + size.y), true);
    ViewDraw v;
    v.width = int(img.width);
    v.height = int(img.height);
    v.origin = to_screen(vs, pos, 0, 0);
    v.zoom = vs.zoom;
    const ImVec2 end = to_screen(vs, pos, img.width, img.height);
    v.clip = ImVec4(std::max(pos.x, v.origin.x), std::max(pos.y, v.origin.y), std::min(pos.x + size.x, end.x),
                    std::min(pos.y + size.y, end.y));
    std::copy(vs.channels, vs.channels + 4, v.channels);
    v.data_mode = vs.data_mode;
    v.range_lo = vs.range_lo;
    v.range_hi = vs.range_hi;
    v.grid = vs.grid && vs.zoom >= 6 ? std::min(0.6f, (vs.zoom - 5) / 10) : 0;
    v.image = sc.texture;
    v.row_info = vs.data_mode && vs.per_matrix_range ? sc.row_info : 0;
    v.colormap = sc.colormap;
    v.compare = sc.compare;
    v.compare_mode = sc.compare ? sc.compare_mode : 0;
    if (v.image && v.clip.z > v.clip.x && v.clip.w > v.clip.y) add_view_draw(dl, r, v);

    // Annotations: text for visible cells once a cell is large enough to hold some.
    if (vs.annotations && vs.zoom >= 18 && sc.regions && sc.listing)
        draw_annotations(dl, vs, pos, size, sc, sc.differing_from_cpu);
    static const std::vector<px::Region> kNoRegions;
    const std::vector<px::Region>& regions = sc.regions ? *sc.regions : kNoRegions;

    // Regions: row 0 and every matrix outlined and labelled. Labels sit in the margin left of the
    // image when it has room (as a debugger's gutter), else inside the region. Taller regions are
    // labelled first and a label slides down within its region rather than overlap another.
    if (vs.regions) {
        const float margin = to_screen(vs, pos, 0, 0).x - pos.x;
        const float line_h = ImGui::GetTextLineHeight() + 2;
        struct Label {
            float top, bottom; // screen extent of the region
            std::string text;
            ImU32 col;
        };
        std::vector<Label> labels;
        labels.push_back(
            {to_screen(vs, pos, 0, 0).y, to_screen(vs, pos, 0, 1).y, "row 0", IM_COL32(255, 255, 255, 255)});
        outline_rects(dl, vs, pos, {{0, 0, img.width, 1}}, IM_COL32(255, 255, 255, 140), 1);
        for (const px::Region& reg : regions) {
            const px::MatrixHeader now = px::decode_header(img.pixel(0, reg.row));
            const std::vector<px::Rect> rects = px::matrix_rects_now(regions, img, reg.row);
            outline_rects(dl, vs, pos, rects, IM_COL32(120, 230, 120, 170), 1);
            uint32_t last_row = reg.row;
            for (const px::Rect& rc : rects)
                last_row = std::max(last_row, rc.y + rc.h - 1);
            labels.push_back({to_screen(vs, pos, 0, reg.row).y, to_screen(vs, pos, 0, last_row + 1).y,
                              reg.name + " " + shape(now), IM_COL32(150, 255, 150, 255)});
        }
        std::stable_sort(labels.begin(), labels.end(),
                         [](const Label& a, const Label& b) { return a.bottom - a.top > b.bottom - b.top; });
        std::vector<std::pair<float, float>> taken;
        for (const Label& l : labels) {
            if (l.bottom < pos.y || l.top > pos.y + size.y) continue;
            const float first = std::max(l.top + std::min(0.0f, (l.bottom - l.top - line_h) / 2), pos.y);
            const float last = std::max(first, l.bottom - line_h);
            const float w = ImGui::CalcTextSize(l.text.c_str()).x + 6;
            const bool gutter = margin > w + 4;
            auto free_at = [&](float y) {
                return y >= pos.y && y + line_h <= pos.y + size.y &&
                       std::none_of(taken.begin(), taken.end(), [&](const std::pair<float, float>& t) {
                           return y < t.second && y + line_h > t.first;
                       });
            };
            std::optional<float> slot;
            for (float y = first; y <= last && !slot; y += line_h / 2)
                if (free_at(y)) slot = y;
            // In the gutter a label may also sit near its region, with a leader line to it, so
            // thin regions (a 1-pixel row at fit) keep their names.
            for (float dy = line_h / 2; gutter && !slot && dy < size.y; dy += line_h / 2) {
                if (free_at(first + dy))
                    slot = first + dy;
                else if (free_at(first - dy))
                    slot = first - dy;
            }
            if (!slot) continue;
            const float y = *slot;
            const ImVec2 at = gutter ? ImVec2(pos.x + margin - w - 8, y)
                                     : ImVec2(std::max(pos.x, to_screen(vs, pos, 0, 0).x) + 2, y);
            if (gutter && (y > l.bottom || y + line_h < l.top))
                dl->AddLine(ImVec2(at.x + w, y + line_h / 2), ImVec2(pos.x + margin, (l.top + l.bottom) / 2),
                            (l.col & 0x00FFFFFF) | 0x90000000);
            tag(dl, at, l.col, l.text);
            taken.emplace_back(y, y + line_h);
        }
    }

    // The current (or hovered) instruction and its operands, in three colors.
    const int64_t idx =
        overlay.highlight_pc && sc.listing ? sc.listing->index_at_pc(*overlay.highlight_pc) : -1;
    if (idx >= 0) {
        const px::Instruction& ins = sc.listing->instructions[size_t(idx)].ins;
        if (ins.info)
            for (int i = 0; i < 3; ++i) {
                const px::OperandKind k = ins.info->operands[i];
                const uint32_t row = ins.operand[i];
                if (k == px::OperandKind::None || row == 0 || row >= img.height) continue;
                std::vector<px::Rect> rects = k == px::OperandKind::ScalarOut
                                                  ? std::vector<px::Rect>{{0, row, 1, 1}}
                                                  : px::matrix_rects_now(regions, img, row);
                const ImU32 c = operand_color(i);
                outline_rects(dl, vs, pos, rects, c, 3, (c & 0x00FFFFFF) | 0x30000000);
                const ImVec2 at = to_screen(vs, pos, img.width, row);
                tag(dl,
                    ImVec2(std::min(at.x + 3, pos.x + size.x - 14),
                           at.y + std::min(0.0f, (vs.zoom - 16) / 2)),
                    c, std::string(1, char('a' + i)));
            }
        outline_rects(dl, vs, pos, {{ins.pc, 0, std::max<uint32_t>(ins.length, 1), 1}},
                      IM_COL32(255, 230, 0, 255), 3);
    }

    // The last step's writes, fading.
    if (overlay.written_fade > 0) {
        const int a = int(200 * overlay.written_fade);
        outline_rects(dl, vs, pos, overlay.written, IM_COL32(255, 255, 255, a), 2,
                      IM_COL32(255, 255, 255, a / 3));
    }

    // A trap marks the pixel responsible.
    if (overlay.trap) {
        const px::Trap& t = *overlay.trap;
        const ImVec2 a = to_screen(vs, pos, t.x, t.y), b = to_screen(vs, pos, t.x + 1, t.y + 1);
        const ImVec2 c((a.x + b.x) / 2, (a.y + b.y) / 2);
        const float rad = std::max(8.0f, (b.x - a.x) / 2 + 4);
        dl->AddRect(ImVec2(c.x - rad, c.y - rad), ImVec2(c.x + rad, c.y + rad), IM_COL32(255, 40, 40, 255), 0,
                    0, 3);
        tag(dl, ImVec2(c.x + rad + 2, c.y - rad), IM_COL32(255, 90, 90, 255),
            "TRAP " + std::string(px::trap_name(t.code)));
    }

    dl->PopClipRect();

    if (out.hovered) {
        const ImVec2 mp = ImGui::GetIO().MousePos;
        const glm::dvec2 p = screen_to_pixel(vs, glm::vec2(pos.x, pos.y), glm::vec2(mp.x, mp.y));
        if (p.x >= 0 && p.y >= 0 && p.x < img.width && p.y < img.height)
            out.hover_pixel = std::make_pair(uint32_t(p.x), uint32_t(p.y));
    }
    return out;
}

MatrixViewResult draw_matrix_view(const char* id, ImVec2 size, ViewState& vs, ViewRenderer& r, GLuint tex,
                                  uint32_t cols, uint32_t rows, int elem_type, int colormap) {
    MatrixViewResult out;
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    size.x = std::max(size.x, 32.0f);
    size.y = std::max(size.y, 32.0f);
    ImGui::InvisibleButton(id, size, ImGuiButtonFlags_MouseButtonLeft);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(pos, ImVec2(pos.x + size.x, pos.y + size.y), IM_COL32(28, 28, 32, 255));
    if (!tex || cols == 0 || rows == 0) return out;
    bool clicked = false;
    canvas_input(vs, pos, size, cols, rows, out.hovered, clicked);
    // A thin matrix (a vector) at fit would be a hairline: stretch rows to a readable height.
    const float stretch = std::max(1.0f, std::min(size.y * 0.5f, 48.0f) / (rows * vs.zoom));
    ViewDraw v;
    v.image = tex;
    v.width = int(cols);
    v.height = int(rows);
    // Stretched, the rows are centered vertically (vertical pan is moot for a few rows).
    v.origin = ImVec2(float(pos.x - vs.pan.x * vs.zoom), stretch > 1
                                                             ? pos.y + (size.y - rows * vs.zoom * stretch) / 2
                                                             : float(pos.y - vs.pan.y * vs.zoom));
    v.zoom = vs.zoom;
    v.stretch_y = stretch;
    const ImVec2 end(float(v.origin.x + cols * vs.zoom), float(v.origin.y + rows * vs.zoom * stretch));
    v.clip = ImVec4(std::max(pos.x, v.origin.x), std::max(pos.y, v.origin.y), std::min(pos.x + size.x, end.x),
                    std::min(pos.y + size.y, end.y));
    v.matrix_mode = true;
    v.elem_type = elem_type;
    v.colormap = colormap;
    v.range_lo = vs.range_lo;
    v.range_hi = vs.range_hi;
    v.grid = vs.grid && vs.zoom >= 6 ? std::min(0.6f, (vs.zoom - 5) / 10) : 0;
    dl->PushClipRect(pos, ImVec2(pos.x + size.x, pos.y + size.y), true);
    if (v.clip.z > v.clip.x && v.clip.w > v.clip.y) add_view_draw(dl, r, v);
    dl->PopClipRect();
    if (out.hovered) {
        const ImVec2 mp = ImGui::GetIO().MousePos;
        const double ix = vs.pan.x + (mp.x - pos.x) / vs.zoom, iy = (mp.y - v.origin.y) / (vs.zoom * stretch);
        if (ix >= 0 && iy >= 0 && ix < cols && iy < rows) {
            out.n = uint32_t(ix);
            out.m = uint32_t(iy);
        } else {
            out.hovered = false;
        }
    }
    return out;
}

} // namespace pxdbg
