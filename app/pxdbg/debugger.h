// debugger.h — pxdbg's debugger state, kept apart from window state (view.h, app.h).
//
// Owns the program as loaded, the CPU VM, the optional GL executor stepping in lockstep, the
// step-back history (UndoRecords: changed regions only), breakpoints and the selected matrix. It
// reaches the engine only through engine calls and reports which rectangles changed so the view
// can update just those texels. Nothing here draws.
//
// The windows (app.h) read a Debugger freely but change it only through the command functions
// declared below, as chips' ui_dbg keeps debugger state apart from window state.
#pragma once
#include "compare.h"
#include "cpu_fast.h"
#include "debuginfo.h"
#include "history.h"
#include "image.h"
#include "inspect.h"
#include "vm.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gl/gl_executor.h"

namespace pxdbg {

enum class Driver : uint8_t { Cpu, Gpu }; // which executor's image the main view shows
// Which CPU executor carries out the CPU's steps: both are byte-identical by test
// (tests/opcodes_test.cpp, the vectors); the optimized one is what makes a model's next token
// interactive, the reference is the protocol's own text.
enum class CpuExecutor : uint8_t { Reference, Optimized };
const char* cpu_executor_name(CpuExecutor e); // "reference", "optimized"

// Why execution last stopped (shown next to the disassembly).
enum class StopReason : uint8_t {
    None,
    Step,
    StepBack,
    Breakpoint,
    RunTo,
    Halt,
    Trap,
    Paused,
    Reset,
    Divergence,        // break on divergence: the GPU's result differs from the CPU's
    ReverseBreakpoint, // reverse-continue reached a breakpoint
    ReverseStart,      // reverse-continue found none: at the oldest step kept
    ReverseChange,     // reverse to the last change of a pixel or matrix
    Watch,             // a step wrote a watched region (stopped after it)
    LayerBreakpoint,   // a GPT layer's attention instruction is next ("layer L head H")
    ReverseWatch,      // reverse-continue: just after the newest earlier step that wrote a watched region
};
const char* stop_reason_text(StopReason r);

// CPU vs GPU agreement after the last step.
struct Parity {
    bool checked = false;   // false when no GPU executor runs
    bool identical = true;  // registers and the pixels compared agree
    uint64_t differing = 0; // pixels that differ
    uint32_t first_x = 0, first_y = 0;
    bool registers_differ = false;
    std::string note; // one line for the badge
};

// The first step at which the GPU's result differed from the CPU's (break on divergence).
struct Divergence {
    uint64_t step = 0; // 1-based number of the step that diverged
    uint32_t pc = 0;   // the instruction that ran
    uint8_t opcode = 0;
    uint32_t x = 0, y = 0;         // first differing pixel (row-major) among those it wrote
    px::Rgba cpu{}, gpu{};         // that pixel on each side
    uint64_t differing = 0;        // pixels of the step's writes that differ
    bool registers_differ = false; // pc, steps, status or trap differ
};

// A test-only fault in the GPU path: after GPU step `step`, one byte of one pixel of the GPU
// texture is flipped. Applied only in builds compiled with PXDBG_TEST_HOOKS (the pxdbg_fault test
// binary and the model tests); the release pxdbg ignores it and has no way to set it.
struct GpuFault {
    uint64_t step = 1;
    std::optional<std::pair<uint32_t, uint32_t>> pixel; // default: the step's first written pixel
    uint8_t xor_mask = 0x01;                            // applied to the R byte
};

// What the last reverse command did.
struct ReverseStop {
    bool moved = false;
    uint64_t steps_back = 0;
    std::string note; // one line: why it stopped where it did
    // For a stop at a change: the step that made it and the pixel's bytes around it.
    std::optional<uint64_t> change_step;
    std::optional<std::pair<uint32_t, uint32_t>> pixel;
    px::Rgba before{}, after{};
};

// A breakpoint on one layer's attention in a GPT program ("layer L head H"): the pcs of every
// instruction that computes that layer's attention (prefill and decode pass), as the engine finds
// them (gpt_view.h's gpt_attention_pcs), so the debugger stops on them without knowing an opcode.
// The head is what the Attention window selects when one is hit (all heads run in one instruction).
struct LayerBreakpoint {
    uint32_t layer = 0, head = 0;
    std::vector<uint32_t> pcs;
    std::string label() const; // "layer L head H"
};

// Where a "go to" text points: a pixel, a row, a matrix or one of its elements.
struct GotoTarget {
    px::Rect rect;     // pixels to bring into view
    std::string label; // what was found, e.g. "logits [0, 42] at pixel (43, 80)"
};

// An edit of the program as loaded (the Text window's "Set prompt"): the bytes it replaced,
// rows that changed only, so undo_edit restores them exactly.
struct LoadedEdit {
    std::string what;
    std::vector<px::PixelPatch> before;
};

struct Debugger {
    // The program.
    std::string path;  // "" when nothing is loaded
    std::string error; // the engine's message when the last load failed (shown in the window)
    std::vector<std::string> warnings;
    px::Image loaded; // as loaded: Reset goes back to it
    px::VmState cpu;  // the CPU VM
    CpuExecutor cpu_executor = CpuExecutor::Optimized;
    px::PlanExecutor optimized = px::fast_executor(); // its scratch and packed weights persist
    std::vector<px::Region> regions;
    px::Row0Listing listing;
    int64_t file_mtime = 0;
    uint64_t load_serial = 0;      // bumps whenever `loaded` changes (load, reload, edit, undo edit)
    std::vector<LoadedEdit> edits; // newest at the back; cleared when a file is loaded

