#include "history.h"

#include "opcodes.h"

#include <algorithm>
#include <cstring>

namespace px {
namespace {

// The bytes a patch holds for (x, y), or nullptr when the patch does not cover it.
const uint8_t* patch_pixel(const PixelPatch& p, uint32_t x, uint32_t y) {
    if (!p.rect.contains(x, y)) return nullptr;
    return p.rgba.data() + (size_t(y - p.rect.y) * p.rect.w + (x - p.rect.x)) * 4;
}

const uint8_t* record_pixel(const UndoRecord& r, uint32_t x, uint32_t y) {
    // Written rectangles may overlap; every patch holds the pre-step bytes, so the first will do.
    for (const PixelPatch& p : r.patches)
        if (const uint8_t* v = patch_pixel(p, x, y)) return v;
    return nullptr;
}

Rgba to_rgba(const uint8_t* p) {
    return {p[0], p[1], p[2], p[3]};
}

// Row 0 as a vector of pixels, rolled back record by record.
struct Row0 {
    std::vector<Rgba> px;
    explicit Row0(const Image& img) : px(img.width) {
        for (uint32_t x = 0; x < img.width; ++x)
            px[x] = img.pixel(x, 0);
    }
    void undo(const UndoRecord& r) {
        for (const PixelPatch& p : r.patches) {
            if (p.rect.y != 0 || p.rect.empty()) continue;
            for (uint32_t x = 0; x < p.rect.w && p.rect.x + x < px.size(); ++x)
                px[p.rect.x + x] = to_rgba(p.rgba.data() + size_t(x) * 4);
        }
    }
    uint8_t opcode_at(uint32_t pc) const {
        if (pc >= px.size()) return 0;
        if (px[pc][0] == kWidePrefix && pc + 1 < px.size()) return px[pc + 1][0];
        return px[pc][0];
    }
};

bool inside(const std::vector<Rect>& rects, uint32_t x, uint32_t y) {
    return std::any_of(rects.begin(), rects.end(), [&](const Rect& r) { return r.contains(x, y); });
}

} // namespace

Rgba pixel_before(const History& history, const Image& current, size_t index, uint32_t x, uint32_t y) {
    Rgba v = current.pixel(x, y);
    for (size_t i = history.size(); i-- > index;)
        if (const uint8_t* p = record_pixel(history[i], x, y)) v = to_rgba(p);
    return v;
}

uint8_t opcode_of(const History& history, const Image& current, size_t index) {
    Row0 row0(current);
    for (size_t i = history.size(); i-- > index;)
        row0.undo(history[i]);
    return index < history.size() ? row0.opcode_at(history[index].pc) : 0;
}

PixelHistory pixel_history(const History& history, const Image& current, uint32_t x, uint32_t y) {
    PixelHistory h;
    h.x = x;
    h.y = y;
    h.complete = history.empty() || history.front().steps == 0;
    h.first_step = history.empty() ? 1 : history.front().steps + 1;
    Row0 row0(current);
    Rgba v = current.pixel(x, y);
    for (size_t i = history.size(); i-- > 0;) {
        const UndoRecord& r = history[i];
        row0.undo(r); // now row 0 as it was when record i ran
        const uint8_t* p = record_pixel(r, x, y);
        if (!p) continue;
        PixelWrite w;
        w.index = i;
        w.step = r.steps + 1;
        w.pc = r.pc;
        w.opcode = row0.opcode_at(r.pc);
        w.after = v;
        w.before = to_rgba(p);
        v = w.before;
        h.writes.push_back(w);
    }
    std::reverse(h.writes.begin(), h.writes.end());
    return h;
}

std::optional<size_t> last_change(const History& history, const Image& current,
                                  const std::vector<Rect>& rects, size_t before) {
    if (rects.empty()) return std::nullopt;
    Image img = current; // rolled back record by record: the image after record i when we test it
    before = std::min(before, history.size());
    for (size_t i = history.size(); i-- > 0;) {
        const UndoRecord& r = history[i];
        if (i < before)
            for (const PixelPatch& p : r.patches)
                for (uint32_t yy = 0; yy < p.rect.h; ++yy)
                    for (uint32_t xx = 0; xx < p.rect.w; ++xx) {
                        const uint32_t x = p.rect.x + xx, y = p.rect.y + yy;
                        if (!inside(rects, x, y)) continue;
                        if (std::memcmp(p.rgba.data() + (size_t(yy) * p.rect.w + xx) * 4, img.at(x, y), 4) !=
                            0)
                            return i;
                    }
        for (const PixelPatch& p : r.patches)
            apply_patch(img, p);
    }
    return std::nullopt;
}

Image image_before(const History& history, const Image& current, size_t index) {
    Image img = current;
    for (size_t i = history.size(); i-- > index;)
        for (const PixelPatch& p : history[i].patches)
            apply_patch(img, p);
    return img;
}

} // namespace px
