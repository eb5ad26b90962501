// Tests of engine/png_io: round trips, conversions of other PNG formats (made here with libpng),
// every load error, and real save failures (missing directory, a directory as destination, a
// read-only and a full file system) that must leave the previous file intact and no temporary.
#include "png_io.h"

#include <doctest/doctest.h>
#include <png.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace px;

namespace {

// A PNG of any colour type, depth and interlace, written by libpng from packed rows.
struct TestPng {
    uint32_t width = 1, height = 1;
    int color_type = PNG_COLOR_TYPE_RGB_ALPHA;
    int bit_depth = 8;
    bool interlace = false;
    std::vector<uint8_t> packed; // height rows of png rowbytes each
    std::vector<png_color> palette;
    std::vector<uint8_t> trns;
    bool gamma = false; // add a gAMA chunk of 1/5 (must be ignored on load)
};

void append_bytes(png_structp png, png_bytep data, size_t n) {
    auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + n);
}

bool write_raw(const TestPng* t, std::vector<uint8_t>* out, png_bytepp rows) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, out, append_bytes, nullptr);
    png_set_IHDR(png, info, t->width, t->height, t->bit_depth, t->color_type,
                 t->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE,
                 PNG_FILTER_TYPE_BASE);
    if (!t->palette.empty()) png_set_PLTE(png, info, t->palette.data(), int(t->palette.size()));
    if (!t->trns.empty()) {
        png_color_16 c{};
        if (t->color_type == PNG_COLOR_TYPE_PALETTE)
            png_set_tRNS(png, info, t->trns.data(), int(t->trns.size()), nullptr);
        else {
            c.gray = t->trns[0];
            c.red = t->trns[0], c.green = t->trns.size() > 1 ? t->trns[1] : 0,
            c.blue = t->trns.size() > 2 ? t->trns[2] : 0;
            png_set_tRNS(png, info, nullptr, 0, &c);
        }
    }
    if (t->gamma) {
        png_set_gAMA(png, info, 1.0 / 5.0);
    }
    png_write_info(png, info);
    png_set_interlace_handling(png);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

std::vector<uint8_t> make_png(const TestPng& t) {
    const size_t rowbytes = t.packed.size() / t.height;
    std::vector<png_bytep> rows(t.height);
    for (uint32_t y = 0; y < t.height; ++y)
        rows[y] = const_cast<png_bytep>(t.packed.data() + y * rowbytes);
    std::vector<uint8_t> out;
    REQUIRE(write_raw(&t, &out, rows.data()));
    return out;
}

Image random_image(uint32_t w, uint32_t h, uint32_t seed) {
    std::mt19937 rng(seed);
    Image img = make_image(w, h);
    for (auto& b : img.rgba)
        b = uint8_t(rng());
    return img;
}

// PNG's CRC-32 (the zlib polynomial), bitwise: tests need it only for a few chunks.
uint32_t crc_of(const uint8_t* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}
void put_be32(uint8_t* p, uint32_t v) {
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = uint8_t(v);
}

// Offset of the first chunk of this type (its length field), or 0.
size_t find_chunk(const std::vector<uint8_t>& png, const char* type) {
    size_t pos = 8;
    while (pos + 8 <= png.size()) {
        const uint32_t len = uint32_t(png[pos]) << 24 | png[pos + 1] << 16 | png[pos + 2] << 8 | png[pos + 3];
        if (std::memcmp(&png[pos + 4], type, 4) == 0) return pos;
        pos += 12 + len;
    }
    return 0;
}
void fix_crc(std::vector<uint8_t>& png, size_t chunk) {
    const uint32_t len =
        uint32_t(png[chunk]) << 24 | png[chunk + 1] << 16 | png[chunk + 2] << 8 | png[chunk + 3];
    put_be32(&png[chunk + 8 + len], crc_of(&png[chunk + 4], 4 + len));
}

// Inserts a chunk before IEND, with its CRC.
void insert_chunk(std::vector<uint8_t>& png, const char* type, const std::string& data) {
    const size_t iend = find_chunk(png, "IEND");
    std::vector<uint8_t> c(12 + data.size());
    put_be32(&c[0], uint32_t(data.size()));
    std::memcpy(&c[4], type, 4);
    std::memcpy(&c[8], data.data(), data.size());
    put_be32(&c[8 + data.size()], crc_of(&c[4], 4 + data.size()));
    png.insert(png.begin() + long(iend), c.begin(), c.end());
}