    // History for step-back: newest at the back; bounded by bytes, oldest dropped first.
    std::deque<px::UndoRecord> history;
    size_t history_bytes = 0;
    size_t history_limit = size_t(512) << 20;

    std::set<uint32_t> breakpoints; // pcs
    // Header rows of watched regions: Continue stops after a step whose writes touch one
    // (debuginfo.h's region_written; header or element pixels, as d.regions declares them).
    std::set<uint32_t> watches;
    std::vector<LayerBreakpoint> layer_breakpoints; // at most one per layer
    // What the last stop by a watch or a layer breakpoint was for; cleared by the next step.
    std::string stop_note;             // e.g. "step 57 (pc 120) wrote layer0.attn.k_cache"
    std::optional<uint32_t> watch_hit; // the watched row that step wrote
    std::optional<LayerBreakpoint> layer_hit;
    uint64_t stop_serial = 0;       // bumps at each such stop, so a window reacts once (selects the head)
    std::optional<uint32_t> run_to; // run-to-cursor target pc
    bool running = false;           // continuing (F5) across frames
    uint64_t run_started_steps = 0;
    StopReason stopped = StopReason::None;

    px::StepResult last; // the last step's result
    std::vector<px::Rect> last_written;
    double last_step_ms = -1;   // CPU time of the last instruction
    double last_gpu_ms = -1;    // GPU time of the last instruction (when the GL executor runs)
    uint64_t change_serial = 0; // bumps on every change of the image or registers

    // Texture updates the view owes: rectangles written since the last frame, or everything.
    std::vector<px::Rect> dirty_rects;
    bool dirty_all = true;

    std::optional<uint32_t> selected_row; // matrix picked for the inspector

