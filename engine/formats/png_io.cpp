// png_io.cpp — libpng behind a value-returning API.
//
// libpng reports errors by longjmp. Every function here that calls setjmp is a plain C-style
// function whose locals are trivially destructible, and the callbacks libpng calls (read, write,
// error, warning) hold no C++ objects with destructors either, so a longjmp never skips a
// destructor. Buffers that outlive a longjmp (pixels, row pointers, the output bytes) are owned by
// the C++ caller one frame further out, and the png structs are destroyed there too.
//
// Dimensions are checked from the IHDR bytes before libpng sees the stream (PROTOCOL.md §8), so
// our messages, not libpng's, describe empty and oversized images, and nothing is allocated for
// them.
#include "png_io.h"

#include "huge_pages.h"

#include "protocol.h"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace px {
namespace {

// ---------------------------------------------------------------- shared error plumbing

struct PngContext {
    std::jmp_buf jmp;
    char error[512] = {};       // libpng's last error message
    char warnings[4][256] = {}; // the first few libpng warnings
    int warning_count = 0;
    // Reading from memory.
    const uint8_t* data = nullptr;
    size_t size = 0;
    size_t pos = 0;
    // Writing to memory.
    std::vector<uint8_t>* out = nullptr;
};

void copy_message(char* dst, size_t cap, const char* msg) {
    std::snprintf(dst, cap, "%s", msg ? msg : "unknown libpng error");
}

[[noreturn]] void on_error(png_structp png, png_const_charp msg) {
    auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
    copy_message(ctx->error, sizeof ctx->error, msg);
    std::longjmp(ctx->jmp, 1);
}

void on_warning(png_structp png, png_const_charp msg) {
    auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
    if (ctx->warning_count < 4) copy_message(ctx->warnings[ctx->warning_count], sizeof ctx->warnings[0], msg);
    ctx->warning_count++;
}

void read_from_memory(png_structp png, png_bytep dst, size_t n) {
    auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
    if (ctx->size - ctx->pos < n) png_error(png, "the file ends early (truncated)");
    std::memcpy(dst, ctx->data + ctx->pos, n);
    ctx->pos += n;
}

void write_to_memory(png_structp png, png_bytep src, size_t n) {
    auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
    bool ok = true;
    try {
        ctx->out->insert(ctx->out->end(), src, src + n);
    } catch (...) {
        ok = false;
    }
    if (!ok) png_error(png, "out of memory while encoding");
}

void flush_nothing(png_structp) {}

uint32_t be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// ---------------------------------------------------------------- reading

struct ReadInfo {
    uint32_t width = 0, height = 0;
    int color_type = 0, bit_depth = 0, interlace = 0;
    bool has_trns = false;
    size_t rowbytes = 0;
    int channels = 0;
};

// Phase 1: signature, IHDR and ancillary chunks before IDAT, then the transforms to RGBA8.
// Returns false after a libpng error (message in ctx->error).
bool read_header(png_structp png, png_infop info, PngContext* ctx, ReadInfo* ri) {
    if (setjmp(ctx->jmp)) return false;
    png_set_read_fn(png, ctx, read_from_memory);
    png_set_user_limits(png, kMaxDimension, kMaxDimension);
    png_set_chunk_malloc_max(png, 64u << 20); // text chunks (pxos.source) up to 64 MiB
    // Colour-management chunks are numbers we must not apply (PROTOCOL.md §2.1): skip them
    // outright, so a malformed profile cannot fail or warn about a program's load.
    static const png_byte kIgnored[] = {'g', 'A', 'M', 'A', 0,   's', 'R', 'G', 'B', 0,   'i', 'C', 'C',
                                        'P', 0,   'c', 'H', 'R', 'M', 0,   'c', 'I', 'C', 'P', 0};
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kIgnored, 5);
    png_read_info(png, info);
    ri->width = png_get_image_width(png, info);
    ri->height = png_get_image_height(png, info);
    ri->color_type = png_get_color_type(png, info);
    ri->bit_depth = png_get_bit_depth(png, info);
    ri->interlace = png_get_interlace_type(png, info);
    ri->has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    if (ri->bit_depth > 8) return true; // the caller refuses it; no transforms needed
    if (ri->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ri->color_type == PNG_COLOR_TYPE_GRAY && ri->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (ri->has_trns) png_set_tRNS_to_alpha(png);
    if (ri->color_type == PNG_COLOR_TYPE_GRAY || ri->color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    if (!(ri->color_type & PNG_COLOR_MASK_ALPHA) && !ri->has_trns)
        png_set_filler(png, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    ri->rowbytes = png_get_rowbytes(png, info);
    ri->channels = png_get_channels(png, info);
    return true;
}

// Phase 2: the pixels and the chunks after IDAT.
bool read_pixels(png_structp png, png_infop info, PngContext* ctx, png_bytepp rows) {
    if (setjmp(ctx->jmp)) return false;
    png_read_image(png, rows);
    png_read_end(png, info);
    return true;
}

const char* color_type_name(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return "grayscale";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "grayscale+alpha";
    case PNG_COLOR_TYPE_PALETTE: return "palette";
    case PNG_COLOR_TYPE_RGB: return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "RGBA";
    }
    return "unknown";
}

// tEXt and zTXt hold Latin-1; Image::text holds UTF-8.
std::string latin1_to_utf8(const char* s, size_t n) {
    std::string out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const auto c = uint8_t(s[i]);
        if (c < 0x80) {
            out += char(c);
        } else {
            out += char(0xC0 | c >> 6);
            out += char(0x80 | (c & 0x3F));
        }
    }
    return out;
}

struct PngReadStructs {
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~PngReadStructs() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

struct PngWriteStructs {
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~PngWriteStructs() { png_destroy_write_struct(&png, info ? &info : nullptr); }
};

std::string errno_text(int err) {
    return std::strerror(err);
}

// ---------------------------------------------------------------- writing

// A text chunk key as the PNG specification allows it: 1..79 Latin-1 printable characters, no
// leading, trailing or double spaces.
bool valid_key(const std::string& key) {
    if (key.empty() || key.size() > 79 || key.front() == ' ' || key.back() == ' ') return false;
    for (size_t i = 0; i < key.size(); ++i) {
        const auto c = uint8_t(key[i]);
        if (c < 32 || (c > 126 && c < 161)) return false;
        if (c == ' ' && i > 0 && key[i - 1] == ' ') return false;
    }
    return true;
}

bool plain_ascii(const std::string& s) {
    for (char ch : s) {
        const auto c = uint8_t(ch);
        if (c >= 0x80 || (c < 32 && c != '\n' && c != '\t' && c != '\r')) return false;
    }
    return true;
}

// Chunks shorter than this that are plain ASCII go into tEXt; everything else into iTXt (UTF-8),
// compressed when long.
constexpr size_t kCompressAbove = 1024;

bool write_png(png_structp png, png_infop info, PngContext* ctx, const Image* image, png_textp texts,
               int text_count, png_bytepp rows) {
    if (setjmp(ctx->jmp)) return false;
    png_set_write_fn(png, ctx, write_to_memory, flush_nothing);
    // Fixed settings so the same image always gives the same bytes.
    png_set_compression_level(png, 1); // level 6 was 7x slower on weight data for <1% smaller files
    png_set_compression_mem_level(png, 8);
    png_set_compression_strategy(png, 0); // Z_DEFAULT_STRATEGY
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_set_IHDR(png, info, image->width, image->height, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    if (text_count > 0) png_set_text(png, info, texts, text_count);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    return true;
}

} // namespace

Result<LoadedImage> load_png_bytes(std::span<const uint8_t> bytes, const std::string& name) {
    // Signature and IHDR, by hand, before libpng allocates anything.
    if (bytes.size() < 8 || png_sig_cmp(bytes.data(), 0, 8) != 0)
        return make_error(ErrorCode::NotPng, name + ": not a PNG file");
    if (bytes.size() < 33)
        return make_error(ErrorCode::BadPng,
                          name + ": truncated PNG: the file ends before the IHDR chunk does");
    const uint8_t* ihdr = bytes.data() + 8;
    if (be32(ihdr) != 13 || std::memcmp(ihdr + 4, "IHDR", 4) != 0)
        return make_error(ErrorCode::BadPng, name + ": corrupt PNG: the first chunk is not a 13-byte IHDR");
    const uint32_t width = be32(ihdr + 8), height = be32(ihdr + 12);
    const int bit_depth = ihdr[16];
    if (width == 0 || height == 0)
        return make_error(ErrorCode::Empty, name + ": image is " + std::to_string(width) + "x" +
                                                std::to_string(height) +
                                                "; a program needs at least 1x1 pixels (PROTOCOL.md §2)");
    if (width > kMaxDimension || height > kMaxDimension)
        return make_error(ErrorCode::TooLarge, name + ": image is " + std::to_string(width) + "x" +
                                                   std::to_string(height) + "; the limit is " +
                                                   std::to_string(kMaxDimension) + "x" +
                                                   std::to_string(kMaxDimension) + " (PROTOCOL.md §8)");
    if (bit_depth == 16)
        return make_error(ErrorCode::Unsupported,
                          name + ": 16-bit PNG refused: narrowing to 8 bits would change values silently; "
                                 "convert the file to 8 bits per channel explicitly (PROTOCOL.md §2.1)");
    // A small file that claims a large image would make us allocate (up to 1 GiB) before libpng
    // finds the data missing. Deflate expands at most 1032:1, so IDAT data shorter than that
    // bound cannot hold the image: refuse it from the chunk lengths alone.
    {
        const int color_type = ihdr[17];
        const int channels = color_type == 2 ? 3 : color_type == 4 ? 2 : color_type == 6 ? 4 : 1;
        const uint64_t raw_bits = uint64_t(width) * height * channels * std::max(bit_depth, 1);
        uint64_t idat = 0; // IDAT bytes present in the file (a length past its end counts what is there)
        for (size_t pos = 8; pos + 8 <= bytes.size();) {
            const uint64_t len = be32(bytes.data() + pos);
            const uint64_t present = std::min<uint64_t>(len, bytes.size() - pos - 8);
            // A chunk longer than the rest of the file: truncated or a corrupt length. Said here,
            // because libpng would first allocate the claimed length (up to 2 GiB) for a text chunk.
            if (len + 4 > bytes.size() - pos - 8) {
                const std::string type(reinterpret_cast<const char*>(bytes.data() + pos + 4), 4);
                bool printable = true;
                for (char c : type)
                    printable &= std::isalpha(static_cast<unsigned char>(c)) != 0;
                return make_error(ErrorCode::BadPng, name + ": truncated or corrupt PNG: the " +
                                                         (printable ? type + " chunk" : "chunk") +
                                                         " at byte " + std::to_string(pos) + " claims " +
                                                         std::to_string(len) +
                                                         " bytes; the file ends first (truncated)");
            }
            if (std::memcmp(bytes.data() + pos + 4, "IDAT", 4) == 0) idat += present;
            if (std::memcmp(bytes.data() + pos + 4, "IEND", 4) == 0) break;
            pos += 12 + size_t(present);
        }
        if (raw_bits / 8 > idat * 1032 + 65536)
            return make_error(ErrorCode::BadPng,
                              name + ": truncated or corrupt PNG: " + std::to_string(idat) +
                                  " bytes of IDAT data cannot hold a " + std::to_string(width) + "x" +
                                  std::to_string(height) + " image");
    }

    PngContext ctx;
    ctx.data = bytes.data();
    ctx.size = bytes.size();
    PngReadStructs s;
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!s.png) return make_error(ErrorCode::BadPng, name + ": libpng could not start (out of memory)");
    s.info = png_create_info_struct(s.png);
    if (!s.info) return make_error(ErrorCode::BadPng, name + ": libpng could not start (out of memory)");

