// png_io.h — reading and writing .pxi files through libpng.
//
// load_png() accepts any PNG: RGBA8 as is; RGB, gray, gray+alpha, palette and sub-8-bit depths
// converted to RGBA8 with a warning each (PROTOCOL.md §2.1); 16-bit refused. Dimensions are
// checked against PROTOCOL.md §8 before any pixel memory is allocated, as are chunk lengths
// against the file's size and the IDAT data against the image it claims (deflate inflates at most
// 1032:1), so a small corrupt file never makes the loader allocate much. Text chunks (tEXt, zTXt,
// iTXt) are kept in Image::text. libpng's longjmp never crosses this API: errors are values that
// name the file.
//
// save_png() is atomic: it writes a temporary file in the destination's directory, flushes and
// fsyncs it, then renames it over the destination, so a failure (disk full, permission denied)
// leaves any previous file intact and removes the temporary.
#pragma once
#include "image.h"
#include "result.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace px {

struct LoadedImage {
    Image image;
    std::vector<std::string> warnings; // conversions made, one line each, naming the file
};

Result<LoadedImage> load_png(const std::string& path);
// `name` is used in messages in place of a path (e.g. "<memory>").
Result<LoadedImage> load_png_bytes(std::span<const uint8_t> bytes, const std::string& name = "<memory>");

Status save_png(const Image& image, const std::string& path);
// The atomic write under save_png (temporary in the same directory, fsync, rename), for any
// file a tool writes: .npy, .npz, exports.
Status write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> encode_png(const Image& image);

// Tests only: replaces write(2) inside save_png (e.g. to simulate a full disk where no small
// file system can be mounted). nullptr restores the real write. Not thread-safe.
using SaveWriteHook = long (*)(int fd, const void* buf, size_t n);
void set_save_write_hook_for_tests(SaveWriteHook hook);

} // namespace px