    // The GL executor, stepping in lockstep with the CPU when available.
    Driver driver = Driver::Cpu;
    bool gpu_enabled = false;
    std::string gpu_error; // why no GL executor runs
    Parity parity;
    bool break_on_divergence = true;      // Continue stops at the first step CPU and GPU differ
    std::optional<Divergence> divergence; // since the GPU was last brought in line with the CPU
    std::optional<GpuFault> gpu_fault;    // test builds only (see GpuFault)
    std::optional<ReverseStop> last_reverse;
    std::optional<px::gl::Executor> gpu;
};

// Loads a program; on failure keeps the previous one and sets `error`.
bool load_file(Debugger& d, const std::string& path);
void load_image(Debugger& d, px::Image image, const std::string& path);
void reset(Debugger& d); // back to the image as loaded
// Makes `edited` (same size) the image as loaded and starts over from it as Reset does (history
// cleared, breakpoints kept); the replaced bytes go on `edits`. False (nothing changed) when the
// size differs or nothing is loaded.
bool edit_loaded(Debugger& d, px::Image edited, std::string what);
// Undoes the newest edit: its bytes back into the image as loaded, then as Reset. False when none.
bool undo_edit(Debugger& d);
px::StepResult step_once(Debugger& d); // one instruction (both executors), with history
bool step_back(Debugger& d);           // undo the newest history entry
// Continues for at most `budget_ms`, stopping at HALT, a trap, a breakpoint (pc or layer), the
// run-to target, or after a step that wrote a watched region. Returns the steps taken. Clears
// `running` when it stops for any of those reasons.
uint64_t continue_for(Debugger& d, double budget_ms);
void toggle_breakpoint(Debugger& d, uint32_t pc);
bool image_changed(const Debugger& d); // the image differs from the loaded one (steps taken)
bool gpu_available(const Debugger& d);
// Starts or stops the GL executor (needs the GL context current); brings it to the CPU's state.
void set_gpu_enabled(Debugger& d, bool on);
unsigned gpu_texture(const Debugger& d); // 0 when none
// Full-image CPU vs GPU comparison (reads the whole texture back).
Parity full_parity(Debugger& d);

// ---- History, reverse execution, comparison (model of pxdbg's A/B and history panels) ----

// Every kept step that wrote pixel (x, y), with opcode and the bytes before and after.
px::PixelHistory pixel_history(const Debugger& d, uint32_t x, uint32_t y);
// Undoes up to n steps, bringing the GPU in line once at the end. Returns the steps undone.
uint64_t step_back_n(Debugger& d, uint64_t n);
// Runs backwards to the previous breakpoint: undoes at least one step, and stops at the first
// point going back where the pc is on a breakpoint (pc or layer: before that instruction, as a
// forward run stops) or the image is as just after a step that wrote a watched region (as a
// forward run stops there); else at the oldest step kept.
ReverseStop reverse_continue(Debugger& d);
// Runs backwards to just before the newest step that changed any of `rects` (its pc is then the
// instruction that made the change: stepping once redoes it). Does not move when none did.
ReverseStop reverse_to_change(Debugger& d, const std::vector<px::Rect>& rects, const std::string& what);
ReverseStop reverse_to_pixel_change(Debugger& d, uint32_t x, uint32_t y);
ReverseStop reverse_to_matrix_change(Debugger& d, uint32_t row); // header or any element

// Steps (CPU and GPU in lockstep) until they first differ, HALT, a trap or max_steps; ignores
// breakpoints. Returns the steps taken; `divergence` says whether and where they differed.
uint64_t run_until_divergence(Debugger& d, uint64_t max_steps = UINT64_MAX);
void set_break_on_divergence(Debugger& d, bool on);

// The image to compare the CPU's with: the GPU's (read back), or the CPU's after `step` steps
// (rebuilt from the history). Fails with a one-line reason (no GPU, step not kept).
enum class CompareWith : uint8_t { Gpu, Step };
px::Result<px::Image> compare_image(Debugger& d, CompareWith with, uint64_t step = 0);
// Differences per region between the CPU image now and `other`.
px::ImageDiff compare_metrics(const Debugger& d, const px::Image& other);
// Oldest step whose image the history can rebuild (0 when nothing was dropped).
uint64_t oldest_kept_step(const Debugger& d);

// Parses "x, y" / "x y" (a pixel), "row N", a matrix name, or "name[m, n]" / "name m n" (an
// element), names case-insensitively. Errors name what was not found.
px::Result<GotoTarget> resolve_goto(const Debugger& d, const std::string& text);

// The name of the region whose header is at `row` (debug symbols or inferred), else "row N".
std::string region_name(const Debugger& d, uint32_t row);
// Element type of the matrix at `row` (uint8 codes or int32 pixels), from the instructions.
px::DType matrix_element_type(const Debugger& d, uint32_t row);
// Commands of the windows (the only way they change a Debugger).
void start_continue(Debugger& d);      // F5: run across frames until something stops it
void run_to(Debugger& d, uint32_t pc); // continue until pc is reached
void pause(Debugger& d);               // F6 / Esc
void clear_breakpoints(Debugger& d);   // pc breakpoints and layer breakpoints
// Watches a region (by its header row) or stops watching it; clear_watches drops them all.
void toggle_watch(Debugger& d, uint32_t row);
void clear_watches(Debugger& d);
// Adds "layer L head H" (pcs from the engine; replaces the layer's breakpoint on another head),
// or removes it when the same layer and head are already set. Nothing is added for empty pcs.
void toggle_layer_breakpoint(Debugger& d, uint32_t layer, uint32_t head, std::vector<uint32_t> pcs);
// The layer breakpoint with an instruction at pc, or nullptr.
const LayerBreakpoint* layer_breakpoint_at(const Debugger& d, uint32_t pc);
// The first watched region (its header row) that `written` touches, or nullopt.
std::optional<uint32_t> watched_region_written(const Debugger& d, const std::vector<px::Rect>& written);
void set_driver(Debugger& d, Driver driver); // ignored for Gpu when no GL executor runs
void set_cpu_executor(Debugger& d, CpuExecutor e);
void dismiss_error(Debugger& d);
void check_full_parity(Debugger& d); // "full check": compare the whole image and say so in the note

// The file on disk: Changed once per modification seen (the new time is remembered).
enum class FileChange : uint8_t { None, Changed };
FileChange poll_file(Debugger& d);

// Texture updates the view owes since the last call: everything, or the rectangles written.
struct TextureUpdate {
    bool all = false;
    std::vector<px::Rect> rects;
};
TextureUpdate take_texture_updates(Debugger& d);

// A matrix's pixels (header decoded, elements row-major as whole RGBA pixels), now or as they were
// before the last step (from the newest history entry, so also for matrices that step did not
// write, and for a matrix selected after the step). nullopt: no such matrix (bad header, overflow),
// or no step in history for `before_last_step`.
// One pixel per element, in the matrix's type; an f16 matrix's elements arrive widened to f32
// pixels (exact), so every view reads one element from one pixel.
struct MatrixPixels {
    px::MatrixHeader shape;
    std::vector<px::Rgba> pixels;
};
std::optional<MatrixPixels> matrix_pixels(const Debugger& d, uint32_t row, bool before_last_step);

// Selected matrix helpers.
void select_matrix(Debugger& d, std::optional<uint32_t> row);
const px::Region* selected_region(const Debugger& d);

} // namespace pxdbg