    ReadInfo ri;
    if (!read_header(s.png, s.info, &ctx, &ri))
        return make_error(ErrorCode::BadPng, name + ": corrupt PNG: " + ctx.error);
    if (ri.bit_depth > 8) // IHDR said otherwise above; belt and braces
        return make_error(ErrorCode::Unsupported,
                          name + ": 16-bit PNG refused; convert it to 8 bits explicitly");
    if (ri.channels != 4 || ri.rowbytes != size_t(ri.width) * 4)
        return make_error(ErrorCode::Unsupported, name + ": cannot convert this PNG (" +
                                                      color_type_name(ri.color_type) + ", " +
                                                      std::to_string(ri.bit_depth) + "-bit) to RGBA8");

    LoadedImage out;
    Image& img = out.image;
    img.width = ri.width;
    img.height = ri.height;
    std::vector<png_bytep> rows;
    try {
        reserve_huge(img.rgba, size_t(ri.width) * ri.height * 4);
        img.rgba.resize(size_t(ri.width) * ri.height * 4);
        rows.resize(ri.height);
    } catch (...) {
        return make_error(ErrorCode::TooLarge, name + ": not enough memory for a " +
                                                   std::to_string(ri.width) + "x" +
                                                   std::to_string(ri.height) + " image");
    }
    for (uint32_t y = 0; y < ri.height; ++y)
        rows[y] = img.rgba.data() + size_t(y) * ri.width * 4;
    if (!read_pixels(s.png, s.info, &ctx, rows.data()))
        return make_error(ErrorCode::BadPng, name + ": truncated or corrupt PNG: " + ctx.error);