// A minimal PNG whose IHDR claims these dimensions (valid CRC), with a tiny IDAT.
std::vector<uint8_t> png_with_ihdr(uint32_t w, uint32_t h) {
    std::vector<uint8_t> png = encode_png(make_image(1, 1)).value();
    put_be32(&png[16], w);
    put_be32(&png[20], h);
    fix_crc(png, 8);
    return png;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d))
            if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/pxos_png_io_XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// A tmpfs mounted on a fresh directory; unmounted on destruction. ok is false where mounting is
// not permitted (not root, no CAP_SYS_ADMIN).
struct TmpfsMount {
    std::string dir;
    bool ok = false;
    TmpfsMount(const std::string& at, const char* options) : dir(at) {
        mkdir(dir.c_str(), 0755);
        ok = mount("tmpfs", dir.c_str(), "tmpfs", 0, options) == 0;
    }
    bool remount_readonly() {
        return mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
    }
    ~TmpfsMount() {
        if (ok) umount2(dir.c_str(), MNT_DETACH);
    }
};

// Saves `first`, then checks that saving `second` fails with Io naming the path, the first file is
// byte-identical and no temporary is left.
void check_failed_save_keeps_previous(const std::string& dir, const Image& second,
                                      const char* expect_reason) {
    const std::string path = dir + "/prog.pxi";
    const std::vector<uint8_t> before = read_file(path);
    REQUIRE(!before.empty());
    Status st = save_png(second, path);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ErrorCode::Io);
    CHECK(st.error().message.find(path) != std::string::npos);
    CHECK(st.error().message.find(expect_reason) != std::string::npos);
    CHECK(read_file(path) == before);
    CHECK(list_dir(dir) == std::vector<std::string>{"prog.pxi"});
}

long g_hook_budget = 0;
long short_write_then_enospc(int fd, const void* buf, size_t n) {
    if (g_hook_budget <= 0) {
        errno = ENOSPC;
        return -1;
    }
    const long k = std::min<long>(long(n), g_hook_budget);
    g_hook_budget -= k;
    return ::write(fd, buf, size_t(k));
}

} // namespace

TEST_CASE("random RGBA images round-trip exactly, with their text chunks") {
    const uint32_t sizes[][2] = {{1, 1}, {2, 1}, {1, 9}, {17, 3}, {64, 64}, {300, 2}};
    uint32_t seed = 1;
    for (auto [w, h] : sizes) {
        Image img = random_image(w, h, seed++);
        set_text(img, "pxos.symbols", R"({"version": 1, "regions": []})");
        set_text(img, "utf8", "h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC");
        set_text(img, "long", std::string(5000, 'x') + "\nend");
        set_text(img, "long utf8", std::string(3000, 'y') + "\xC3\xA9");
        set_text(img, "empty", "");
        auto bytes = encode_png(img);
        REQUIRE(bytes.ok());
        auto back = load_png_bytes(bytes.value(), "rt.pxi");
        REQUIRE(back.ok());
        CHECK(back->warnings.empty());
        CHECK(back->image.width == w);
        CHECK(back->image.height == h);
        CHECK(back->image.rgba == img.rgba);
        REQUIRE(back->image.text.size() == img.text.size());
        for (const TextChunk& c : img.text) {
            const TextChunk* got = find_text(back->image, c.key);
            REQUIRE(got);
            CHECK(got->text == c.text);
        }
    }
}

TEST_CASE("encoding is deterministic and stable across a load") {
    Image img = random_image(33, 20, 7);
    set_text(img, "pxos.source", "MATMUL x, W, y\n");
    auto a = encode_png(img), b = encode_png(img);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.value() == b.value());
    auto loaded = load_png_bytes(a.value());
    REQUIRE(loaded.ok());
    CHECK(encode_png(loaded->image).value() == a.value());
}

TEST_CASE("save_png and load_png round-trip through a file, replacing the previous one") {
    TempDir tmp;
    const std::string path = tmp.path + "/prog.pxi";
    Image a = random_image(5, 4, 11), b = random_image(6, 3, 12);
    set_text(b, "k", "v");
    REQUIRE(save_png(a, path).ok());
    REQUIRE(save_png(b, path).ok());
    auto back = load_png(path);
    REQUIRE(back.ok());
    CHECK(back->image.rgba == b.rgba);
    CHECK(back->image.width == 6);
    REQUIRE(find_text(back->image, "k"));
    CHECK(list_dir(tmp.path) == std::vector<std::string>{"prog.pxi"});
}

