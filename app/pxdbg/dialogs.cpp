// dialogs.cpp — the file dialog, the write policy and the modal prompts.
//
// Every write the windows start (save image, export matrix, export view) goes through
// write_refusal and, when the target exists, a "replace?" prompt; the bytes go out atomically
// (px::save_png). docs/write-paths.md lists every write path of pxdbg with its policy.
#include "app.h"

#include "fmath.h"
#include "png_io.h"

#include <imgui.h>
#include <imgui_internal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace pxdbg {
namespace fs = std::filesystem;

std::string write_refusal(const App& app, const std::string& path, bool* exists) {
    if (exists) *exists = false;
    if (path.empty()) return "no file name given";
    std::error_code ec;
    const fs::path p(path);
    if (fs::is_directory(p, ec)) return path + " is a directory";
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (!fs::is_directory(dir, ec)) return "directory " + dir.string() + " does not exist";
    const bool present = fs::exists(p, ec);
    if (exists) *exists = present;
    // The loaded input, also through another name (a link, ./x, a hard link).
    if (present && !app.dbg.path.empty() && fs::equivalent(p, app.dbg.path, ec))
        return path + " is the loaded program " + app.dbg.path + " (choose a new name)";
    // The Lens window's float32 program (--reference, "Open float32") is loaded input too.
    const std::string& ref = app.gpt.lens.reference_path;
    if (present && !ref.empty() && fs::equivalent(p, ref, ec))
        return path + " is the Lens window's float32 program " + ref + " (choose a new name)";
    return "";
}

namespace {

// Extensions each dialog lists; typed names may be anything.
struct DialogSpec {
    const char* title;
    bool saving;
    std::vector<std::string> extensions;
};

// A small file picker: a directory listing with a path field (ImGui has no native dialog).
bool file_dialog(App& app, const DialogSpec& spec, bool& open) {
    bool accepted = false;
    if (open) {
        ImGui::OpenPopup(spec.title);
        app.dialog_opens++;
        if (app.dialog_dir.empty()) {
            std::error_code ec;
            app.dialog_dir = app.dbg.path.empty() ? fs::current_path(ec).string()
                                                  : fs::absolute(app.dbg.path, ec).parent_path().string();
        }
        open = false;
    }
    ImGui::SetNextWindowSize(ImVec2(640, 440), ImGuiCond_Appearing);
    if (!ImGui::BeginPopupModal(spec.title, nullptr)) return false;
    ImGui::TextUnformatted(app.dialog_dir.c_str());
    std::string filter = "showing";
    for (const std::string& e : spec.extensions)
        filter += " *" + e;
    ImGui::SameLine();
    ImGui::TextDisabled("(%s)", filter.c_str());
    ImGui::BeginChild("files", ImVec2(0, -ImGui::GetFrameHeightWithSpacing() * 2), true);
    std::error_code ec;
    if (ImGui::Selectable("..")) app.dialog_dir = fs::path(app.dialog_dir).parent_path().string();
    std::vector<fs::directory_entry> entries;
    for (const auto& e :
         fs::directory_iterator(app.dialog_dir, fs::directory_options::skip_permission_denied, ec))
        entries.push_back(e);
    // The error_code overloads: a dangling link or an unreadable entry must not throw.
    auto is_dir = [](const fs::directory_entry& e) {
        std::error_code e2;
        return e.is_directory(e2);
    };
    std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
        if (is_dir(a) != is_dir(b)) return is_dir(a);
        return a.path().filename() < b.path().filename();
    });
    for (const auto& e : entries) {
        const std::string name = e.path().filename().string();
        if (is_dir(e)) {
            if (ImGui::Selectable((name + "/").c_str())) app.dialog_dir = e.path().string();
            continue;
        }
        const std::string ext = e.path().extension().string();
        if (std::find(spec.extensions.begin(), spec.extensions.end(), ext) == spec.extensions.end()) continue;
        if (ImGui::Selectable(name.c_str(), false, ImGuiSelectableFlags_AllowDoubleClick)) {
            std::snprintf(app.path_buf, sizeof app.path_buf, "%s", e.path().string().c_str());
            if (ImGui::IsMouseDoubleClicked(0) && !spec.saving) accepted = true;
        }
    }
    ImGui::EndChild();
    ImGui::SetNextItemWidth(-1);
    if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere(); // type a name straight away
    ImGui::PushID(int(app.dialog_opens));
    if (ImGui::InputText("##path", app.path_buf, sizeof app.path_buf, ImGuiInputTextFlags_EnterReturnsTrue))
        accepted = true;
    const bool path_active = ImGui::IsItemActive();
    ImGui::PopID();
    if (const bool active = path_active;
        active != app.path_field_active || app.path_field_text != app.path_buf) {
        app.path_field_active = active;
        app.path_field_text = app.path_buf;
        app.ui_serial++; // the state file follows the field
    }
    app.path_field_drawn = true;
    if (ImGui::Button(spec.saving ? "Save" : "Open")) accepted = true;
    ImGui::SameLine();
    bool cancel = ImGui::Button("Cancel");
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) cancel = true;
    if (cancel) {
        accepted = false;
        ImGui::CloseCurrentPopup();
    }
    if (accepted) {
        // A relative name is relative to the directory shown.
        fs::path p(app.path_buf);
        if (p.is_relative())
            std::snprintf(app.path_buf, sizeof app.path_buf, "%s",
                          (fs::path(app.dialog_dir) / p).string().c_str());
        ImGui::CloseCurrentPopup();
    }
    if (cancel || accepted) ImGui::ClearActiveID(); // the path field lets go of the keyboard now (keys.cpp)
    ImGui::EndPopup();
    return accepted;
}