    png_textp texts = nullptr;
    int dropped_keys = 0;
    const int n = png_get_text(s.png, s.info, &texts, nullptr);
    for (int i = 0; i < n; ++i) {
        const png_text& t = texts[i];
        const bool itxt =
            t.compression == PNG_ITXT_COMPRESSION_NONE || t.compression == PNG_ITXT_COMPRESSION_zTXt;
        const size_t len = itxt ? t.itxt_length : t.text_length;
        std::string value = t.text ? (itxt ? std::string(t.text, len) : latin1_to_utf8(t.text, len)) : "";
        // Keys stay as their bytes, so they are written back unchanged. A key save_png could not
        // write back (libpng reads some the PNG specification forbids) is dropped with a warning,
        // so everything load_png returns can be saved again.
        std::string key = t.key ? t.key : "";
        if (!valid_key(key)) {
            dropped_keys++;
            continue;
        }
        img.text.push_back({std::move(key), std::move(value)});
    }

    const std::string depth = std::to_string(ri.bit_depth) + "-bit ";
    const char* what = color_type_name(ri.color_type);
    const std::string trns = ri.has_trns ? " (tRNS transparency applied as alpha)" : "";
    switch (ri.color_type) {
    case PNG_COLOR_TYPE_RGB_ALPHA: break;
    case PNG_COLOR_TYPE_RGB:
        out.warnings.push_back(name + ": converted 8-bit RGB to RGBA8: added A = 255" + trns);
        break;
    case PNG_COLOR_TYPE_GRAY:
        out.warnings.push_back(name + ": converted " + depth + what +
                               " to RGBA8: gray g became (g, g, g, 255)" + trns);
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        out.warnings.push_back(name + ": converted " + depth + what +
                               " to RGBA8: (g, a) became (g, g, g, a)");
        break;
    case PNG_COLOR_TYPE_PALETTE:
        out.warnings.push_back(name + ": converted " + depth + what + " to RGBA8: palette entries expanded" +
                               trns);
        break;
    }
    if (dropped_keys > 0)
        out.warnings.push_back(name + ": dropped " + std::to_string(dropped_keys) +
                               " text chunk(s) whose keyword is not a valid PNG keyword");
    for (int i = 0; i < ctx.warning_count && i < 4; ++i)
        out.warnings.push_back(name + ": libpng: " + ctx.warnings[i]);
    if (ctx.warning_count > 4)
        out.warnings.push_back(name + ": libpng: " + std::to_string(ctx.warning_count - 4) +
                               " more warnings");
    return out;
}

Result<LoadedImage> load_png(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(ErrorCode::Io, path + ": cannot open: " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        return make_error(ErrorCode::Io, path + ": cannot read: " + errno_text(EISDIR));
    }
    std::vector<uint8_t> bytes;
    if (S_ISREG(st.st_mode) && st.st_size > 0) reserve_huge(bytes, size_t(st.st_size));
    uint8_t buf[65536];
    for (;;) {
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int err = errno;
            ::close(fd);
            return make_error(ErrorCode::Io, path + ": cannot read: " + errno_text(err));
        }
        if (got == 0) break;
        bytes.insert(bytes.end(), buf, buf + got);
        // Refuse early rather than slurp a huge non-PNG file.
        if (bytes.size() >= 8 && bytes.size() == size_t(got) && png_sig_cmp(bytes.data(), 0, 8) != 0) break;
    }
    ::close(fd);
    return load_png_bytes(bytes, path);
}

