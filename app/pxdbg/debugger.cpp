// debugger.cpp — the debugger model: loading, stepping in lockstep, history, commands.
#include "debugger.h"

#include "fmath.h"
#include "png_io.h"

#include <algorithm>
#include <cctype>
#include <cstring>
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
    d.divergence.reset(); // in line again (a replay never applies the test fault)
}

px::Rgba gpu_pixel(const Debugger& d, uint32_t x, uint32_t y) {
    uint8_t p[4] = {};
    glGetTextureSubImage(px::gl::gl_texture(*d.gpu), 0, GLint(x), GLint(y), 0, 1, 1, 1, GL_RGBA_INTEGER,
                         GL_UNSIGNED_BYTE, 4, p);
    return {p[0], p[1], p[2], p[3]};
}

#ifdef PXDBG_TEST_HOOKS
// The test-only fault (GpuFault): flips bits of one GPU texel right after the chosen step.
void apply_gpu_fault(Debugger& d, const px::StepResult& gpu_step) {
    if (!d.gpu_fault || px::gl::gl_steps(*d.gpu) != d.gpu_fault->step) return;
    std::pair<uint32_t, uint32_t> at{0, 0};
    if (d.gpu_fault->pixel) {
        at = *d.gpu_fault->pixel;
    } else {
        const auto w = std::find_if(gpu_step.written.begin(), gpu_step.written.end(),
                                    [](const px::Rect& r) { return !r.empty(); });
        if (w == gpu_step.written.end()) return;
        at = {w->x, w->y};
    }
    if (at.first >= d.cpu.image.width || at.second >= d.cpu.image.height) return;
    px::Rgba p = gpu_pixel(d, at.first, at.second);
    p[0] ^= d.gpu_fault->xor_mask;
    glTextureSubImage2D(px::gl::gl_texture(*d.gpu), 0, GLint(at.first), GLint(at.second), 1, 1,
                        GL_RGBA_INTEGER, GL_UNSIGNED_BYTE, p.data());
}
#endif

// After a lockstep step: the first step whose parity fails becomes the divergence.
void note_divergence(Debugger& d, const px::StepResult& r) {
    if (!d.parity.checked || d.parity.identical || d.divergence) return;
    Divergence v;
    v.step = d.cpu.steps;
    v.pc = r.executed_pc;
    v.opcode = r.opcode;
    v.differing = d.parity.differing;
    v.registers_differ = d.parity.registers_differ;
    if (d.parity.differing) {
        v.x = d.parity.first_x;
        v.y = d.parity.first_y;
        v.cpu = d.cpu.image.pixel(v.x, v.y);
        v.gpu = gpu_pixel(d, v.x, v.y);
    }
    d.divergence = v;
}

// The pc is on a layer breakpoint's instruction (not yet run): say which and on which step it runs.
void note_layer_hit(Debugger& d, const LayerBreakpoint& b) {
    d.layer_hit = b;
    d.watch_hit.reset();
    d.stop_note = b.label() + ": pc " + std::to_string(d.cpu.pc) + " (its attention, step " +
                  std::to_string(d.cpu.steps + 1) + " next)";
    d.stop_serial++;
}

// Step `step` (1-based), the instruction at `pc`, wrote the watched region at `row`.
void note_watch_hit(Debugger& d, uint32_t row, uint64_t step, uint32_t pc) {
    d.watch_hit = row;
    d.layer_hit.reset();
    d.stop_note =
        "step " + std::to_string(step) + " (pc " + std::to_string(pc) + ") wrote " + region_name(d, row);
    d.stop_serial++;
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
    d.watches.clear();
    d.layer_breakpoints.clear();
    d.stop_note.clear();
    d.watch_hit.reset();
    d.layer_hit.reset();
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
    d.divergence.reset();
    d.last_reverse.reset();
    refresh_derived(d);
    d.change_serial++;
    d.load_serial++;
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
    d.edits.clear();
    load_image(d, std::move(loaded->image), path);
    return true;
}