TEST_CASE("RGB8 gets A = 255 with a warning naming the file") {
    TestPng t;
    t.width = 2, t.height = 1, t.color_type = PNG_COLOR_TYPE_RGB;
    t.packed = {1, 2, 3, 4, 5, 6};
    auto r = load_png_bytes(make_png(t), "rgb.pxi");
    REQUIRE(r.ok());
    CHECK(r->image.rgba == std::vector<uint8_t>{1, 2, 3, 255, 4, 5, 6, 255});
    REQUIRE(r->warnings.size() == 1);
    CHECK(r->warnings[0].find("rgb.pxi") != std::string::npos);
    CHECK(r->warnings[0].find("RGB") != std::string::npos);
    CHECK(r->warnings[0].find("A = 255") != std::string::npos);
}

TEST_CASE("RGB8 with tRNS: the marked colour gets A = 0") {
    TestPng t;
    t.width = 2, t.height = 1, t.color_type = PNG_COLOR_TYPE_RGB;
    t.packed = {1, 2, 3, 4, 5, 6};
    t.trns = {4, 5, 6};
    auto r = load_png_bytes(make_png(t), "rgbt.pxi");
    REQUIRE(r.ok());
    CHECK(r->image.rgba == std::vector<uint8_t>{1, 2, 3, 255, 4, 5, 6, 0});
    REQUIRE(r->warnings.size() == 1);
    CHECK(r->warnings[0].find("tRNS") != std::string::npos);
}

TEST_CASE("grayscale, gray+alpha and sub-8-bit gray convert to RGBA8 with a warning") {
    SUBCASE("8-bit gray") {
        TestPng t;
        t.width = 3, t.color_type = PNG_COLOR_TYPE_GRAY, t.packed = {0, 7, 255};
        auto r = load_png_bytes(make_png(t), "g.pxi");
        REQUIRE(r.ok());
        CHECK(r->image.rgba == std::vector<uint8_t>{0, 0, 0, 255, 7, 7, 7, 255, 255, 255, 255, 255});
        REQUIRE(r->warnings.size() == 1);
        CHECK(r->warnings[0].find("g.pxi") != std::string::npos);
        CHECK(r->warnings[0].find("8-bit grayscale") != std::string::npos);
    }
    SUBCASE("gray+alpha") {
        TestPng t;
        t.width = 2, t.color_type = PNG_COLOR_TYPE_GRAY_ALPHA, t.packed = {9, 100, 200, 0};
        auto r = load_png_bytes(make_png(t), "ga.pxi");
        REQUIRE(r.ok());
        CHECK(r->image.rgba == std::vector<uint8_t>{9, 9, 9, 100, 200, 200, 200, 0});
        REQUIRE(r->warnings.size() == 1);
        CHECK(r->warnings[0].find("grayscale+alpha") != std::string::npos);
    }
    SUBCASE("1-bit gray scales 1 to 255") {
        TestPng t;
        t.width = 8, t.color_type = PNG_COLOR_TYPE_GRAY, t.bit_depth = 1, t.packed = {0b10100000};
        auto r = load_png_bytes(make_png(t), "g1.pxi");
        REQUIRE(r.ok());
        CHECK(r->image.pixel(0, 0) == Rgba{255, 255, 255, 255});
        CHECK(r->image.pixel(1, 0) == Rgba{0, 0, 0, 255});
        CHECK(r->image.pixel(2, 0) == Rgba{255, 255, 255, 255});
        REQUIRE(r->warnings.size() == 1);
        CHECK(r->warnings[0].find("1-bit grayscale") != std::string::npos);
    }
    SUBCASE("4-bit gray") {
        TestPng t;
        t.width = 2, t.color_type = PNG_COLOR_TYPE_GRAY, t.bit_depth = 4, t.packed = {0x1F};
        auto r = load_png_bytes(make_png(t), "g4.pxi");
        REQUIRE(r.ok());
        CHECK(r->image.pixel(0, 0) == Rgba{17, 17, 17, 255});
        CHECK(r->image.pixel(1, 0) == Rgba{255, 255, 255, 255});
        CHECK(r->warnings.at(0).find("4-bit grayscale") != std::string::npos);
    }
    SUBCASE("gray with tRNS") {
        TestPng t;
        t.width = 2, t.color_type = PNG_COLOR_TYPE_GRAY, t.packed = {5, 6}, t.trns = {5};
        auto r = load_png_bytes(make_png(t), "gt.pxi");
        REQUIRE(r.ok());
        CHECK(r->image.rgba == std::vector<uint8_t>{5, 5, 5, 0, 6, 6, 6, 255});
        CHECK(r->warnings.at(0).find("tRNS") != std::string::npos);
    }
}