void suggest(App& app, const std::string& suffix) {
    const fs::path p(app.dbg.path.empty() ? "pxdbg.pxi" : app.dbg.path);
    std::snprintf(app.path_buf, sizeof app.path_buf, "%s",
                  (p.parent_path() / (p.stem().string() + suffix)).string().c_str());
}

// Performs a write the policy allowed (and the user confirmed where it replaces a file).
void perform_write(App& app, const App::PendingWrite& w) {
    Debugger& d = app.dbg;
    // Checked again: the file system may have changed while the prompt was open.
    if (const std::string why = write_refusal(app, w.path); !why.empty()) {
        set_message(app, "refused: " + why);
        return;
    }
    switch (w.kind) {
    case WriteKind::SaveImage: {
        auto st = px::save_png(d.cpu.image, w.path);
        set_message(app, st ? "saved " + w.path + " (debug information kept)"
                            : "save failed: " + st.error().message);
        break;
    }
    case WriteKind::ExportMatrix: {
        // uint8 codes as gray; other types as their whole pixels, as the program stores them (f16
        // elements widened to f32 pixels, one per element).
        const MatrixStats& s = app.after;
        if (s.cols == 0 || s.rows == 0) {
            set_message(app, "export failed: no matrix selected");
            return;
        }
        px::Image img = px::make_image(s.cols, s.rows);
        for (size_t i = 0; i < s.stored.size(); ++i) {
            const uint32_t x = uint32_t(i % s.cols), y = uint32_t(i / s.cols);
            if (s.type == px::DType::U8) {
                const uint8_t v = uint8_t(s.stored[i]);
                img.set_pixel(x, y, {v, v, v, 255});
            } else if (px::dtype_is_float(s.type)) {
                img.set_pixel(x, y, px::word_pixel(px::fm::bits(float(s.stored[i]))));
            } else {
                const uint32_t u = uint32_t(int32_t(s.stored[i]));
                img.set_pixel(x, y, {uint8_t(u), uint8_t(u >> 8), uint8_t(u >> 16), uint8_t(u >> 24)});
            }
        }
        auto st = px::save_png(img, w.path);
        set_message(app, st ? "exported " + w.path : "export failed: " + st.error().message);
        break;
    }
    case WriteKind::ExportView:
        // Read back once the dialog is off screen: two frames later (drawn without it, then read).
        app.export_view_path = w.path;
        app.export_view_wait = 2;
        break;
    }
}

