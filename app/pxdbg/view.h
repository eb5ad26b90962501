// view.h — pxdbg's program views: window state (zoom, pan, toggles) and the GL side that draws.
//
// A view draws a texture through shaders/view.{vert,frag} from an ImDrawList callback, so only
// visible pixels cost anything. Annotations, region outlines and highlights are ImDrawList
// primitives over visible cells only. The GL state the callback changes is saved and restored.
// The view knows no Debugger: it takes textures, the image's structure (regions, row-0 listing)
// and overlays (ViewScene, ViewOverlay). Its transforms (zoom, pan, screen <-> pixel) are glm.
#pragma once
#include "gl_util.h"
#include "inspect.h"

#include <glm/vec2.hpp>
#include <imgui.h>

#include <deque>
#include <optional>
#include <string>

namespace pxdbg {

// Window state of a view; linked views share one.
struct ViewState {
    float zoom = 1.0f;    // screen pixels per image pixel, 1/16 .. 256
    glm::dvec2 pan{0, 0}; // image coordinates at the canvas' top-left corner
    bool channels[4] = {true, true, true, false};
    bool data_mode = true;        // values through the colormap (the first view explains more than RGB)
    bool per_matrix_range = true; // data mode: each matrix over its own min..max (else range_lo..hi)
    float fit_gutter = 0;         // screen pixels fit leaves on the left (region names)
    float range_lo = 0, range_hi = 255;
    bool grid = true, annotations = true, regions = true;
    bool heat = false;       // changed since start
    bool fit_pending = true; // fit on the next frame (the canvas size is known then)
    bool one_to_one_pending = false;
    std::optional<glm::dvec2> center_pending; // center this image point on the next frame
    ImVec2 canvas{0, 0};                      // last drawn canvas size (screen pixels)
};

// The view transform: screen = canvas_pos + (pixel - pan) * zoom.
glm::dvec2 screen_to_pixel(const ViewState& vs, glm::vec2 canvas_pos, glm::vec2 screen);
glm::vec2 pixel_to_screen(const ViewState& vs, glm::vec2 canvas_pos, glm::dvec2 pixel);
// Puts image point `pixel` at the middle of a canvas of `canvas_size`.
void center_on(ViewState& vs, glm::vec2 canvas_size, glm::dvec2 pixel);

inline constexpr float kMinZoom = 1.0f / 16, kMaxZoom = 256.0f;

// One draw of the shader, recorded during the frame and executed by the renderer callback.
struct ViewRenderer;
struct ViewDraw {
    const ViewRenderer* renderer = nullptr; // the callback's context
    GLuint image = 0, compare = 0;
    int width = 0, height = 0;
    ImVec2 origin; // screen position of pixel (0,0)'s top-left corner
    float zoom = 1;
    float stretch_y = 1; // extra vertical scale (matrix views of thin matrices)
    ImVec4 clip;         // screen rect drawn (canvas ∩ image)
    bool channels[4] = {true, true, true, false};
    bool data_mode = false, matrix_mode = false;
    float range_lo = 0, range_hi = 255;
    int compare_mode = 0; // 0 none, 1 difference, 2 heat
    float grid = 0;
    int elem_type = 0;   // matrix mode: the dtype code (0 u8 R byte, 1 f32, 3 i32; f16 comes widened to f32)
    GLuint row_info = 0; // program view data mode: per-row (lo, hi, type, is data), else 0
    int colormap = 0;    // 0 viridis, 1 gray, 2 diverging
};

// The GL side: the shader, the textures mirroring the CPU image and the image as loaded.
struct ViewRenderer {
    GlProgram program;
    GlVertexArray vao;
    GLint loc_quad = -1, loc_size = -1, loc_origin = -1, loc_zoom = -1, loc_channels = -1, loc_data = -1,
          loc_range = -1, loc_compare_mode = -1, loc_grid = -1, loc_matrix = -1, loc_image = -1,
          loc_compare = -1, loc_elem_type = -1, loc_colormap = -1, loc_per_row = -1, loc_row_info = -1;
    GlTexture cpu_tex, start_tex;
    GlTexture row_info, no_row_info; // per-row data ranges (RGBA32F, height x 1)
    struct RowRange {
        uint32_t row, last_row;
        px::DType type;
        double lo, hi; // stored values
    };
    std::vector<RowRange> ranges; // per region, for the legend and tests
    uint64_t ranges_serial = ~0ull;
    uint32_t tex_w = 0, tex_h = 0;
    uint64_t texels_uploaded = 0; // for the status bar / tests: proves partial updates
    std::deque<ViewDraw> draws;   // this frame's draws (stable addresses for callbacks)
    std::string error;
};

bool init_renderer(ViewRenderer& r);
// Per-matrix data ranges (min..max of each matrix's typed values, element types from the engine)
// as a texture the shader reads by row; recomputed when `serial` changes.
void sync_row_ranges(ViewRenderer& r, const px::Image& image, const std::vector<px::Region>& regions,
                     const px::Row0Listing& listing, uint64_t serial);
// Starts a frame: the previous frame's draw records go (their callbacks have run).
void begin_frame(ViewRenderer& r);
// Uploads what changed (written rectangles only), or everything after a load; `loaded` is the image
// as loaded, the heat map's reference.
void sync_textures(ViewRenderer& r, const px::Image& image, const px::Image& loaded, bool all,
                   const std::vector<px::Rect>& rects);
// Creates an RGBA8UI texture holding a matrix's element pixels as a rows x cols image (the
// inspector); the shader reads them as the element type says.
void upload_matrix_texture(GlTexture& tex, uint32_t cols, uint32_t rows, const std::vector<px::Rgba>& pixels);

// What one program view shows.
struct ViewScene {
    const px::Image* image = nullptr; // the CPU image: cell labels and structure come from it
    const std::vector<px::Region>* regions = nullptr;
    const px::Row0Listing* listing = nullptr;
    GLuint texture = 0;            // drawn
    GLuint compare = 0;            // second texture for compare_mode
    int compare_mode = 0;          // 0 none, 1 difference, 2 heat (changed since start)
    GLuint differing_from_cpu = 0; // when `texture` is the GPU's: cells that differ get its bytes in hex
    GLuint row_info = 0;           // per-row data ranges (sync_row_ranges)
    int colormap = 0;              // 0 viridis, 1 gray, 2 diverging
};

// What the user did in a view this frame.
struct ViewInteraction {
    bool hovered = false;
    std::optional<std::pair<uint32_t, uint32_t>> hover_pixel;
    bool clicked = false;
};

struct ViewOverlay {
    std::optional<uint32_t> highlight_pc; // hovered disassembly line, else the PC
    float written_fade = 0;               // 0..1 strength of the last-step highlight
    std::vector<px::Rect> written;        // the last step's writes
    std::optional<px::Trap> trap;         // marks the pixel responsible
};

// Handles input (wheel zoom about the cursor, drag pan) and records the draw for one canvas.
ViewInteraction draw_program_view(const char* id, ImVec2 size, ViewState& vs, ViewRenderer& r,
                                  const ViewScene& scene, const ViewOverlay& overlay);

// Draws a logical matrix texture with the colormap; elem_type is a dtype code (0: the R byte, 3: the
// whole pixel as int32, 1: as float32, through the diverging map centred on 0), else as
// int32; colormap 0 viridis, 1 gray, 2 diverging. Hover reports (row, col).
struct MatrixViewResult {
    bool hovered = false;
    uint32_t m = 0, n = 0;
};
MatrixViewResult draw_matrix_view(const char* id, ImVec2 size, ViewState& vs, ViewRenderer& r, GLuint tex,
                                  uint32_t cols, uint32_t rows, int elem_type = 0, int colormap = 0);

// Zoom keeping the image point under `anchor` (screen) fixed.
void zoom_about(ViewState& vs, float new_zoom, ImVec2 canvas_pos, ImVec2 anchor);
void fit_view(ViewState& vs, ImVec2 canvas_size, uint32_t w, uint32_t h);

} // namespace pxdbg
