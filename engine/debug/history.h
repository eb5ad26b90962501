// history.h — questions asked of a debugger's step history (UndoRecords) without re-running.
//
// A debugger keeps, per step, only the pixels the step overwrote (vm.h's UndoRecord, oldest
// first). Walking those records backwards from the current image answers: what did pixel (x, y)
// hold before and after each step that wrote it (RenderDoc's pixel history, for the VM), which
// step last changed a set of pixels (reverse-continue to a change, as rr/TTD watchpoints), and
// what the whole image was after any kept step (A/B against an earlier step). Nothing here runs
// an instruction; the opcode of a step is read from row 0 as it was when the step ran.
#pragma once
#include "image.h"
#include "vm.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace px {

using History = std::deque<UndoRecord>; // oldest first, as a debugger keeps it

// One step that wrote pixel (x, y).
struct PixelWrite {
    size_t index = 0;  // index into the history
    uint64_t step = 0; // 1-based step number (the VM's step count after the step)
    uint32_t pc = 0;   // pc of the instruction that ran
    uint8_t opcode = 0;
    Rgba before{}, after{};
    bool changed() const { return before != after; }
};

struct PixelHistory {
    uint32_t x = 0, y = 0;
    std::vector<PixelWrite> writes; // oldest first
    // True when the history starts at step 0, so `writes` lists every write since loading;
    // false when the oldest records were dropped (the list then starts at first_step).
    bool complete = true;
    uint64_t first_step = 1; // step number of the oldest record kept
};

// Every kept step that wrote (x, y), with the pixel's value before and after it. `current` is
// the image after the newest record. (x, y) must lie inside `current`.
PixelHistory pixel_history(const History& history, const Image& current, uint32_t x, uint32_t y);

// The value pixel (x, y) held just before history[index] ran (index == history.size(): now).
Rgba pixel_before(const History& history, const Image& current, size_t index, uint32_t x, uint32_t y);

// The opcode byte of the instruction history[index] ran (after a WIDE prefix), read from row 0
// as it was then.
uint8_t opcode_of(const History& history, const Image& current, size_t index);

// Index of the newest record whose step changed (not merely rewrote with the same bytes) any
// pixel inside `rects`, searching records [0, before). nullopt when none did.
std::optional<size_t> last_change(const History& history, const Image& current,
                                  const std::vector<Rect>& rects, size_t before);

// The image as it was just before history[index] ran (index == history.size(): `current`).
Image image_before(const History& history, const Image& current, size_t index);

} // namespace px