TEST_CASE("palette images expand, with tRNS applied") {
    TestPng t;
    t.width = 3, t.color_type = PNG_COLOR_TYPE_PALETTE, t.bit_depth = 8;
    t.palette = {{10, 20, 30}, {40, 50, 60}};
    t.trns = {128};
    t.packed = {1, 0, 1};
    auto r = load_png_bytes(make_png(t), "pal.pxi");
    REQUIRE(r.ok());
    CHECK(r->image.rgba == std::vector<uint8_t>{40, 50, 60, 255, 10, 20, 30, 128, 40, 50, 60, 255});
    REQUIRE(r->warnings.size() == 1);
    CHECK(r->warnings[0].find("pal.pxi") != std::string::npos);
    CHECK(r->warnings[0].find("palette") != std::string::npos);

    TestPng p2;
    p2.width = 2, p2.color_type = PNG_COLOR_TYPE_PALETTE, p2.bit_depth = 2;
    p2.palette = {{1, 1, 1}, {2, 2, 2}, {3, 3, 3}};
    p2.packed = {0b10010000};
    auto r2 = load_png_bytes(make_png(p2), "pal2.pxi");
    REQUIRE(r2.ok());
    CHECK(r2->image.rgba == std::vector<uint8_t>{3, 3, 3, 255, 2, 2, 2, 255});
    CHECK(r2->warnings.at(0).find("2-bit palette") != std::string::npos);
}

TEST_CASE("16-bit PNGs are refused with a clear error") {
    for (int ct : {PNG_COLOR_TYPE_RGB_ALPHA, PNG_COLOR_TYPE_GRAY}) {
        TestPng t;
        t.width = 1, t.color_type = ct, t.bit_depth = 16;
        t.packed.assign(ct == PNG_COLOR_TYPE_GRAY ? 2 : 8, 1);
        auto r = load_png_bytes(make_png(t), "deep.pxi");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::Unsupported);
        CHECK(r.error().message.find("deep.pxi") != std::string::npos);
        CHECK(r.error().message.find("16-bit") != std::string::npos);
        CHECK(r.error().message.find("8 bits") != std::string::npos);
    }
}

TEST_CASE("interlaced images load with the same pixels and no warning") {
    Image img = random_image(13, 11, 99);
    TestPng t;
    t.width = 13, t.height = 11, t.interlace = true, t.packed = img.rgba;
    auto r = load_png_bytes(make_png(t), "i.pxi");
    REQUIRE(r.ok());
    CHECK(r->warnings.empty());
    CHECK(r->image.rgba == img.rgba);
}

TEST_CASE("gAMA is ignored: no colour correction") {
    TestPng t;
    t.width = 2, t.gamma = true, t.packed = {10, 100, 200, 255, 1, 2, 3, 4};
    auto png = make_png(t);
    REQUIRE(find_chunk(png, "gAMA") != 0);
    auto r = load_png_bytes(png, "gamma.pxi");
    REQUIRE(r.ok());
    CHECK(r->image.rgba == t.packed);
    CHECK(r->warnings.empty());
    // A malformed iCCP and sRGB are skipped unread: no error, no warning.
    insert_chunk(png, "iCCP", std::string("bad\0\0garbage", 12));
    insert_chunk(png, "sRGB", std::string("\x09", 1));
    auto r2 = load_png_bytes(png, "gamma.pxi");
    REQUIRE(r2.ok());
    CHECK(r2->image.rgba == t.packed);
    CHECK(r2->warnings.empty());
}

TEST_CASE("not a PNG") {
    for (std::vector<uint8_t> bytes :
         {std::vector<uint8_t>{}, std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'},
          std::vector<uint8_t>{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}}) {
        auto r = load_png_bytes(bytes, "x.pxi");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::NotPng);
        CHECK(r.error().message == "x.pxi: not a PNG file");
    }
}