Result<std::vector<uint8_t>> encode_png(const Image& image) {
    if (image.width == 0 || image.height == 0)
        return make_error(ErrorCode::Empty, "cannot encode a " + std::to_string(image.width) + "x" +
                                                std::to_string(image.height) + " image");
    if (image.width > kMaxDimension || image.height > kMaxDimension)
        return make_error(ErrorCode::TooLarge, "cannot encode a " + std::to_string(image.width) + "x" +
                                                   std::to_string(image.height) + " image; the limit is " +
                                                   std::to_string(kMaxDimension) + "x" +
                                                   std::to_string(kMaxDimension) + " (PROTOCOL.md §8)");
    if (image.rgba.size() != size_t(image.width) * image.height * 4)
        return make_error(ErrorCode::Usage, "image buffer holds " + std::to_string(image.rgba.size()) +
                                                " bytes; a " + std::to_string(image.width) + "x" +
                                                std::to_string(image.height) + " RGBA image needs " +
                                                std::to_string(size_t(image.width) * image.height * 4));
    // Text chunks: libpng needs char pointers that stay valid until png_write_end.
    std::vector<png_text> texts(image.text.size());
    for (size_t i = 0; i < image.text.size(); ++i) {
        const TextChunk& c = image.text[i];
        if (!valid_key(c.key))
            return make_error(ErrorCode::Usage,
                              "text chunk key '" + c.key +
                                  "' is not a valid PNG keyword (1-79 printable characters, "
                                  "no leading, trailing or double spaces)");
        if (c.text.find('\0') != std::string::npos)
            return make_error(ErrorCode::Usage, "text chunk '" + c.key + "' contains a NUL byte");
        png_text& t = texts[i];
        t.key = const_cast<char*>(c.key.c_str());
        t.text = const_cast<char*>(c.text.c_str());
        const bool long_text = c.text.size() >= kCompressAbove;
        if (plain_ascii(c.text) && !long_text) {
            t.compression = PNG_TEXT_COMPRESSION_NONE;
            t.text_length = c.text.size();
        } else {
            t.compression = long_text ? PNG_ITXT_COMPRESSION_zTXt : PNG_ITXT_COMPRESSION_NONE;
            t.itxt_length = c.text.size();
            t.lang = const_cast<char*>("");
            t.lang_key = const_cast<char*>("");
        }
    }
    std::vector<png_bytep> rows(image.height);
    for (uint32_t y = 0; y < image.height; ++y)
        rows[y] = const_cast<png_bytep>(image.rgba.data() + size_t(y) * image.width * 4);

    std::vector<uint8_t> out;
    PngContext ctx;
    ctx.out = &out;
    PngWriteStructs s;
    s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!s.png) return make_error(ErrorCode::Io, "libpng could not start (out of memory)");
    s.info = png_create_info_struct(s.png);
    if (!s.info) return make_error(ErrorCode::Io, "libpng could not start (out of memory)");
    if (!write_png(s.png, s.info, &ctx, &image, texts.data(), int(texts.size()), rows.data()))
        return make_error(ErrorCode::Io, std::string("PNG encoding failed: ") + ctx.error);
    return out;
}

