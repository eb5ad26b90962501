#include "tgz.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace px {
namespace {

Error tgz_error(const std::string& name, const std::string& what) {
    return make_error(ErrorCode::Invalid, name + ": not a readable .tgz: " + what);
}

// A tar numeric field: octal digits, space- or NUL-terminated (the GNU base-256 form is refused).
bool octal_field(const uint8_t* f, size_t n, uint64_t& out) {
    out = 0;
    size_t i = 0;
    while (i < n && f[i] == ' ')
        ++i;
    if (i < n && (f[i] & 0x80)) return false;
    bool any = false;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i) {
        if (out > (uint64_t(1) << 60)) return false;
        out = out * 8 + (f[i] - '0');
        any = true;
    }
    for (; i < n; ++i)
        if (f[i] != ' ' && f[i] != 0) return false;
    return any;
}

std::string field_text(const uint8_t* f, size_t n) {
    size_t len = 0;
    while (len < n && f[len] != 0)
        ++len;
    return std::string(reinterpret_cast<const char*>(f), len);
}

void put_octal(uint8_t* f, size_t n, uint64_t v) { // n-1 digits and a NUL
    for (size_t i = n - 1; i-- > 0; v /= 8)
        f[i] = uint8_t('0' + v % 8);
    f[n - 1] = 0;
}

} // namespace

Result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> in, const std::string& name, size_t max_bytes) {
    if (in.size() < 18 || in[0] != 0x1f || in[1] != 0x8b) return tgz_error(name, "no gzip header");
    std::vector<uint8_t> out;
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return tgz_error(name, "zlib inflateInit2 failed");
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = uInt(in.size());
    uint8_t chunk[1 << 16];
    for (;;) {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        const int rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            return tgz_error(name, "corrupt gzip data");
        }
        out.insert(out.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
        if (out.size() > max_bytes) {
            inflateEnd(&zs);
            return tgz_error(name, "inflates beyond " + std::to_string(max_bytes) + " bytes");
        }
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            inflateReset(&zs); // another gzip member follows
            continue;
        }
        if (zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            return tgz_error(name, "truncated gzip data");
        }
    }
    inflateEnd(&zs);
    return out;
}

Result<std::map<std::string, std::string>> parse_tar(std::span<const uint8_t> b, const std::string& name) {
    std::map<std::string, std::string> files;
    size_t at = 0;
    for (;;) {
        if (at + 512 > b.size()) return tgz_error(name, "truncated tar (no end-of-archive blocks)");
        const uint8_t* h = b.data() + at;
        bool zero = true;
        for (int i = 0; i < 512 && zero; ++i)
            zero = h[i] == 0;
        if (zero) break; // end of archive
        uint64_t sum = 0, want = 0;
        for (int i = 0; i < 512; ++i)
            sum += (i >= 148 && i < 156) ? ' ' : h[i];
        std::string path = field_text(h, 100);
        if (std::memcmp(h + 257, "ustar", 5) == 0 && h[345] != 0)
            path = field_text(h + 345, 155) + "/" + path;
        const std::string where = "entry '" + path + "' at byte " + std::to_string(at);
        if (!octal_field(h + 148, 8, want) || want != sum)
            return tgz_error(name, where + ": bad header checksum");
        uint64_t size = 0;
        if (!octal_field(h + 124, 12, size)) return tgz_error(name, where + ": bad size field");
        const char type = char(h[156]);
        at += 512;
        if (size > b.size() - at) return tgz_error(name, where + ": truncated data");
        if (type == '0' || type == 0 || type == '7') {
            if (files.count(path)) return tgz_error(name, where + ": the path appears twice");
            files[path] = std::string(reinterpret_cast<const char*>(b.data() + at), size_t(size));
        }
        at += size_t((size + 511) / 512 * 512);
        if (at > b.size()) return tgz_error(name, where + ": truncated padding");
    }
    return files;
}

Result<std::map<std::string, std::string>> read_tgz(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::Io, path + ": cannot open");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return make_error(ErrorCode::Io, path + ": read error");
    auto tar = gunzip(bytes, path);
    if (!tar) return tar.error();
    return parse_tar(tar.value(), path);
}

std::vector<uint8_t> encode_tar(const std::map<std::string, std::string>& files) {
    std::vector<uint8_t> out;
    for (const auto& [path, data] : files) {
        uint8_t h[512] = {};
        std::memcpy(h, path.data(), std::min<size_t>(path.size(), 100));
        put_octal(h + 100, 8, 0644);
        put_octal(h + 108, 8, 0);
        put_octal(h + 116, 8, 0);
        put_octal(h + 124, 12, data.size());
        put_octal(h + 136, 12, 0);
        h[156] = '0';
        std::memcpy(h + 257,
                    "ustar\0"
                    "00",
                    8);
        std::memset(h + 148, ' ', 8);
        uint64_t sum = 0;
        for (uint8_t c : h)
            sum += c;
        put_octal(h + 148, 7, sum);
        h[155] = ' ';
        out.insert(out.end(), h, h + 512);
        out.insert(out.end(), data.begin(), data.end());
        out.resize((out.size() + 511) / 512 * 512, 0);
    }
    out.resize(out.size() + 1024, 0);
    return out;
}

std::vector<uint8_t> gzip(std::span<const uint8_t> bytes) {
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::vector<uint8_t> out(deflateBound(&zs, uLong(bytes.size())) + 32);
    zs.next_in = const_cast<Bytef*>(bytes.data());
    zs.avail_in = uInt(bytes.size());
    zs.next_out = out.data();
    zs.avail_out = uInt(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

} // namespace px
