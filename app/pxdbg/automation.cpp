// automation.cpp — the JSON state file and screenshots, for tests and documentation.
//
// The state file says what the windows show (pc, steps, status, hashes, the open dialog, the
// matrix in the inspector with typed values) so tests check the app through it, not through
// pixels. Both writes are atomic and refuse the loaded input (docs/write-paths.md).
#include "app.h"

#include "png_io.h"

#include <imgui.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace pxdbg {
namespace fs = std::filesystem;

namespace {

constexpr const char* kColormapNames[3] = {"viridis", "gray", "diverging"};

nlohmann::json inspector_json(const App& app) {
    const Debugger& d = app.dbg;
    const px::Region* reg = selected_region(d);
    if (!reg || app.after.stored.empty()) return nullptr;
    const MatrixStats& s = app.after;
    nlohmann::json j{{"name", reg->name},
                     {"row", reg->row},
                     {"rows", s.rows},
                     {"cols", s.cols},
                     {"type", std::string(px::dtype_name(s.type))},
                     {"nan", s.nan},
                     {"inf", s.inf},
                     // The range the matrix views map through the colormap (diverging about 0 for floats).
                     {"view_range", {app.inspector_view.range_lo, app.inspector_view.range_hi}},
                     {"colormap", px::dtype_is_float(s.type)
                                      ? "diverging"
                                      : kColormapNames[std::clamp(app.colormap, 0, 2)]},
                     {"min", s.min},
                     {"max", s.max},
                     {"mean", s.mean},
                     {"histogram_range", {s.hist_lo, s.hist_hi}},
                     {"histogram_bins", s.histogram.size()},
                     {"before_elements", app.before.stored.size()}};
    // The first elements as shown (stored value and real value), so tests compare them with the
    // file's pixels; at most 64 to keep the file small.
    // Values are JSON numbers (floats exactly, as doubles), or "NaN", "+inf", "-inf"; texts are
    // what the inspector's tooltip prints.
    nlohmann::json values = nlohmann::json::array(), real = nlohmann::json::array(),
                   texts = nlohmann::json::array();
    for (size_t i = 0; i < std::min<size_t>(s.stored.size(), 64); ++i) {
        const double v = s.stored[i];
        values.push_back(!std::isfinite(v)            ? nlohmann::json(px::value_text(v, s.type))
                         : px::dtype_is_float(s.type) ? nlohmann::json(v)
                                                      : nlohmann::json(int64_t(v)));
        texts.push_back(px::value_text(v, s.type));
        if (!s.real.empty()) real.push_back(s.real[i]);
    }
    j["values"] = values;
    j["texts"] = texts;
    j["real"] = s.real.empty() ? nlohmann::json(nullptr) : real;
    return j;
}

// Watches (regions by row and name), GPT layer breakpoints ("layer L head H" and their pcs) and
// the note of the last stop one of them caused.
void breaks_json(const Debugger& d, nlohmann::json& j) {
    nlohmann::json watches = nlohmann::json::array(), layers = nlohmann::json::array();
    for (uint32_t row : d.watches) {
        std::string name;
        for (const px::Region& r : d.regions)
            if (r.row == row) name = r.name;
        watches.push_back({{"row", row}, {"name", name}});
    }
    for (const LayerBreakpoint& b : d.layer_breakpoints)
        layers.push_back({{"layer", b.layer}, {"head", b.head}, {"label", b.label()}, {"pcs", b.pcs}});
    j["watches"] = watches;
    j["layer_breakpoints"] = layers;
    j["stop_note"] = d.stop_note;
    j["watch_hit"] = d.watch_hit ? nlohmann::json(*d.watch_hit) : nlohmann::json(nullptr);
    j["layer_hit"] = d.layer_hit ? nlohmann::json{{"layer", d.layer_hit->layer}, {"head", d.layer_hit->head}}
                                 : nlohmann::json(nullptr);
}

} // namespace