// ---------------------------------------------------------------- atomic save

namespace {
SaveWriteHook g_write_hook = nullptr;

ssize_t do_write(int fd, const void* buf, size_t n) {
    return g_write_hook ? g_write_hook(fd, buf, n) : ::write(fd, buf, n);
}
} // namespace

void set_save_write_hook_for_tests(SaveWriteHook hook) {
    g_write_hook = hook;
}

Status save_png(const Image& image, const std::string& path) {
    auto encoded = encode_png(image);
    if (!encoded) return make_error(encoded.error().code, path + ": " + encoded.error().message);
    return write_file_atomic(path, encoded.value());
}

Status write_file_atomic(const std::string& path, std::span<const uint8_t> bytes) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.empty()) return make_error(ErrorCode::Io, path + ": cannot save: the path names a directory");

    // A destination that exists keeps its permissions; a new file gets rw-r--r--.
    mode_t mode = 0644;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return make_error(ErrorCode::Io, path + ": cannot save: " + errno_text(EISDIR));
        mode = st.st_mode & 07777;
    }

    std::string tmp = dir + "/." + base + ".tmp-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0)
        return make_error(ErrorCode::Io,
                          path + ": cannot create a temporary file in " + dir + ": " + errno_text(errno));
    auto fail = [&](const std::string& what, int err) -> Status {
        ::close(fd);
        ::unlink(tmp.c_str());
        return make_error(ErrorCode::Io, path + ": cannot save: " + what + ": " + errno_text(err));
    };
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = do_write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("write", errno);
        if (n == 0) return fail("write", ENOSPC);
        done += size_t(n);
    }
    if (::fchmod(fd, mode) != 0) return fail("chmod", errno);
    if (::fsync(fd) != 0) return fail("fsync", errno);
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return make_error(ErrorCode::Io, path + ": cannot save: close: " + errno_text(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return make_error(ErrorCode::Io, path + ": cannot save: rename: " + errno_text(err));
    }
    // Make the rename itself durable; a directory that cannot be fsynced is not an error.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return Ok{};
}

} // namespace px
