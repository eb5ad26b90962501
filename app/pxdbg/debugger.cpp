// debugger.cpp — the debugger model: loading, stepping in lockstep, history, commands.
#include "debugger.h"

#include "png_io.h"

#include <filesystem>
#include <sys/stat.h>

#include <epoxy/gl.h>

namespace pxdbg {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int64_t mtime_of(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return 0;
    return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

size_t undo_bytes(const px::UndoRecord& u) {
    size_t n = sizeof(u);
    for (const px::PixelPatch& p : u.patches)
        n += p.rgba.size() + sizeof(p);
    return n;
}

// Regions and the row-0 listing follow the image: a step may write a header or an instruction.
void refresh_derived(Debugger& d) {
    d.regions = px::program_regions(d.cpu.image);
    d.listing = px::decode_row0(d.cpu.image);
}

// Compares registers, then the rectangles just written, read back from the GPU texture.
Parity step_parity(Debugger& d, const std::vector<px::Rect>& written) {
    Parity p;
    p.checked = true;
    const px::gl::Executor& ex = *d.gpu;
    p.registers_differ = !(px::gl::gl_registers(ex) == d.cpu.registers());
    std::vector<uint8_t> buf;
    for (const px::Rect& r : written) {
        if (r.empty()) continue;
        buf.resize(size_t(r.w) * r.h * 4);
        glGetTextureSubImage(px::gl::gl_texture(ex), 0, GLint(r.x), GLint(r.y), 0, GLsizei(r.w), GLsizei(r.h),
                             1, GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, GLsizei(buf.size()), buf.data());
        const px::PixelDiff diff = px::diff_rect(d.cpu.image, r, buf.data());
        if (diff.count && !p.differing) p.first_x = diff.first_x, p.first_y = diff.first_y;
        p.differing += diff.count;
    }
    p.identical = !p.registers_differ && p.differing == 0;
    if (p.identical)
        p.note = "identical";
    else if (p.differing)
        p.note = std::to_string(p.differing) + " px differ, first (" + std::to_string(p.first_x) + ", " +
                 std::to_string(p.first_y) + ")";
    else
        p.note = "registers differ";
    return p;
}

// Brings the GL executor to the CPU's state by replaying from the loaded image (the GL side keeps
// no history; programs are short, so replaying is cheaper than keeping GPU snapshots).
void resync_gpu(Debugger& d) {
    if (!d.gpu) return;
    if (auto st = px::gl::reset_executor(*d.gpu, d.loaded); !st) {
        d.gpu_error = st.error().message;
        d.gpu.reset();
        d.gpu_enabled = false;
        return;
    }
    while (px::gl::gl_steps(*d.gpu) < d.cpu.steps && px::gl::gl_status(*d.gpu) == px::VmStatus::Ready)
        px::gl::gl_step(*d.gpu);
    d.parity = full_parity(d);
}

} // namespace

void load_image(Debugger& d, px::Image image, const std::string& path) {
    d.path = path;
    d.error.clear();
    d.loaded = image;
    d.cpu = px::make_vm(std::move(image));
    d.history.clear();
    d.history_bytes = 0;
    d.breakpoints.clear();
    d.run_to.reset();
    d.running = false;
    d.stopped = StopReason::None;
    d.last = {};
    d.last_written.clear();
    d.last_step_ms = d.last_gpu_ms = -1;
    d.selected_row.reset();
    d.dirty_rects.clear();
    d.dirty_all = true;
    d.file_mtime = path.empty() ? 0 : mtime_of(path);
    d.parity = {};
    refresh_derived(d);
    d.change_serial++;
    if (d.gpu_enabled) {
        d.gpu.reset();
        set_gpu_enabled(d, true);
    }
}

bool load_file(Debugger& d, const std::string& path) {
    auto loaded = px::load_png(path);
    if (!loaded) {
        d.error = loaded.error().message;
        return false;
    }
    d.warnings = loaded->warnings;
    load_image(d, std::move(loaded->image), path);
    return true;
}

void reset(Debugger& d) {
    std::string path = d.path;
    int64_t mtime = d.file_mtime;
    auto bps = d.breakpoints;
    auto sel = d.selected_row;
    load_image(d, d.loaded, path);
    d.file_mtime = mtime;
    d.breakpoints = bps;
    d.selected_row = sel;
    d.stopped = StopReason::Reset;
}

px::StepResult step_once(Debugger& d) {
    if (d.cpu.status != px::VmStatus::Ready) return {d.cpu.status, d.cpu.pc};
    px::UndoRecord undo;
    const auto t0 = Clock::now();
    px::StepResult r = px::step(d.cpu, &undo);
    d.last_step_ms = ms_since(t0);
    d.history_bytes += undo_bytes(undo);
    d.history.push_back(std::move(undo));
    while (d.history_bytes > d.history_limit && d.history.size() > 1) {
        d.history_bytes -= undo_bytes(d.history.front());
        d.history.pop_front();
    }
    d.last = r;
    d.stopped = d.cpu.status == px::VmStatus::Halted    ? StopReason::Halt
                : d.cpu.status == px::VmStatus::Trapped ? StopReason::Trap
                                                        : StopReason::Step;
    d.last_written = r.written;
    d.dirty_rects.insert(d.dirty_rects.end(), r.written.begin(), r.written.end());
    // Row 0 and headers only change through writes that touch them; re-deriving is cheap either way.
    bool structural = false;
    for (const px::Rect& w : r.written)
        structural |= w.y == 0 || w.x == 0;
    if (structural) refresh_derived(d);
    if (d.gpu) {
        px::gl::GlStepResult g = px::gl::gl_step(*d.gpu);
        d.last_gpu_ms = g.gpu_ms;
        d.parity = step_parity(d, r.written);
    }
    d.change_serial++;
    return r;
}

bool step_back(Debugger& d) {
    if (d.history.empty()) return false;
    px::UndoRecord undo = std::move(d.history.back());
    d.history.pop_back();
    d.history_bytes -= undo_bytes(undo);
    px::undo_step(d.cpu, undo);
    d.last_written.clear();
    for (const px::PixelPatch& p : undo.patches) {
        d.dirty_rects.push_back(p.rect);
        d.last_written.push_back(p.rect);
    }
    d.last = {d.cpu.status, d.cpu.pc};
    d.running = false;
    d.stopped = StopReason::StepBack;
    refresh_derived(d);
    resync_gpu(d);
    d.change_serial++;
    return true;
}

uint64_t continue_for(Debugger& d, double budget_ms) {
    const auto t0 = Clock::now();
    uint64_t n = 0;
    while (d.cpu.status == px::VmStatus::Ready) {
        // Breakpoints and run-to stop before the instruction, except the one we start on.
        if (n > 0 || d.cpu.steps != d.run_started_steps) {
            if (d.breakpoints.count(d.cpu.pc) || (d.run_to && *d.run_to == d.cpu.pc)) {
                d.stopped = d.breakpoints.count(d.cpu.pc) ? StopReason::Breakpoint : StopReason::RunTo;
                d.running = false;
                d.run_to.reset();
                return n;
            }
        }
        step_once(d);
        ++n;
        if (ms_since(t0) > budget_ms) return n;
    }
    d.running = false;
    d.run_to.reset();
    return n;
}

const char* stop_reason_text(StopReason r) {
    switch (r) {
    case StopReason::None: return "";
    case StopReason::Step: return "stepped";
    case StopReason::StepBack: return "stepped back";
    case StopReason::Breakpoint: return "breakpoint hit";
    case StopReason::RunTo: return "run-to target reached";
    case StopReason::Halt: return "halted (HALT)";
    case StopReason::Trap: return "trapped";
    case StopReason::Paused: return "paused";
    case StopReason::Reset: return "reset";
    }
    return "";
}

void start_continue(Debugger& d) {
    if (d.cpu.status != px::VmStatus::Ready || d.cpu.image.width == 0) return;
    d.running = true;
    d.run_started_steps = d.cpu.steps;
}

void run_to(Debugger& d, uint32_t pc) {
    if (d.cpu.status != px::VmStatus::Ready || d.cpu.image.width == 0) return;
    d.run_to = pc;
    start_continue(d);
}

void pause(Debugger& d) {
    if (!d.running) return;
    d.running = false;
    d.run_to.reset();
    d.stopped = StopReason::Paused;
    d.change_serial++;
}

void clear_breakpoints(Debugger& d) {
    d.breakpoints.clear();
    d.change_serial++;
}

void set_driver(Debugger& d, Driver driver) {
    d.driver = driver == Driver::Gpu && !gpu_available(d) ? Driver::Cpu : driver;
}

void dismiss_error(Debugger& d) {
    d.error.clear();
}

void check_full_parity(Debugger& d) {
    d.parity = full_parity(d);
    if (d.parity.checked) d.parity.note = "full check: " + d.parity.note;
    d.change_serial++;
}

FileChange poll_file(Debugger& d) {
    if (d.path.empty() || d.file_mtime == 0) return FileChange::None;
    const int64_t mt = mtime_of(d.path);
    if (mt == 0 || mt == d.file_mtime) return FileChange::None;
    d.file_mtime = mt;
    return FileChange::Changed;
}

TextureUpdate take_texture_updates(Debugger& d) {
    TextureUpdate u;
    u.all = d.dirty_all;
    u.rects.swap(d.dirty_rects);
    d.dirty_all = false;
    return u;
}

void toggle_breakpoint(Debugger& d, uint32_t pc) {
    if (!d.breakpoints.erase(pc)) d.breakpoints.insert(pc);
    d.change_serial++;
}

bool image_changed(const Debugger& d) {
    return !d.history.empty() || d.cpu.steps > 0;
}

bool gpu_available(const Debugger& d) {
    return d.gpu.has_value();
}

void set_gpu_enabled(Debugger& d, bool on) {
    d.gpu_enabled = on;
    if (!on) {
        d.gpu.reset();
        d.parity = {};
        d.driver = Driver::Cpu;
        return;
    }
    if (!d.gpu) {
        if (d.path.empty() && d.loaded.width == 0) return;
        auto ex = px::gl::create_executor(d.loaded);
        if (!ex) {
            d.gpu_error = ex.error().message;
            d.gpu_enabled = false;
            return;
        }
        d.gpu.emplace(std::move(ex.value()));
        d.gpu_error.clear();
    }
    resync_gpu(d);
}

unsigned gpu_texture(const Debugger& d) {
    return d.gpu ? px::gl::gl_texture(*d.gpu) : 0;
}

Parity full_parity(Debugger& d) {
    Parity p;
    if (!d.gpu) return p;
    p = step_parity(d, {px::Rect{0, 0, d.cpu.image.width, d.cpu.image.height}});
    return p;
}

std::optional<MatrixPixels> matrix_pixels(const Debugger& d, uint32_t row, bool before_last_step) {
    const px::Image& img = d.cpu.image;
    if (before_last_step && d.history.empty()) return std::nullopt;
    const std::vector<px::PixelPatch>* patches = before_last_step ? &d.history.back().patches : nullptr;
    // undo_step restores patches last-first, so the first patch covering a pixel holds its old value.
    auto pixel = [&](uint32_t x, uint32_t y) -> px::Rgba {
        if (patches)
            for (const px::PixelPatch& p : *patches)
                if (p.rect.contains(x, y)) {
                    const uint8_t* q = &p.rgba[(size_t(y - p.rect.y) * p.rect.w + (x - p.rect.x)) * 4];
                    return {q[0], q[1], q[2], q[3]};
                }
        return img.pixel(x, y);
    };
    if (row == 0 || row >= img.height || img.width < 2) return std::nullopt;
    MatrixPixels out;
    out.shape = px::decode_header(pixel(0, row));
    const uint64_t n = out.shape.elements();
    if (n == 0 || px::element_y(n - 1, row, img.width) >= img.height) return std::nullopt;
    out.pixels.resize(n);
    for (uint64_t i = 0; i < n; ++i)
        out.pixels[i] = pixel(px::element_x(i, img.width), uint32_t(px::element_y(i, row, img.width)));
    return out;
}

void select_matrix(Debugger& d, std::optional<uint32_t> row) {
    d.selected_row = row;
    d.change_serial++;
}

const px::Region* selected_region(const Debugger& d) {
    if (!d.selected_row) return nullptr;
    for (const px::Region& r : d.regions)
        if (r.row == *d.selected_row) return &r;
    return nullptr;
}

} // namespace pxdbg