void reset(Debugger& d) {
    std::string path = d.path;
    int64_t mtime = d.file_mtime;
    auto bps = d.breakpoints;
    auto watches = d.watches;
    auto layer_bps = d.layer_breakpoints;
    auto sel = d.selected_row;
    load_image(d, d.loaded, path);
    d.file_mtime = mtime;
    d.breakpoints = bps;
    d.watches = watches;
    d.layer_breakpoints = layer_bps;
    d.selected_row = sel;
    d.stopped = StopReason::Reset;
}

bool edit_loaded(Debugger& d, px::Image edited, std::string what) {
    const px::Image& old = d.loaded;
    if (old.width == 0 || edited.width != old.width || edited.height != old.height) return false;
    LoadedEdit e{std::move(what), {}};
    const size_t row_bytes = size_t(old.width) * 4;
    for (uint32_t y = 0; y < old.height;) { // runs of changed rows
        auto differs = [&](uint32_t r) {
            return std::memcmp(old.rgba.data() + r * row_bytes, edited.rgba.data() + r * row_bytes,
                               row_bytes) != 0;
        };
        if (!differs(y)) {
            ++y;
            continue;
        }
        uint32_t end = y + 1;
        while (end < old.height && differs(end))
            ++end;
        e.before.push_back(px::copy_patch(old, {0, y, old.width, end - y}));
        y = end;
    }
    d.edits.push_back(std::move(e));
    d.loaded = std::move(edited);
    reset(d);
    return true;
}

bool undo_edit(Debugger& d) {
    if (d.edits.empty()) return false;
    for (const px::PixelPatch& p : d.edits.back().before)
        px::apply_patch(d.loaded, p);
    d.edits.pop_back();
    reset(d);
    return true;
}

std::string region_name(const Debugger& d, uint32_t row) {
    for (const px::Region& r : d.regions)
        if (r.row == row) return r.name;
    return "row " + std::to_string(row);
}

const char* cpu_executor_name(CpuExecutor e) {
    return e == CpuExecutor::Optimized ? "optimized" : "reference";
}

void set_cpu_executor(Debugger& d, CpuExecutor e) {
    d.cpu_executor = e;
}

px::StepResult step_once(Debugger& d) {
    if (d.cpu.status != px::VmStatus::Ready) return {d.cpu.status, d.cpu.pc};
    px::UndoRecord undo;
    const auto t0 = Clock::now();
    px::StepResult r = d.cpu_executor == CpuExecutor::Optimized ? px::step(d.cpu, &undo, d.optimized)
                                                                : px::step(d.cpu, &undo);
    d.last_step_ms = ms_since(t0);
    d.history_bytes += undo_bytes(undo);
    d.history.push_back(std::move(undo));
    while (d.history_bytes > d.history_limit && d.history.size() > 1) {
        d.history_bytes -= undo_bytes(d.history.front());
        d.history.pop_front();
    }
    d.last = r;
    d.stop_note.clear();
    d.watch_hit.reset();
    d.layer_hit.reset();
    d.stopped = d.cpu.status == px::VmStatus::Halted    ? StopReason::Halt
                : d.cpu.status == px::VmStatus::Trapped ? StopReason::Trap
                                                        : StopReason::Step;
    d.last_written = r.written;
    d.dirty_rects.insert(d.dirty_rects.end(), r.written.begin(), r.written.end());
    // The regions and the listing change only through writes to row 0, and, for regions inferred
    // from the headers (no debug symbols), to a header. Re-deriving reads every symbol and
    // instruction: for a model's hundreds of regions that is most of a step's time, so not on
    // every header write when the symbols say where everything is.
    bool row0 = false, header = false;
    for (const px::Rect& w : r.written) {
        row0 |= w.y == 0;
        header |= w.x == 0;
    }
    const bool inferred =
        std::any_of(d.regions.begin(), d.regions.end(), [](const px::Region& g) { return !g.from_symbols; });
    if (row0 || (header && inferred)) refresh_derived(d);
    if (d.gpu) {
        px::gl::GlStepResult g = px::gl::gl_step(*d.gpu);
        d.last_gpu_ms = g.gpu_ms;
#ifdef PXDBG_TEST_HOOKS
        apply_gpu_fault(d, g.step);
#endif
        d.parity = step_parity(d, r.written);
        note_divergence(d, r);
    }
    d.change_serial++;
    return r;
}

