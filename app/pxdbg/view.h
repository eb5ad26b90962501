// view.h — pxdbg's program views: window state (zoom, pan, toggles) and the GL side that draws.
//
// A view draws a texture through shaders/view.{vert,frag} from an ImDrawList callback, so only
// visible pixels cost anything. Annotations, region outlines and highlights are ImDrawList
// primitives over visible cells only. The GL state the callback changes is saved and restored.
#pragma once
#include "debugger.h"
#include "gl_util.h"

#include <imgui.h>

#include <deque>
#include <optional>
#include <string>

namespace pxdbg {

// Window state of a view; linked views share one.
struct ViewState {
    float zoom = 1.0f;           // screen pixels per image pixel, 1/16 .. 256
    double pan_x = 0, pan_y = 0; // image coordinates at the canvas' top-left corner
    bool channels[4] = {true, true, true, false};
    bool data_mode = false; // R through the colormap
    float range_lo = 0, range_hi = 255;
    bool grid = true, annotations = true, regions = true;
    bool heat = false;       // changed since start
    bool fit_pending = true; // fit on the next frame (the canvas size is known then)
    bool one_to_one_pending = false;
};

inline constexpr float kMinZoom = 1.0f / 16, kMaxZoom = 256.0f;

// One draw of the shader, recorded during the frame and executed by the renderer callback.
struct ViewDraw {
    GLuint image = 0, compare = 0;
    int width = 0, height = 0;
    ImVec2 origin; // screen position of pixel (0,0)'s top-left corner
    float zoom = 1;
    ImVec4 clip; // screen rect drawn (canvas ∩ image)
    bool channels[4] = {true, true, true, false};
    bool data_mode = false, matrix_mode = false;
    float range_lo = 0, range_hi = 255;
    int compare_mode = 0; // 0 none, 1 difference, 2 heat
    float grid = 0;
};

// The GL side: the shader, the textures mirroring the CPU image and the image as loaded.
struct ViewRenderer {
    GlProgram program;
    GlVertexArray vao;
    GLint loc_quad = -1, loc_size = -1, loc_origin = -1, loc_zoom = -1, loc_channels = -1, loc_data = -1,
          loc_range = -1, loc_compare_mode = -1, loc_grid = -1, loc_matrix = -1, loc_image = -1,
          loc_compare = -1;
    GlTexture cpu_tex, start_tex;
    uint32_t tex_w = 0, tex_h = 0;
    uint64_t texels_uploaded = 0; // for the status bar / tests: proves partial updates
    std::deque<ViewDraw> draws;   // this frame's draws (stable addresses for callbacks)
    std::string error;
};

bool init_renderer(ViewRenderer& r);
// Uploads what the debugger says changed (written rectangles only), or everything after a load.
void sync_textures(ViewRenderer& r, Debugger& d);
// Creates an R8UI texture holding `values` as a rows x cols image (for the matrix inspector).
void upload_matrix_texture(GlTexture& tex, uint32_t cols, uint32_t rows, const std::vector<uint8_t>& values);

enum class ViewSource : uint8_t { Cpu, Gpu, Difference };

// What the user did in a view this frame.
struct ViewInteraction {
    bool hovered = false;
    std::optional<std::pair<uint32_t, uint32_t>> hover_pixel;
    bool clicked = false;
};

struct ViewOverlay {
    std::optional<uint32_t> highlight_pc; // hovered disassembly line, else the PC
    float written_fade = 0;               // 0..1 strength of the last-step highlight
};

// Handles input (wheel zoom about the cursor, drag pan) and records the draw for one canvas.
ViewInteraction draw_program_view(const char* id, ImVec2 size, ViewState& vs, ViewRenderer& r, Debugger& d,
                                  ViewSource source, const ViewOverlay& overlay);

// Draws a logical matrix texture (R8UI) with the colormap; hover reports (row, col).
struct MatrixViewResult {
    bool hovered = false;
    uint32_t m = 0, n = 0;
};
MatrixViewResult draw_matrix_view(const char* id, ImVec2 size, ViewState& vs, ViewRenderer& r, GLuint tex,
                                  uint32_t cols, uint32_t rows);

// Zoom keeping the image point under `anchor` (screen) fixed.
void zoom_about(ViewState& vs, float new_zoom, ImVec2 canvas_pos, ImVec2 anchor);
void fit_view(ViewState& vs, ImVec2 canvas_size, uint32_t w, uint32_t h);

} // namespace pxdbg