TEST_CASE("every truncation of a PNG is an error, never a crash") {
    Image img = random_image(7, 5, 3);
    set_text(img, "k", "some text");
    const std::vector<uint8_t> full = encode_png(img).value();
    for (size_t n = 0; n < full.size(); ++n) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + n);
        auto r = load_png_bytes(cut, "cut.pxi");
        INFO("length " << n);
        REQUIRE_FALSE(r.ok());
        CHECK((r.error().code == (n < 8 ? ErrorCode::NotPng : ErrorCode::BadPng)));
        CHECK(r.error().message.rfind("cut.pxi: ", 0) == 0);
    }
}

TEST_CASE("corrupt CRC and corrupt zlib data are BadPng with libpng's reason") {
    const std::vector<uint8_t> good = encode_png(random_image(9, 9, 5)).value();
    const size_t idat = find_chunk(good, "IDAT");
    REQUIRE(idat != 0);
    SUBCASE("CRC") {
        auto bad = good;
        const uint32_t len = uint32_t(bad[idat + 2]) << 8 | bad[idat + 3];
        bad[idat + 8 + len] ^= 0x55; // the stored CRC no longer matches the data
        auto r = load_png_bytes(bad, "crc.pxi");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::BadPng);
        CHECK(r.error().message.find("crc.pxi") != std::string::npos);
        INFO(r.error().message);
        CHECK(r.error().message.find("CRC") != std::string::npos);
    }
    SUBCASE("zlib") {
        auto bad = good;
        bad[idat + 8] = 0x00; // the zlib header's CMF byte; CRC fixed so zlib sees it
        fix_crc(bad, idat);
        auto r = load_png_bytes(bad, "zlib.pxi");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::BadPng);
        CHECK(r.error().message.find("zlib.pxi") != std::string::npos);
    }
}

TEST_CASE("empty and oversized images are refused from the IHDR, with our messages") {
    for (auto [w, h] : {std::pair{0u, 0u}, std::pair{0u, 5u}, std::pair{5u, 0u}}) {
        auto r = load_png_bytes(png_with_ihdr(w, h), "e.pxi");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::Empty);
        CHECK(r.error().message.find("e.pxi: image is " + std::to_string(w) + "x" + std::to_string(h)) == 0);
    }
    auto big = load_png_bytes(png_with_ihdr(100000, 100000), "x.pxi");
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == ErrorCode::TooLarge);
    CHECK(big.error().message == "x.pxi: image is 100000x100000; the limit is 16384x16384 (PROTOCOL.md §8)");
    auto wide = load_png_bytes(png_with_ihdr(16385, 1), "w.pxi");
    REQUIRE_FALSE(wide.ok());
    CHECK(wide.error().code == ErrorCode::TooLarge);
    // At the limit the header is accepted; the 1-pixel IDAT then cannot fill 16384 pixels.
    auto edge = load_png_bytes(png_with_ihdr(16384, 1), "edge.pxi");
    REQUIRE_FALSE(edge.ok());
    CHECK(edge.error().code == ErrorCode::BadPng);
}

TEST_CASE("load_png reports file system errors as Io") {
    TempDir tmp;
    auto missing = load_png(tmp.path + "/nope.pxi");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == ErrorCode::Io);
    CHECK(missing.error().message.find("nope.pxi") != std::string::npos);
    CHECK(missing.error().message.find(std::strerror(ENOENT)) != std::string::npos);
    auto dir = load_png(tmp.path);
    REQUIRE_FALSE(dir.ok());
    CHECK(dir.error().code == ErrorCode::Io);
}

TEST_CASE("encode_png refuses images it cannot write") {
    Image empty;
    CHECK(encode_png(empty).error().code == ErrorCode::Empty);
    Image bad_key = make_image(1, 1);
    set_text(bad_key, "", "x");
    CHECK(encode_png(bad_key).error().code == ErrorCode::Usage);
    Image short_buf = make_image(2, 2);
    short_buf.rgba.resize(3);
    CHECK(encode_png(short_buf).error().code == ErrorCode::Usage);
}

TEST_CASE("save into a directory that does not exist fails with Io and leaves nothing") {
    TempDir tmp;
    const std::string path = tmp.path + "/no/such/dir/prog.pxi";
    Status st = save_png(make_image(2, 2), path);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ErrorCode::Io);
    CHECK(st.error().message.find(path) != std::string::npos);
    CHECK(st.error().message.find(std::strerror(ENOENT)) != std::string::npos);
    CHECK(list_dir(tmp.path).empty());
}