namespace {

// Undoes the newest history entry on the CPU side only; the caller brings the GPU in line.
void undo_newest(Debugger& d) {
    px::UndoRecord undo = std::move(d.history.back());
    d.history.pop_back();
    d.history_bytes -= undo_bytes(undo);
    px::undo_step(d.cpu, undo);
    d.last_written.clear();
    for (const px::PixelPatch& p : undo.patches) {
        d.dirty_rects.push_back(p.rect);
        d.last_written.push_back(p.rect);
    }
}

void after_undo(Debugger& d) {
    d.last = {d.cpu.status, d.cpu.pc};
    d.stop_note.clear();
    d.watch_hit.reset();
    d.layer_hit.reset();
    d.running = false;
    d.stopped = StopReason::StepBack;
    refresh_derived(d);
    resync_gpu(d);
    d.change_serial++;
}

} // namespace

bool step_back(Debugger& d) {
    if (d.history.empty()) return false;
    undo_newest(d);
    after_undo(d);
    return true;
}

uint64_t step_back_n(Debugger& d, uint64_t n) {
    n = std::min<uint64_t>(n, d.history.size());
    if (n == 0) return 0;
    std::vector<px::Rect> undone;
    for (uint64_t i = 0; i < n; ++i) {
        undo_newest(d);
        undone.insert(undone.end(), d.last_written.begin(), d.last_written.end());
    }
    d.last_written = std::move(undone); // every rectangle restored, for the view's highlight
    after_undo(d);
    return n;
}

