#include "npz.h"
#include "png_io.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace px {
namespace {

uint32_t rd16(std::span<const uint8_t> b, size_t at) {
    return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8;
}
uint32_t rd32(std::span<const uint8_t> b, size_t at) {
    return rd16(b, at) | rd16(b, at + 2) << 16;
}
uint64_t rd64(std::span<const uint8_t> b, size_t at) {
    return rd32(b, at) | uint64_t(rd32(b, at + 4)) << 32;
}

void wr16(std::vector<uint8_t>& o, uint32_t v) {
    o.push_back(uint8_t(v)), o.push_back(uint8_t(v >> 8));
}
void wr32(std::vector<uint8_t>& o, uint32_t v) {
    wr16(o, v & 0xFFFF), wr16(o, v >> 16);
}

Error zip_error(const std::string& name, const std::string& what) {
    return make_error(ErrorCode::Invalid, name + ": not a readable .npz: " + what);
}

Result<std::vector<uint8_t>> inflate_raw(std::span<const uint8_t> in, uint64_t out_size,
                                         const std::string& where) {
    if (out_size > (uint64_t(1) << 32)) return zip_error(where, "entry larger than 4 GiB");
    std::vector<uint8_t> out(out_size);
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return zip_error(where, "zlib inflateInit2 failed");
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = uInt(in.size());
    zs.next_out = out.data();
    zs.avail_out = uInt(out.size());
    const int rc = inflate(&zs, Z_FINISH);
    const uint64_t produced = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != out_size) return zip_error(where, "corrupt deflate data");
    return out;
}

} // namespace

Result<std::map<std::string, NpyArray>> parse_npz(std::span<const uint8_t> b, const std::string& name) {
    // End of central directory: the last "PK\5\6" with room for its 22 bytes.
    if (b.size() < 22) return zip_error(name, "too short");
    size_t eocd = std::string::npos;
    for (size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i <= 22 + 65535;)
        if (rd32(b, i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string::npos) return zip_error(name, "no end of central directory record");
    uint64_t count = rd16(b, eocd + 10), cd_offset = rd32(b, eocd + 16);
    if ((count == 0xFFFF || cd_offset == 0xFFFFFFFF) && eocd >= 20 && rd32(b, eocd - 20) == 0x07064b50) {
        const uint64_t z64 = rd64(b, eocd - 20 + 8);
        if (z64 + 56 > b.size() || rd32(b, size_t(z64)) != 0x06064b50)
            return zip_error(name, "bad zip64 record");
        count = rd64(b, size_t(z64) + 32);
        cd_offset = rd64(b, size_t(z64) + 48);
    }
    std::map<std::string, NpyArray> arrays;
    uint64_t at = cd_offset;
    for (uint64_t e = 0; e < count; ++e) {
        if (at + 46 > b.size() || rd32(b, size_t(at)) != 0x02014b50)
            return zip_error(name, "bad central directory");
        const size_t p = size_t(at);
        const uint32_t flags = rd16(b, p + 8), method = rd16(b, p + 10), crc = rd32(b, p + 16);
        uint64_t csize = rd32(b, p + 20), usize = rd32(b, p + 24);
        const uint32_t nlen = rd16(b, p + 28), xlen = rd16(b, p + 30), clen = rd16(b, p + 32);
        uint64_t local = rd32(b, p + 42);
        if (p + 46 + nlen + xlen + clen > b.size()) return zip_error(name, "bad central directory");
        const std::string entry(reinterpret_cast<const char*>(&b[p + 46]), nlen);
        // zip64 extra field (id 1): the 0xFFFFFFFF fields, in the order usize, csize, offset.
        for (size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
            const uint32_t id = rd16(b, x), len = rd16(b, x + 2);
            if (id == 1) {
                size_t f = x + 4;
                if (usize == 0xFFFFFFFF && f + 8 <= x + 4 + len) usize = rd64(b, f), f += 8;
                if (csize == 0xFFFFFFFF && f + 8 <= x + 4 + len) csize = rd64(b, f), f += 8;
                if (local == 0xFFFFFFFF && f + 8 <= x + 4 + len) local = rd64(b, f), f += 8;
            }
            x += 4 + len;
        }
        at += 46 + nlen + xlen + clen;
        const std::string where = name + " entry " + entry;
        if (flags & 1) return zip_error(where, "encrypted entries are not supported");
        if (local + 30 > b.size() || rd32(b, size_t(local)) != 0x04034b50)
            return zip_error(where, "bad local header");
        const uint64_t data = local + 30 + rd16(b, size_t(local) + 26) + rd16(b, size_t(local) + 28);
        if (data + csize > b.size()) return zip_error(where, "data runs past the end of the file");
        std::span<const uint8_t> raw = b.subspan(size_t(data), size_t(csize));
        std::vector<uint8_t> bytes;
        if (method == 0) {
            if (csize != usize) return zip_error(where, "stored entry with different sizes");
            bytes.assign(raw.begin(), raw.end());
        } else if (method == 8) {
            auto inflated = inflate_raw(raw, usize, where);
            if (!inflated) return inflated.error();
            bytes = std::move(inflated.value());
        } else {
            return zip_error(where,
                             "compression method " + std::to_string(method) + " (only stored and deflate)");
        }
        if (crc32(0L, bytes.data(), uInt(bytes.size())) != crc) return zip_error(where, "CRC-32 mismatch");
        std::string key = entry;
        if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
        auto arr = parse_npy(bytes, where);
        if (!arr) return arr.error();
        arrays[key] = std::move(arr.value());
    }
    return arrays;
}

Result<std::map<std::string, NpyArray>> read_npz(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::Io, path + ": cannot open");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return make_error(ErrorCode::Io, path + ": read error");
    return parse_npz(bytes, path);
}

