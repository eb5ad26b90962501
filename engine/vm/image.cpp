#include "image.h"

#include <cstring>

namespace px {

Image make_image(uint32_t width, uint32_t height) {
    Image img;
    img.width = width;
    img.height = height;
    img.rgba.assign(size_t(width) * height * 4, 0);
    return img;
}

const TextChunk* find_text(const Image& image, const std::string& key) {
    for (const TextChunk& c : image.text)
        if (c.key == key) return &c;
    return nullptr;
}

void set_text(Image& image, const std::string& key, std::string text) {
    for (TextChunk& c : image.text)
        if (c.key == key) {
            c.text = std::move(text);
            return;
        }
    image.text.push_back({key, std::move(text)});
}

PixelPatch copy_patch(const Image& image, Rect rect) {
    PixelPatch patch{rect, std::vector<uint8_t>(size_t(rect.w) * rect.h * 4)};
    for (uint32_t row = 0; row < rect.h; ++row)
        std::memcpy(patch.rgba.data() + size_t(row) * rect.w * 4, image.at(rect.x, rect.y + row),
                    size_t(rect.w) * 4);
    return patch;
}

void apply_patch(Image& image, const PixelPatch& patch) {
    const Rect& r = patch.rect;
    for (uint32_t row = 0; row < r.h; ++row)
        std::memcpy(image.at(r.x, r.y + row), patch.rgba.data() + size_t(row) * r.w * 4, size_t(r.w) * 4);
}

} // namespace px