TEST_CASE("save onto a directory fails with Io and leaves the directory alone") {
    TempDir tmp;
    const std::string path = tmp.path + "/prog.pxi";
    REQUIRE(mkdir(path.c_str(), 0755) == 0);
    Status st = save_png(make_image(2, 2), path);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ErrorCode::Io);
    CHECK(st.error().message.find(std::strerror(EISDIR)) != std::string::npos);
    CHECK(list_dir(tmp.path) == std::vector<std::string>{"prog.pxi"});
    struct stat sb {};
    REQUIRE(stat(path.c_str(), &sb) == 0);
    CHECK(S_ISDIR(sb.st_mode));
}

// The test's copy of tests/fs_fault_shim.c (linked in) makes one directory fail writes as a full
// or a read-only file system would, for root too and without mount privileges.
struct FaultyDir {
    FaultyDir(const std::string& dir, const char* mode) {
        setenv("PXOS_FS_FAULT_DIR", dir.c_str(), 1);
        setenv("PXOS_FS_FAULT", mode, 1);
    }
    ~FaultyDir() {
        unsetenv("PXOS_FS_FAULT");
        unsetenv("PXOS_FS_FAULT_DIR");
    }
};

TEST_CASE("save on a read-only file system keeps the previous file") {
    TempDir tmp;
    SUBCASE("a read-only directory (tests/fs_fault_shim.c, runs everywhere)") {
        const std::string dir = tmp.path + "/ro";
        REQUIRE(mkdir(dir.c_str(), 0755) == 0);
        REQUIRE(save_png(random_image(4, 4, 1), dir + "/prog.pxi").ok());
        FaultyDir ro(dir, "erofs");
        check_failed_save_keeps_previous(dir, random_image(4, 4, 2), std::strerror(EROFS));
    }
    SUBCASE("a read-only tmpfs (where mounting is permitted)") {
        TmpfsMount fs(tmp.path + "/ro", "size=1m");
        if (!fs.ok) {
            MESSAGE("no mount permission: the read-only tmpfs is left out; the read-only directory above "
                    "ran");
            return;
        }
        REQUIRE(save_png(random_image(4, 4, 1), fs.dir + "/prog.pxi").ok());
        REQUIRE(fs.remount_readonly());
        check_failed_save_keeps_previous(fs.dir, random_image(4, 4, 2), std::strerror(EROFS));
    }
}

TEST_CASE("save on a full file system keeps the previous file") {
    TempDir tmp;
    SUBCASE("a full directory (tests/fs_fault_shim.c: a short write, then ENOSPC; runs everywhere)") {
        const std::string dir = tmp.path + "/full";
        REQUIRE(mkdir(dir.c_str(), 0755) == 0);
        REQUIRE(save_png(random_image(4, 4, 1), dir + "/prog.pxi").ok());
        FaultyDir full(dir, "enospc");
        check_failed_save_keeps_previous(dir, random_image(50, 50, 2), std::strerror(ENOSPC));
    }
    SUBCASE("a full 64 KiB tmpfs (where mounting is permitted)") {
        TmpfsMount fs(tmp.path + "/full", "size=64k");
        if (!fs.ok) {
            MESSAGE("no mount permission: the 64 KiB tmpfs is left out; the full directory above ran");
            return;
        }
        REQUIRE(save_png(random_image(4, 4, 1), fs.dir + "/prog.pxi").ok());
        // 200x200 random pixels do not compress: 160 KB cannot fit in 64 KiB.
        check_failed_save_keeps_previous(fs.dir, random_image(200, 200, 2), std::strerror(ENOSPC));
    }
}

