// Fuzz target: raw pixels -> read_tokenizer -> encode/decode. The input is an image without PNG
// compression in the way, so mutations reach the tokenizer's tables directly:
//   bytes 0-1   width (little-endian; 17..1024 after clamping)
//   the rest    RGBA pixels row by row (a last partial row is dropped)
// read_tokenizer must never crash, hang or allocate beyond the image; when it accepts a table,
// that table must work: decode(encode(s)) == s for the input bytes themselves and a fixed text.
// Seeds (tests/fuzz/seeds/tokenizer/): `pxi tokenizer train --width 32` on
// tests/data/tokenizer_sample.txt (vocab 270, one special) and `pxi tokenizer gpt2 --width 40` on
// tests/data/gpt2_tiny, their PNGs decoded to this format (no text chunks: the reader finds the
// header by its magic).
#include "bpe.h"
#include "tokenizer_image.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    uint32_t width = uint32_t(data[0]) | uint32_t(data[1]) << 8;
    width = width < px::kTokenizerMinWidth ? px::kTokenizerMinWidth : width > 1024 ? 1024 : width;
    const size_t pixels = (size - 2) / 4;
    const uint32_t height = uint32_t(pixels / width);
    if (height < 2) return 0;
    px::Image image = px::make_image(width, height);
    std::copy(data + 2, data + 2 + size_t(width) * height * 4, image.rgba.begin());
    auto bpe = px::read_tokenizer(image);
    if (!bpe) {
        if (bpe.error().message.empty()) __builtin_trap();
        return 0;
    }
    const std::string_view self(reinterpret_cast<const char*>(data), size);
    for (const std::string_view text : {self, std::string_view("Hello, world! It's 12345 o'clock.\n  x")}) {
        const std::vector<int32_t> ids = px::encode(*bpe, text);
        auto back = px::decode(*bpe, ids);
        if (!back || *back != text) __builtin_trap();
    }
    return 0;
}