// The policy's front door: refuse, ask, or write.
void request_write(App& app, WriteKind kind, const std::string& path) {
    bool exists = false;
    if (const std::string why = write_refusal(app, path, &exists); !why.empty()) {
        set_message(app, "refused: " + why);
        return;
    }
    if (exists) {
        app.confirm_replace = App::PendingWrite{kind, path};
        return;
    }
    perform_write(app, {kind, path});
}

} // namespace

void dialogs(App& app) {
    Debugger& d = app.dbg;
    static const DialogSpec kOpen{"Open program", false, {".pxi", ".png"}};
    static const DialogSpec kSave{"Save image as", true, {".pxi"}};
    static const DialogSpec kExportMatrix{"Export matrix as PNG", true, {".png"}};
    static const DialogSpec kExportView{"Export view as PNG", true, {".png"}};
    app.path_field_drawn = false;
    if (app.want_open) app.path_buf[0] = 0;
    if (file_dialog(app, kOpen, app.want_open)) open_program(app, app.path_buf);
    // Suggest a new name next to the input; never the input itself.
    if (app.want_save) suggest(app, "-step" + std::to_string(d.cpu.steps) + ".pxi");
    if (file_dialog(app, kSave, app.want_save)) request_write(app, WriteKind::SaveImage, app.path_buf);
    if (app.want_export_matrix) {
        const px::Region* r = selected_region(d);
        suggest(app, "-" + (r ? r->name : std::string("matrix")) + ".png");
    }
    if (file_dialog(app, kExportMatrix, app.want_export_matrix))
        request_write(app, WriteKind::ExportMatrix, app.path_buf);
    if (app.want_export_view) suggest(app, "-view.png");
    if (file_dialog(app, kExportView, app.want_export_view))
        request_write(app, WriteKind::ExportView, app.path_buf);

    if (app.confirm_replace && !ImGui::IsPopupOpen("Replace file?")) ImGui::OpenPopup("Replace file?");
    if (ImGui::BeginPopupModal("Replace file?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        ImGui::Text("%s already exists.", app.confirm_replace ? app.confirm_replace->path.c_str() : "");
        ImGui::TextUnformatted("Replace it? (Enter: replace, Esc: keep it)");
        // Keys count from the second frame: the Enter that accepted the file dialog is not a yes.
        const bool keys = !ImGui::IsWindowAppearing();
        const bool yes = ImGui::Button("Replace") ||
                         (keys && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter), false));
        ImGui::SameLine();
        const bool no = ImGui::Button("Keep the file") ||
                        (keys && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false));
        if (yes && app.confirm_replace) {
            const App::PendingWrite w = *app.confirm_replace;
            app.confirm_replace.reset();
            perform_write(app, w);
            ImGui::CloseCurrentPopup();
        } else if (no || !app.confirm_replace) {
            if (app.confirm_replace)
                set_message(app, "kept " + app.confirm_replace->path + " (nothing written)");
            app.confirm_replace.reset();
            ImGui::CloseCurrentPopup();
        }
        ImGui::EndPopup();
    }

    if (app.want_reload_prompt) {
        ImGui::OpenPopup("File changed on disk");
        app.want_reload_prompt = false;
    }
    if (ImGui::BeginPopupModal("File changed on disk", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        ImGui::Text("%s changed on disk.", d.path.c_str());
        ImGui::Text("Stepping has changed the image (%llu steps). Reload and lose them?",
                    static_cast<unsigned long long>(d.cpu.steps));
        if (ImGui::Button("Reload")) {
            open_program(app, d.path);
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (ImGui::Button("Keep my session")) ImGui::CloseCurrentPopup(); // asks again on the next change
        ImGui::EndPopup();
    }

    // The modal on screen, for the state file (tests wait on it).
    const ImGuiWindow* top = ImGui::GetTopMostPopupModal();
    const std::string name = top ? std::string(top->Name) : std::string();
    if (name != app.open_dialog) {
        app.open_dialog = name;
        app.ui_serial++;
    }
    if (!app.path_field_drawn && app.path_field_active) { // no file dialog: its field listens to nothing
        app.path_field_active = false;
        app.ui_serial++;
    }
}

} // namespace pxdbg