std::vector<uint8_t> encode_npz(const std::map<std::string, NpyArray>& arrays, bool compress) {
    std::vector<uint8_t> out, central;
    for (const auto& [key, array] : arrays) {
        const std::vector<uint8_t> npy = encode_npy(array);
        const std::string name = key + ".npy";
        const uint32_t crc = uint32_t(crc32(0L, npy.data(), uInt(npy.size())));
        std::vector<uint8_t> body = npy;
        uint32_t method = 0;
        if (compress) {
            z_stream zs{};
            deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
            body.resize(deflateBound(&zs, uLong(npy.size())));
            zs.next_in = const_cast<Bytef*>(npy.data());
            zs.avail_in = uInt(npy.size());
            zs.next_out = body.data();
            zs.avail_out = uInt(body.size());
            ::deflate(&zs, Z_FINISH);
            body.resize(zs.total_out);
            deflateEnd(&zs);
            method = 8;
        }
        const uint32_t offset = uint32_t(out.size());
        auto header = [&](std::vector<uint8_t>& o, bool is_central) {
            wr32(o, is_central ? 0x02014b50 : 0x04034b50);
            if (is_central) wr16(o, 20); // version made by
            wr16(o, 20), wr16(o, 0), wr16(o, method), wr16(o, 0),
                wr16(o, 0x21); // version, flags, method, time, date
            wr32(o, crc), wr32(o, uint32_t(body.size())), wr32(o, uint32_t(npy.size()));
            wr16(o, uint32_t(name.size())), wr16(o, 0);
            if (is_central) wr16(o, 0), wr16(o, 0), wr16(o, 0), wr32(o, 0), wr32(o, offset);
            o.insert(o.end(), name.begin(), name.end());
        };
        header(out, false);
        out.insert(out.end(), body.begin(), body.end());
        header(central, true);
    }
    const uint32_t cd_offset = uint32_t(out.size());
    out.insert(out.end(), central.begin(), central.end());
    wr32(out, 0x06054b50), wr16(out, 0), wr16(out, 0);
    wr16(out, uint32_t(arrays.size())), wr16(out, uint32_t(arrays.size()));
    wr32(out, uint32_t(central.size())), wr32(out, cd_offset), wr16(out, 0);
    return out;
}

Status write_npz(const std::map<std::string, NpyArray>& arrays, const std::string& path, bool compress) {
    const std::vector<uint8_t> bytes = encode_npz(arrays, compress);
    return write_file_atomic(path, bytes);
}

} // namespace px