std::string state_json(const App& app) {
    const Debugger& d = app.dbg;
    nlohmann::json j;
    j["file"] = d.path;
    j["width"] = d.cpu.image.width;
    j["height"] = d.cpu.image.height;
    j["pc"] = d.cpu.pc;
    j["steps"] = d.cpu.steps;
    j["change_serial"] = d.change_serial;
    j["frame_ms"] = app.frame_ms; // the app's own frame timer (the status bar's ms/frame)
    j["status"] = std::string(px::status_name(d.cpu.status));
    j["running"] = d.running;
    j["stopped"] = stop_reason_text(d.stopped);
    j["trap"] = d.cpu.status == px::VmStatus::Trapped
                    ? nlohmann::json{{"code", std::string(px::trap_name(d.cpu.trap.code))},
                                     {"x", d.cpu.trap.x},
                                     {"y", d.cpu.trap.y},
                                     {"message", d.cpu.trap.message}}
                    : nlohmann::json(nullptr);
    j["image_hash"] = px::hash_hex(px::rgba_hash(d.cpu.image));
    j["loaded_hash"] = px::hash_hex(px::rgba_hash(d.loaded));
    j["history"] = d.history.size();
    j["breakpoints"] = std::vector<uint32_t>(d.breakpoints.begin(), d.breakpoints.end());
    breaks_json(d, j); // watches, layer breakpoints, what the last such stop was for
    j["selected_row"] = d.selected_row ? nlohmann::json(*d.selected_row) : nlohmann::json(nullptr);
    j["driver"] = d.driver == Driver::Gpu ? "gpu" : "cpu";
    j["cpu_executor"] = cpu_executor_name(d.cpu_executor);
    j["parity"] = d.parity.checked ? nlohmann::json{{"identical", d.parity.identical},
                                                    {"differing_pixels", d.parity.differing},
                                                    {"note", d.parity.note}}
                                   : nlohmann::json(nullptr);
    j["texels_uploaded"] = app.renderer.texels_uploaded;
    j["zoom"] = app.view.zoom;
    j["pan"] = {app.view.pan.x, app.view.pan.y};
    j["data_mode"] = app.view.data_mode;
    j["error"] = d.error;
    j["warnings"] = d.warnings;
    j["message"] = app.message;
    j["dialog"] = app.open_dialog;
    j["path_field"] = app.open_dialog.empty()
                          ? nlohmann::json(nullptr)
                          : nlohmann::json{{"active", app.path_field_active}, {"text", app.path_field_text}};
    j["screenshots"] = app.screenshot_count;
    j["inspector"] = inspector_json(app);
    j["model"] = model_state_json(app); // A/B metrics, pixel history, divergence, reverse, stats
    j["view_rect"] = {app.view_rect.x, app.view_rect.y, app.view_rect.z, app.view_rect.w};
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [row, at] : app.region_list_pos)
        list.push_back({{"row", row}, {"x", at.x}, {"y", at.y}});
    j["regions_list"] = list;
    j["gpt"] = gpt_state_json(app); // a GPT program's Text window: prompt, tokens, text, candidates
    // Token bytes may end inside a UTF-8 character: invalid sequences become U+FFFD (as pxi's --json).
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool write_state_file(App& app) {
    if (app.state_file.empty()) return false;
    if (const std::string why = write_refusal(app, app.state_file); !why.empty()) {
        set_message(app, "state file refused: " + why);
        app.state_file.clear(); // once: never retried over the input
        return false;
    }
    const std::string text = state_json(app) + "\n";
    const px::Status st = px::write_file_atomic( // atomic: readers never see half a file
        app.state_file, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!st) {
        set_message(app, "could not write " + st.error().message);
        return false;
    }
    app.state_written_serial = app.dbg.change_serial;
    app.state_written_ui_serial = app.ui_serial;
    return true;
}

bool save_screenshot(App& app, const std::string& path, int fb_w, int fb_h, const ImVec4* crop) {
    const std::string what = crop ? "export" : "screenshot"; // a cropped one is Export view
    if (const std::string why = write_refusal(app, path); !why.empty()) {
        set_message(app, what + " refused: " + why);
        return false;
    }
    int x0 = 0, y0 = 0, w = fb_w, h = fb_h; // in framebuffer pixels, top-left origin
    if (crop) {
        const ImVec2 s = ImGui::GetIO().DisplayFramebufferScale;
        x0 = std::clamp(int(crop->x * s.x), 0, fb_w - 1);
        y0 = std::clamp(int(crop->y * s.y), 0, fb_h - 1);
        w = std::clamp(int(crop->z * s.x) - x0, 1, fb_w - x0);
        h = std::clamp(int(crop->w * s.y) - y0, 1, fb_h - y0);
    }
    px::Image img = px::make_image(uint32_t(w), uint32_t(h));
    std::vector<uint8_t> rows(size_t(w) * h * 4);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadBuffer(GL_BACK);
    glReadPixels(x0, fb_h - y0 - h, w, h, GL_RGBA, GL_UNSIGNED_BYTE, rows.data());
    for (int y = 0; y < h; ++y) // GL rows run bottom-up
        std::memcpy(img.at(0, uint32_t(y)), &rows[size_t(h - 1 - y) * w * 4], size_t(w) * 4);
    for (size_t i = 3; i < img.rgba.size(); i += 4)
        img.rgba[i] = 255;
    auto st = px::save_png(img, path);
    if (!st) {
        set_message(app, what + " failed: " + st.error().message);
        return false;
    }
    app.screenshot_count++;
    set_message(app, (crop ? "exported the view to " : "screenshot saved to ") + path);
    return true;
}

void after_render(App& app, int fb_w, int fb_h, int frame, int screenshot_at) {
    if (app.screenshot_requested || frame == screenshot_at) {
        app.screenshot_requested = false;
        std::string path = app.screenshot_path;
        if (path.empty()) { // F12 without --screenshot: a new name, never an existing file
            std::error_code ec;
            int n = app.screenshot_count + 1;
            do
                path = "pxdbg-" + std::to_string(n++) + ".png";
            while (fs::exists(path, ec) && n < 100000);
        }
        save_screenshot(app, path, fb_w, fb_h);
        app.state_requested = true;
    }
    if (!app.export_view_path.empty() && --app.export_view_wait <= 0) {
        save_screenshot(app, app.export_view_path, fb_w, fb_h, &app.view_rect);
        app.export_view_path.clear();
    }
    // Written once the textures show this state (the uploads happen at the next frame's start).
    const bool uploads_owed = !app.gpu_only && (app.dbg.dirty_all || !app.dbg.dirty_rects.empty());
    if (!app.state_file.empty() && !uploads_owed &&
        (app.state_requested || app.state_written_ui_serial != app.ui_serial ||
         (app.state_written_serial != app.dbg.change_serial && !app.dbg.running))) {
        app.state_requested = false;
        write_state_file(app);
    }
}

} // namespace pxdbg
