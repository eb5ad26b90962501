// settings.cpp — imgui.ini: window layout (Dear ImGui's own), recent files and view toggles
// (pxdbg's handler). pxdbg saves the file itself, atomically and never over the loaded program
// (Dear ImGui's own saver writes in place): io.IniFilename stays null and main.cpp calls
// save_settings when ImGui asks.
#include "app.h"

#include "png_io.h"

#include <imgui.h>
#include <imgui_internal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace pxdbg {
namespace fs = std::filesystem;

void add_recent(App& app, const std::string& path) {
    std::error_code ec;
    std::string abs = fs::absolute(path, ec).string();
    if (ec) abs = path;
    app.recent.erase(std::remove(app.recent.begin(), app.recent.end(), abs), app.recent.end());
    app.recent.insert(app.recent.begin(), abs);
    if (app.recent.size() > 10) app.recent.resize(10);
    ImGui::MarkIniSettingsDirty();
}

std::string save_settings(App& app) {
    ImGuiIO& io = ImGui::GetIO();
    io.WantSaveIniSettings = false;
    if (app.ini_path.empty()) return "";
    std::string why = write_refusal(app, app.ini_path);
    if (why.empty()) {
        size_t size = 0;
        const char* text = ImGui::SaveIniSettingsToMemory(&size);
        const px::Status st = px::write_file_atomic(
            app.ini_path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text), size));
        if (!st) why = st.error().message;
    }
    if (!why.empty()) set_message(app, "settings not saved: " + why);
    return why;
}

void register_settings(App& app) {
    ImGuiSettingsHandler h;
    h.TypeName = "pxdbg";
    h.TypeHash = ImHashStr("pxdbg");
    h.UserData = &app;
    h.ReadOpenFn = [](ImGuiContext*, ImGuiSettingsHandler*, const char* name) -> void* {
        if (std::strcmp(name, "Recent") == 0) return reinterpret_cast<void*>(1);
        if (std::strcmp(name, "View") == 0) return reinterpret_cast<void*>(2);
        return nullptr;
    };
    h.ReadLineFn = [](ImGuiContext*, ImGuiSettingsHandler* handler, void* entry, const char* line) {
        App& a = *static_cast<App*>(handler->UserData);
        if (entry == reinterpret_cast<void*>(1)) {
            if (std::strncmp(line, "File=", 5) == 0 && a.recent.size() < 10) a.recent.push_back(line + 5);
            return;
        }
        // [pxdbg][View]: the view's toggles, so a session starts as the last one ended.
        ViewState& v = a.view;
        int r, g, b, al, data, grid, labels, regions, heat, panels, cmap;
        float lo, hi;
        if (std::sscanf(line, "Channels=%d,%d,%d,%d", &r, &g, &b, &al) == 4)
            v.channels[0] = r, v.channels[1] = g, v.channels[2] = b, v.channels[3] = al;
        else if (std::sscanf(line, "Overlays=%d,%d,%d,%d,%d", &data, &grid, &labels, &regions, &heat) == 5)
            v.data_mode = data, v.grid = grid, v.annotations = labels, v.regions = regions, v.heat = heat;
        else if (std::sscanf(line, "Range=%f,%f", &lo, &hi) == 2)
            v.range_lo = lo, v.range_hi = hi;
        else if (std::sscanf(line, "Colormap=%d", &cmap) == 1)
            a.colormap = std::clamp(cmap, 0, 2);
        else if (std::sscanf(line, "Panels=%d", &panels) == 1) {
            a.show_controls = panels & 1, a.show_disassembly = panels & 2, a.show_regions = panels & 4;
            a.show_inspector = panels & 8;
        }
    };
    h.WriteAllFn = [](ImGuiContext*, ImGuiSettingsHandler* handler, ImGuiTextBuffer* buf) {
        const App& a = *static_cast<const App*>(handler->UserData);
        buf->appendf("[pxdbg][Recent]\n");
        for (const std::string& r : a.recent)
            buf->appendf("File=%s\n", r.c_str());
        buf->appendf("\n");
        const ViewState& v = a.view;
        buf->appendf("[pxdbg][View]\nChannels=%d,%d,%d,%d\nOverlays=%d,%d,%d,%d,%d\nRange=%g,%g\nColormap=%"
                     "d\nPanels=%d\n\n",
                     v.channels[0], v.channels[1], v.channels[2], v.channels[3], v.data_mode, v.grid,
                     v.annotations, v.regions, v.heat, v.range_lo, v.range_hi, a.colormap,
                     a.show_controls | a.show_disassembly << 1 | a.show_regions << 2 | a.show_inspector << 3);
    };
    ImGui::GetCurrentContext()->SettingsHandlers.push_back(h);
}

} // namespace pxdbg