uint64_t continue_for(Debugger& d, double budget_ms) {
    const auto t0 = Clock::now();
    uint64_t n = 0;
    while (d.cpu.status == px::VmStatus::Ready) {
        // Breakpoints and run-to stop before the instruction, except the one we start on.
        if (n > 0 || d.cpu.steps != d.run_started_steps) {
            const LayerBreakpoint* layer = layer_breakpoint_at(d, d.cpu.pc);
            if (d.breakpoints.count(d.cpu.pc) || layer || (d.run_to && *d.run_to == d.cpu.pc)) {
                d.stopped = d.breakpoints.count(d.cpu.pc) ? StopReason::Breakpoint
                            : layer                       ? StopReason::LayerBreakpoint
                                                          : StopReason::RunTo;
                if (layer) note_layer_hit(d, *layer);
                d.running = false;
                d.run_to.reset();
                return n;
            }
        }
        const bool diverged_before = d.divergence.has_value();
        const px::StepResult r = step_once(d);
        ++n;
        if (const std::optional<uint32_t> row = watched_region_written(d, r.written)) {
            note_watch_hit(d, *row, d.cpu.steps, r.executed_pc);
            d.stopped = StopReason::Watch;
            d.running = false;
            d.run_to.reset();
            return n;
        }
        if (d.break_on_divergence && !diverged_before && d.divergence) {
            d.stopped = StopReason::Divergence;
            d.running = false;
            d.run_to.reset();
            return n;
        }
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
    case StopReason::Divergence: return "CPU and GPU diverged";
    case StopReason::ReverseBreakpoint: return "reverse-continue: breakpoint";
    case StopReason::ReverseStart: return "reverse-continue: oldest step kept";
    case StopReason::ReverseChange: return "reverse: last change found";
    case StopReason::Watch: return "watched region written";
    case StopReason::LayerBreakpoint: return "layer breakpoint hit";
    case StopReason::ReverseWatch: return "reverse-continue: watched region written";
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
    d.layer_breakpoints.clear();
    d.change_serial++;
}

std::string LayerBreakpoint::label() const {
    return "layer " + std::to_string(layer) + " head " + std::to_string(head);
}

void toggle_watch(Debugger& d, uint32_t row) {
    if (!d.watches.erase(row)) d.watches.insert(row);
    d.change_serial++;
}

void clear_watches(Debugger& d) {
    d.watches.clear();
    d.change_serial++;
}

void toggle_layer_breakpoint(Debugger& d, uint32_t layer, uint32_t head, std::vector<uint32_t> pcs) {
    auto it = std::find_if(d.layer_breakpoints.begin(), d.layer_breakpoints.end(),
                           [&](const LayerBreakpoint& b) { return b.layer == layer; });
    const bool same = it != d.layer_breakpoints.end() && it->head == head;
    if (it != d.layer_breakpoints.end()) d.layer_breakpoints.erase(it);
    if (!same && !pcs.empty()) d.layer_breakpoints.push_back({layer, head, std::move(pcs)});
    d.change_serial++;
}

const LayerBreakpoint* layer_breakpoint_at(const Debugger& d, uint32_t pc) {
    for (const LayerBreakpoint& b : d.layer_breakpoints)
        if (std::find(b.pcs.begin(), b.pcs.end(), pc) != b.pcs.end()) return &b;
    return nullptr;
}

std::optional<uint32_t> watched_region_written(const Debugger& d, const std::vector<px::Rect>& written) {
    if (written.empty()) return std::nullopt;
    for (uint32_t row : d.watches) {
        bool named = false;
        for (const px::Region& r : d.regions)
            if (r.row == row) {
                named = true;
                if (px::region_written(r, d.cpu.image.width, written)) return row;
            }
        // A watched row with no region now (a step rewrote its header): its header pixel still counts.
        if (!named)
            for (const px::Rect& w : written)
                if (w.contains(0, row)) return row;
    }
    return std::nullopt;
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
        d.divergence.reset();
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
    const px::DType type = matrix_element_type(d, row);
    const uint64_t used = px::dtype_pixels(type, n);
    if (n == 0 || px::element_y(used - 1, row, img.width) >= img.height) return std::nullopt;
    out.pixels.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
        const uint64_t j = px::element_pixel_index(type, i);
        const px::Rgba p = pixel(px::element_x(j, img.width), uint32_t(px::element_y(j, row, img.width)));
        out.pixels[i] = type == px::DType::F16
                            ? px::word_pixel(px::fm::bits(float(px::element_value(p, type, int(i % 2)))))
                            : p;
    }
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

// ---------------------------------------------------------------------------------------------
// History, reverse execution, comparison

px::PixelHistory pixel_history(const Debugger& d, uint32_t x, uint32_t y) {
    if (!d.cpu.image.contains(x, y)) return {x, y, {}, true, 1};
    return px::pixel_history(d.history, d.cpu.image, x, y);
}

namespace {

std::string opcode_name(uint8_t opcode) {
    const px::OpcodeInfo* info = px::opcode_info(opcode);
    return info ? std::string(info->name) : "opcode " + std::to_string(opcode);
}

std::string rgba_text(px::Rgba p) {
    return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ", " + std::to_string(p[2]) + ", " +
           std::to_string(p[3]) + ")";
}

ReverseStop finish_reverse(Debugger& d, ReverseStop stop) {
    d.last_reverse = stop;
    return stop;
}

} // namespace

ReverseStop reverse_continue(Debugger& d) {
    ReverseStop stop;
    d.running = false;
    if (d.history.empty()) {
        stop.note = "no history to run back through";
        return finish_reverse(d, stop);
    }
    // Going back k steps leaves the pc before record size-k (a breakpoint there is where a forward
    // run would have stopped) and the image just after record size-k-1 (a watched write there is
    // where a forward run would have stopped). The nearest such point wins.
    const size_t n = d.history.size();
    size_t back = n;
    StopReason why = StopReason::ReverseStart;
    std::optional<uint32_t> watch_row;
    std::vector<px::Rect> written;
    for (size_t k = 1; k <= n; ++k) {
        const px::UndoRecord& undone = d.history[n - k];
        if (d.breakpoints.count(undone.pc) || layer_breakpoint_at(d, undone.pc)) {
            back = k;
            why = StopReason::ReverseBreakpoint;
            break;
        }
        if (k < n && !d.watches.empty()) {
            written.clear();
            for (const px::PixelPatch& p : d.history[n - k - 1].patches)
                written.push_back(p.rect);
            if ((watch_row = watched_region_written(d, written))) {
                back = k;
                why = StopReason::ReverseWatch;
                break;
            }
        }
    }
    const uint32_t watch_pc = why == StopReason::ReverseWatch ? d.history[n - back - 1].pc : 0;
    stop.steps_back = step_back_n(d, back);
    stop.moved = stop.steps_back > 0;
    d.stopped = why;
    if (why == StopReason::ReverseBreakpoint) {
        const LayerBreakpoint* layer =
            d.breakpoints.count(d.cpu.pc) ? nullptr : layer_breakpoint_at(d, d.cpu.pc);
        stop.note = "reverse-continue: " + (layer ? layer->label() + " " : std::string()) +
                    "breakpoint at pc " + std::to_string(d.cpu.pc) + " (before step " +
                    std::to_string(d.cpu.steps + 1) + "), " + std::to_string(stop.steps_back) + " steps back";
        if (layer) note_layer_hit(d, *layer);
    } else if (why == StopReason::ReverseWatch) {
        note_watch_hit(d, *watch_row, d.cpu.steps, watch_pc);
        stop.note =
            "reverse-continue: " + d.stop_note + ", " + std::to_string(stop.steps_back) + " steps back";
    } else {
        stop.note =
            "reverse-continue: no breakpoint behind (nor a watched write); at the oldest step kept (" +
            std::to_string(d.cpu.steps) + "), " + std::to_string(stop.steps_back) + " steps back";
    }
    return finish_reverse(d, stop);
}

ReverseStop reverse_to_change(Debugger& d, const std::vector<px::Rect>& rects, const std::string& what) {
    ReverseStop stop;
    d.running = false;
    const std::optional<size_t> i = px::last_change(d.history, d.cpu.image, rects, d.history.size());
    if (!i) {
        stop.note =
            "no kept step changed " + what +
            (oldest_kept_step(d) > 0 ? " (history starts at step " + std::to_string(oldest_kept_step(d)) + ")"
                                     : "");
        return finish_reverse(d, stop);
    }
    const px::UndoRecord& rec = d.history[*i]; // gone once the steps are undone: copy what is needed
    const uint64_t step = rec.steps + 1;
    const uint32_t pc = rec.pc;
    const uint8_t opcode = px::opcode_of(d.history, d.cpu.image, *i);
    // The first pixel of `rects` the step changed, for the note.
    const px::Image after = px::image_before(d.history, d.cpu.image, *i + 1);
    std::optional<std::pair<uint32_t, uint32_t>> pixel;
    for (const px::PixelPatch& p : rec.patches) {
        for (uint32_t yy = 0; yy < p.rect.h && !pixel; ++yy)
            for (uint32_t xx = 0; xx < p.rect.w && !pixel; ++xx) {
                const uint32_t x = p.rect.x + xx, y = p.rect.y + yy;
                const bool in = std::any_of(rects.begin(), rects.end(),
                                            [&](const px::Rect& r) { return r.contains(x, y); });
                if (in &&
                    std::memcmp(p.rgba.data() + (size_t(yy) * p.rect.w + xx) * 4, after.at(x, y), 4) != 0) {
                    const uint8_t* b = p.rgba.data() + (size_t(yy) * p.rect.w + xx) * 4;
                    pixel = std::make_pair(x, y);
                    stop.before = {b[0], b[1], b[2], b[3]};
                    stop.after = after.pixel(x, y);
                }
            }
        if (pixel) break;
    }
    stop.change_step = step;
    stop.pixel = pixel;
    stop.steps_back = step_back_n(d, d.history.size() - *i);
    stop.moved = stop.steps_back > 0;
    d.stopped = StopReason::ReverseChange;
    stop.note = "step " + std::to_string(step) + " (pc " + std::to_string(pc) + ", " + opcode_name(opcode) +
                ") changed " + what;
    if (pixel) {
        const std::string at =
            "pixel (" + std::to_string(pixel->first) + ", " + std::to_string(pixel->second) + ")";
        stop.note += ": " + (what == at ? std::string() : at + " ") + rgba_text(stop.before) + " -> " +
                     rgba_text(stop.after);
    }
    stop.note += "; stopped before it, " + std::to_string(stop.steps_back) + " steps back";
    return finish_reverse(d, stop);
}

ReverseStop reverse_to_pixel_change(Debugger& d, uint32_t x, uint32_t y) {
    return reverse_to_change(d, {px::Rect{x, y, 1, 1}},
                             "pixel (" + std::to_string(x) + ", " + std::to_string(y) + ")");
}

ReverseStop reverse_to_matrix_change(Debugger& d, uint32_t row) {
    std::string name = "row " + std::to_string(row);
    for (const px::Region& r : d.regions)
        if (r.row == row) name = r.name;
    std::vector<px::Rect> rects{px::Rect{0, row, 1, 1}};
    if (row > 0 && row < d.cpu.image.height && d.cpu.image.width >= 2) {
        // The matrix as its header reads now, and as the loaded image declared it (a step may
        // have reshaped it): both areas count.
        rects = px::matrix_rects_now(d.regions, d.cpu.image, row);
        for (const px::Rect& r : px::matrix_rects_now(d.regions, d.loaded, row))
            rects.push_back(r);
        for (px::Rect& r : rects) // clip to the image: a header may promise more than fits
            if (r.y >= d.cpu.image.height)
                r.h = 0;
            else
                r.h = std::min(r.h, d.cpu.image.height - r.y);
    }
    return reverse_to_change(d, rects, "matrix " + name);
}

uint64_t run_until_divergence(Debugger& d, uint64_t max_steps) {
    uint64_t n = 0;
    d.running = false;
    const bool diverged_before = d.divergence.has_value();
    while (d.cpu.status == px::VmStatus::Ready && n < max_steps) {
        step_once(d);
        ++n;
        if (!diverged_before && d.divergence) {
            d.stopped = StopReason::Divergence;
            break;
        }
    }
    return n;
}

void set_break_on_divergence(Debugger& d, bool on) {
    d.break_on_divergence = on;
    d.change_serial++;
}

uint64_t oldest_kept_step(const Debugger& d) {
    return d.history.empty() ? d.cpu.steps : d.history.front().steps;
}

px::Result<px::Image> compare_image(Debugger& d, CompareWith with, uint64_t step) {
    if (with == CompareWith::Gpu) {
        if (!d.gpu) return px::make_error(px::ErrorCode::Usage, "the GPU executor is off (turn on GPU)");
        return px::gl::gl_read_image(*d.gpu);
    }
    if (step > d.cpu.steps)
        return px::make_error(px::ErrorCode::Usage, "step " + std::to_string(step) +
                                                        " is after the current step " +
                                                        std::to_string(d.cpu.steps));
    if (step == d.cpu.steps) return d.cpu.image;
    // Record i ran as step history[i].steps + 1: the image before it is the image after `step`.
    for (size_t i = d.history.size(); i-- > 0;)
        if (d.history[i].steps == step && d.history[i].status == px::VmStatus::Ready)
            return px::image_before(d.history, d.cpu.image, i);
    return px::make_error(px::ErrorCode::Usage, "step " + std::to_string(step) +
                                                    " is older than the history kept (oldest: step " +
                                                    std::to_string(oldest_kept_step(d)) + ")");
}

px::ImageDiff compare_metrics(const Debugger& d, const px::Image& other) {
    return px::diff_by_region(d.cpu.image, other, d.regions, d.listing);
}

px::DType matrix_element_type(const Debugger& d, uint32_t row) {
    const px::Region* reg = nullptr;
    for (const px::Region& r : d.regions)
        if (r.row == row) reg = &r;
    return px::element_type(d.listing, row, reg);
}

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Splits on spaces, commas and brackets; keeps the words.
std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        if (c == ' ' || c == ',' || c == '[' || c == ']' || c == '(' || c == ')' || c == '\t') {
            if (!cur.empty()) out.push_back(cur), cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

std::optional<uint64_t> number(const std::string& w) {
    if (w.empty() || w.size() > 12 ||
        !std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    return std::stoull(w);
}

px::Rect bounds(const std::vector<px::Rect>& rects) {
    uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
    for (const px::Rect& r : rects) {
        if (r.empty()) continue;
        x0 = std::min(x0, r.x), y0 = std::min(y0, r.y);
        x1 = std::max(x1, r.x + r.w), y1 = std::max(y1, r.y + r.h);
    }
    return x0 > x1 ? px::Rect{} : px::Rect{x0, y0, x1 - x0, y1 - y0};
}

} // namespace

px::Result<GotoTarget> resolve_goto(const Debugger& d, const std::string& text) {
    const px::Image& img = d.cpu.image;
    const std::vector<std::string> w = words(text);
    auto err = [](std::string m) { return px::make_error(px::ErrorCode::Usage, std::move(m)); };
    if (img.width == 0) return err("no program loaded");
    if (w.empty()) return err("type x, y or row N or a matrix name (name[m, n] for an element)");
    auto pixel = [&](uint64_t x, uint64_t y) -> px::Result<GotoTarget> {
        if (x >= img.width || y >= img.height)
            return err("pixel (" + std::to_string(x) + ", " + std::to_string(y) + ") is outside the " +
                       std::to_string(img.width) + "x" + std::to_string(img.height) + " image");
        return GotoTarget{{uint32_t(x), uint32_t(y), 1, 1},
                          "pixel (" + std::to_string(x) + ", " + std::to_string(y) + ")"};
    };
    if (w.size() == 2 && number(w[0]) && number(w[1])) return pixel(*number(w[0]), *number(w[1]));
    if (w.size() == 2 && lower(w[0]) == "row" && number(w[1])) {
        const uint64_t row = *number(w[1]);
        if (row >= img.height)
            return err("row " + std::to_string(row) + " is outside the image (rows 0.." +
                       std::to_string(img.height - 1) + ")");
        return GotoTarget{{0, uint32_t(row), img.width, 1}, "row " + std::to_string(row)};
    }
    // A matrix name, optionally with an element index.
    const px::Region* reg = nullptr;
    for (const px::Region& r : d.regions)
        if (lower(r.name) == lower(w[0])) reg = &r;
    if (!reg) {
        std::string names;
        for (const px::Region& r : d.regions)
            names += (names.empty() ? "" : ", ") + r.name;
        return err("no matrix named '" + w[0] + "' (matrices: " + (names.empty() ? "none" : names) +
                   "); or type x, y or row N");
    }
    const px::MatrixHeader h = px::decode_header(img.pixel(0, reg->row));
    if (w.size() == 1) {
        std::vector<px::Rect> rects = px::typed_matrix_rects(
            reg->row, reg->shape.elements() ? h : px::MatrixHeader{}, reg->type(), img.width);
        px::Rect b = bounds(rects);
        if (b.y + b.h > img.height) b.h = img.height - b.y;
        return GotoTarget{b, reg->name + " (" + std::to_string(h.rows) + "x" + std::to_string(h.cols) +
                                 ") at row " + std::to_string(reg->row)};
    }
    if (w.size() == 3 && number(w[1]) && number(w[2])) {
        const uint64_t m = *number(w[1]), n = *number(w[2]);
        if (m >= h.rows || n >= h.cols)
            return err(reg->name + "[" + std::to_string(m) + ", " + std::to_string(n) + "] is outside its " +
                       std::to_string(h.rows) + "x" + std::to_string(h.cols) + " shape");
        const uint64_t i = m * h.cols + n;
        const uint64_t j = px::element_pixel_index(reg->type(), i); // two f16 elements a pixel
        const uint64_t x = px::element_x(j, img.width), y = px::element_y(j, reg->row, img.width);
        auto t = pixel(x, y);
        if (!t) return t;
        t->label = reg->name + " [" + std::to_string(m) + ", " + std::to_string(n) + "] at pixel (" +
                   std::to_string(x) + ", " + std::to_string(y) + ")";
        return t;
    }
    return err("could not read '" + text + "': type x, y or row N or " + reg->name + "[m, n]");
}

} // namespace pxdbg