TEST_CASE("the fault shim leaves other directories and a later save alone") {
    TempDir tmp;
    const std::string dir = tmp.path + "/faulty", other = tmp.path + "/other";
    REQUIRE(mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(mkdir(other.c_str(), 0755) == 0);
    for (const char* mode : {"erofs", "enospc"}) {
        FaultyDir f(dir, mode);
        CHECK(save_png(random_image(50, 50, 3), other + "/prog.pxi").ok());
        CHECK_FALSE(save_png(random_image(50, 50, 3), dir + "/prog.pxi").ok());
    }
    CHECK(save_png(random_image(50, 50, 3), dir + "/prog.pxi").ok()); // the fault gone: saves again
    CHECK(read_file(dir + "/prog.pxi") == read_file(other + "/prog.pxi"));
}

TEST_CASE("a simulated short write then ENOSPC keeps the previous file") {
    TempDir tmp;
    REQUIRE(save_png(random_image(4, 4, 1), tmp.path + "/prog.pxi").ok());
    for (long budget : {0L, 1L, 100L}) {
        g_hook_budget = budget;
        set_save_write_hook_for_tests(short_write_then_enospc);
        check_failed_save_keeps_previous(tmp.path, random_image(50, 50, 2), std::strerror(ENOSPC));
        set_save_write_hook_for_tests(nullptr);
    }
    // And with the hook gone, saving works again.
    REQUIRE(save_png(random_image(50, 50, 2), tmp.path + "/prog.pxi").ok());
}

TEST_CASE("tEXt is Latin-1: loaded as UTF-8; keys the PNG spec forbids are dropped with a warning") {
    std::vector<uint8_t> png = encode_png(make_image(1, 1)).value();
    insert_chunk(png, "tEXt", std::string("note\0caf\xE9", 9));
    insert_chunk(png, "tEXt", std::string(" bad key\0x", 10));
    auto r = load_png_bytes(png, "t.pxi");
    REQUIRE(r.ok());
    REQUIRE(r->image.text.size() == 1);
    CHECK(r->image.text[0].key == "note");
    CHECK(r->image.text[0].text == "caf\xC3\xA9");
    REQUIRE(r->warnings.size() == 1);
    CHECK(r->warnings[0].find("t.pxi: dropped 1 text chunk") == 0);
    // And what was loaded saves again.
    CHECK(encode_png(r->image).ok());
}

TEST_CASE("random corruptions of PNGs never crash; what loads saves and reloads to the same pixels") {
    std::mt19937 rng(42);
    Image img = random_image(9, 7, 4);
    set_text(img, "pxos.symbols", std::string(1500, 'q'));
    set_text(img, "k", "caf\xC3\xA9");
    TestPng gray;
    gray.width = 5, gray.height = 2, gray.color_type = PNG_COLOR_TYPE_GRAY, gray.bit_depth = 4,
    gray.interlace = true;
    gray.packed = {0x12, 0x34, 0x50, 0x67, 0x89, 0xA0};
    const std::vector<std::vector<uint8_t>> seeds = {encode_png(img).value(), make_png(gray)};
    int loaded = 0;
    for (int n = 0; n < 3000; ++n) {
        std::vector<uint8_t> bytes = seeds[n % seeds.size()];
        const int flips = 1 + int(rng() % 4);
        for (int k = 0; k < flips; ++k)
            bytes[8 + rng() % (bytes.size() - 8)] = uint8_t(rng());
        if (rng() % 4 == 0) bytes.resize(8 + rng() % (bytes.size() - 8));
        auto r = load_png_bytes(bytes, "fuzz.pxi");
        if (!r.ok()) {
            CHECK(r.error().message.rfind("fuzz.pxi: ", 0) == 0);
            continue;
        }
        ++loaded;
        REQUIRE(r->image.rgba.size() == size_t(r->image.width) * r->image.height * 4);
        auto again = encode_png(r->image);
        REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
        auto back = load_png_bytes(again.value(), "again.pxi");
        REQUIRE(back.ok());
        CHECK(back->image.rgba == r->image.rgba);
        CHECK(back->image.text.size() == r->image.text.size());
    }
    MESSAGE(loaded << " of 3000 corrupted files still loaded");
}

TEST_CASE("chunk lengths past the end and IDAT too short for the IHDR are refused before decoding") {
    std::vector<uint8_t> png = encode_png(random_image(3, 3, 8)).value();
    insert_chunk(png, "iTXt", std::string("k\0\0\0\0text", 9));
    const size_t itxt = find_chunk(png, "iTXt");
    REQUIRE(itxt != 0);
    put_be32(&png[itxt], 0x7FFFFFF0u);
    auto r = load_png_bytes(png, "len.pxi");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::BadPng);
    CHECK(r.error().message.find("len.pxi: truncated or corrupt PNG: the iTXt chunk at byte " +
                                 std::to_string(itxt) + " claims 2147483632 bytes") == 0);

    // 16384x16384 RGBA is 1 GiB; a few dozen bytes of IDAT cannot inflate to that.
    auto big = load_png_bytes(png_with_ihdr(16384, 16384), "claims.pxi");
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == ErrorCode::BadPng);
    CHECK(big.error().message.find("cannot hold a 16384x16384 image") != std::string::npos);
}
