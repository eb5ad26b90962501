// TEMPORARY ADAPTER (see README.md): minimal engine/png_io until engine/png_io.cpp lands.
// RGBA8 through libpng's simplified API; text chunks are not kept.
#include "png_io.h"

#include <png.h>

namespace px {

Result<LoadedImage> load_png(const std::string& path) {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path.c_str()))
        return make_error(ErrorCode::Io, path + ": " + img.message);
    img.format = PNG_FORMAT_RGBA;
    LoadedImage out;
    out.image = make_image(img.width, img.height);
    if (!png_image_finish_read(&img, nullptr, out.image.rgba.data(), 0, nullptr))
        return make_error(ErrorCode::BadPng, path + ": " + img.message);
    return out;
}

Status save_png(const Image& image, const std::string& path) {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    img.width = image.width;
    img.height = image.height;
    img.format = PNG_FORMAT_RGBA;
    if (!png_image_write_to_file(&img, path.c_str(), 0, image.rgba.data(), 0, nullptr))
        return make_error(ErrorCode::Io, path + ": " + img.message);
    return Ok{};
}

} // namespace px
