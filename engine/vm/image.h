// image.h — the RGBA8 image that is a pxOS program.
//
// An Image owns its pixels (row-major, 4 bytes a pixel, no padding) and the PNG text chunks that
// came with the file (debug information, PROTOCOL.md §7), which every tool carries through to
// the file it saves. Executors see only the pixels.
#pragma once
#include "huge_pages.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace px {

using Rgba = std::array<uint8_t, 4>;

struct TextChunk {
    std::string key;
    std::string text;
};

struct Image {
    uint32_t width = 0;
    uint32_t height = 0;
    std::vector<uint8_t> rgba; // width * height * 4
    std::vector<TextChunk> text;

    // Copies advise the kernel to back a large copy's pixels with huge pages (huge_pages.h): a run
    // starts from a copy of its image (make_vm), and copying the 22 MB float32 GPT page by page cost
    // 5,600 page faults, a quarter of `pxi generate`'s. Moves stay moves.
    Image() = default;
    Image(const Image& other) { *this = other; }
    Image& operator=(const Image& other) {
        if (this == &other) return *this;
        width = other.width, height = other.height, text = other.text;
        if (other.rgba.size() > rgba.capacity()) {
            rgba = {};
            reserve_huge(rgba, other.rgba.size());
        }
        rgba.assign(other.rgba.begin(), other.rgba.end());
        return *this;
    }
    Image(Image&&) noexcept = default;
    Image& operator=(Image&&) noexcept = default;

    uint8_t* at(uint32_t x, uint32_t y) { return rgba.data() + (size_t(y) * width + x) * 4; }
    const uint8_t* at(uint32_t x, uint32_t y) const { return rgba.data() + (size_t(y) * width + x) * 4; }
    Rgba pixel(uint32_t x, uint32_t y) const {
        const uint8_t* p = at(x, y);
        return {p[0], p[1], p[2], p[3]};
    }
    void set_pixel(uint32_t x, uint32_t y, Rgba v) {
        uint8_t* p = at(x, y);
        p[0] = v[0], p[1] = v[1], p[2] = v[2], p[3] = v[3];
    }
    bool contains(int64_t x, int64_t y) const { return x >= 0 && y >= 0 && x < width && y < height; }
};

// A zeroed image (all four channels 0).
Image make_image(uint32_t width, uint32_t height);

// The text chunk with this key, or nullptr.
const TextChunk* find_text(const Image& image, const std::string& key);
// Replaces the chunk with this key, or appends it.
void set_text(Image& image, const std::string& key, std::string text);

// An axis-aligned rectangle of pixels, used for written regions, history and texture updates.
struct Rect {
    uint32_t x = 0, y = 0, w = 0, h = 0;
    bool empty() const { return w == 0 || h == 0; }
    bool contains(uint32_t px, uint32_t py) const { return px >= x && py >= y && px < x + w && py < y + h; }
    friend bool operator==(const Rect&, const Rect&) = default;
};

// Copies of the pixels under a set of rectangles: what history keeps instead of whole images.
struct PixelPatch {
    Rect rect;
    std::vector<uint8_t> rgba; // rect.w * rect.h * 4
};
PixelPatch copy_patch(const Image& image, Rect rect);
void apply_patch(Image& image, const PixelPatch& patch);

} // namespace px
