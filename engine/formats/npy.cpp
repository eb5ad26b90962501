// npy.cpp — see npy.h. The header is a Python dict literal; we parse just what NumPy writes.
#include "npy.h"
#include "png_io.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace px {

namespace {

size_t dtype_size(NpyDtype d) {
    switch (d) {
    case NpyDtype::U8:
    case NpyDtype::I8: return 1;
    case NpyDtype::I32:
    case NpyDtype::F32: return 4;
    case NpyDtype::F64: return 8;
    case NpyDtype::F16: return 2;
    }
    return 1;
}

Error npy_error(const std::string& name, const std::string& what) {
    return make_error(ErrorCode::Syntax, name + ": " + what);
}

// Finds the value text after 'key': in the dict literal, up to the matching end.
bool find_value(const std::string& h, const std::string& key, std::string& out) {
    size_t k = h.find("'" + key + "'");
    if (k == std::string::npos) return false;
    size_t colon = h.find(':', k);
    if (colon == std::string::npos) return false;
    size_t i = colon + 1;
    while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i])))
        ++i;
    if (i >= h.size()) return false;
    size_t end;
    if (h[i] == '\'') {
        end = h.find('\'', i + 1);
        if (end == std::string::npos) return false;
        out = h.substr(i + 1, end - i - 1);
        return true;
    }
    if (h[i] == '(') {
        end = h.find(')', i);
        if (end == std::string::npos) return false;
        out = h.substr(i, end - i + 1);
        return true;
    }
    end = i;
    while (end < h.size() && h[end] != ',' && h[end] != '}')
        ++end;
    out = h.substr(i, end - i);
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back())))
        out.pop_back();
    return true;
}

} // namespace

uint64_t NpyArray::size() const {
    uint64_t n = 1;
    for (uint64_t d : shape)
        n *= d;
    return n;
}

std::string_view npy_dtype_descr(NpyDtype dtype) {
    switch (dtype) {
    case NpyDtype::U8: return "|u1";
    case NpyDtype::I8: return "|i1";
    case NpyDtype::I32: return "<i4";
    case NpyDtype::F32: return "<f4";
    case NpyDtype::F64: return "<f8";
    case NpyDtype::F16: return "<f2";
    }
    return "?";
}

std::vector<double> NpyArray::as_double() const {
    const uint64_t n = size();
    std::vector<double> out(n);
    const uint8_t* p = data.data();
    for (uint64_t i = 0; i < n; ++i) {
        switch (dtype) {
        case NpyDtype::U8: out[i] = p[i]; break;
        case NpyDtype::I8: out[i] = int8_t(p[i]); break;
        case NpyDtype::I32: {
            uint32_t u = uint32_t(p[4 * i]) | uint32_t(p[4 * i + 1]) << 8 | uint32_t(p[4 * i + 2]) << 16 |
                         uint32_t(p[4 * i + 3]) << 24;
            out[i] = int32_t(u);
            break;
        }
        case NpyDtype::F32: {
            uint32_t u = uint32_t(p[4 * i]) | uint32_t(p[4 * i + 1]) << 8 | uint32_t(p[4 * i + 2]) << 16 |
                         uint32_t(p[4 * i + 3]) << 24;
            float f;
            std::memcpy(&f, &u, 4);
            out[i] = f;
            break;
        }
        case NpyDtype::F16: { // binary16, exactly (NaN keeps its sign; payloads are not kept)
            const uint32_t h = uint32_t(p[2 * i]) | uint32_t(p[2 * i + 1]) << 8;
            const uint32_t e = h >> 10 & 31, m = h & 1023;
            const double mag = e == 31 ? (m ? std::nan("") : HUGE_VAL)
                               : e     ? std::ldexp(double(m | 1024), int(e) - 25)
                                       : std::ldexp(double(m), -24);
            out[i] = h & 0x8000 ? -mag : mag;
            break;
        }
        case NpyDtype::F64: {
            uint64_t u = 0;
            for (int b = 7; b >= 0; --b)
                u = u << 8 | p[8 * i + b];
            double d;
            std::memcpy(&d, &u, 8);
            out[i] = d;
            break;
        }
        }
    }
    return out;
}

Result<std::vector<uint8_t>> NpyArray::as_u8(const std::string& name) const {
    if (dtype == NpyDtype::U8) return std::vector<uint8_t>(data.begin(), data.begin() + size());
    if (dtype == NpyDtype::F16 || dtype == NpyDtype::F32 || dtype == NpyDtype::F64)
        return npy_error(name, "dtype " + std::string(npy_dtype_descr(dtype)) +
                                   " is floating point; uint8 data (|u1) is needed");
    const std::vector<double> v = as_double();
    std::vector<uint8_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] < 0 || v[i] > 255)
            return npy_error(name, "element " + std::to_string(i) + " is " + std::to_string(int64_t(v[i])) +
                                       ", outside 0..255");
        out[i] = uint8_t(v[i]);
    }
    return out;
}

Result<NpyArray> parse_npy(std::span<const uint8_t> bytes, const std::string& name) {
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0)
        return npy_error(name, "not a .npy file (bad magic)");
    const uint8_t major = bytes[6];
    size_t header_len, offset;
    if (major == 1) {
        header_len = bytes[8] | size_t(bytes[9]) << 8;
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) return npy_error(name, "truncated header");
        header_len = bytes[8] | size_t(bytes[9]) << 8 | size_t(bytes[10]) << 16 | size_t(bytes[11]) << 24;
        offset = 12;
    } else {
        return npy_error(name, "unsupported .npy format version " + std::to_string(major) + "." +
                                   std::to_string(bytes[7]));
    }
    if (bytes.size() - offset < header_len) return npy_error(name, "truncated header");
    const std::string h(reinterpret_cast<const char*>(bytes.data() + offset), header_len);
    std::string descr, fortran, shape_text;
    if (!find_value(h, "descr", descr)) return npy_error(name, "header has no 'descr'");
    if (!find_value(h, "fortran_order", fortran)) return npy_error(name, "header has no 'fortran_order'");
    if (!find_value(h, "shape", shape_text)) return npy_error(name, "header has no 'shape'");
    NpyArray a;
    if (descr == "|u1" || descr == "u1" || descr == "<u1" || descr == "B")
        a.dtype = NpyDtype::U8;
    else if (descr == "|i1" || descr == "i1" || descr == "<i1" || descr == "b")
        a.dtype = NpyDtype::I8;
    else if (descr == "<i4")
        a.dtype = NpyDtype::I32;
    else if (descr == "<f2")
        a.dtype = NpyDtype::F16;
    else if (descr == "<f4")
        a.dtype = NpyDtype::F32;
    else if (descr == "<f8")
        a.dtype = NpyDtype::F64;
    else if (!descr.empty() && descr[0] == '>')
        return npy_error(name, "big-endian dtype '" + descr + "' is not supported; save it little-endian");
    else
        return npy_error(name, "unsupported dtype '" + descr + "' (supported: |u1 |i1 <i4 <f2 <f4 <f8)");
    if (fortran == "True")
        return npy_error(name, "Fortran-order arrays are not supported; save it in C order");
    if (fortran != "False") return npy_error(name, "bad 'fortran_order' value '" + fortran + "'");
    if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
        return npy_error(name, "bad 'shape' value '" + shape_text + "'");
    {
        size_t i = 1;
        while (i < shape_text.size() - 1) {
            while (i < shape_text.size() - 1 &&
                   (std::isspace(static_cast<unsigned char>(shape_text[i])) || shape_text[i] == ','))
                ++i;
            if (i >= shape_text.size() - 1) break;
            if (!std::isdigit(static_cast<unsigned char>(shape_text[i])))
                return npy_error(name, "bad 'shape' value '" + shape_text + "'");
            uint64_t v = 0;
            while (std::isdigit(static_cast<unsigned char>(shape_text[i]))) {
                v = v * 10 + uint64_t(shape_text[i] - '0');
                if (v > (uint64_t(1) << 40)) return npy_error(name, "shape dimension too large");
                ++i;
            }
            a.shape.push_back(v);
        }
    }
    const size_t data_offset = offset + header_len;
    uint64_t n = 1;
    for (uint64_t d : a.shape) {
        if (d != 0 && n > (uint64_t(1) << 40) / d) return npy_error(name, "shape too large");
        n *= d;
    }
    const uint64_t need = n * dtype_size(a.dtype);
    if (bytes.size() - data_offset < need)
        return npy_error(name, "truncated data: " + std::to_string(need) + " bytes needed, " +
                                   std::to_string(bytes.size() - data_offset) + " present");
    a.data.assign(bytes.begin() + data_offset, bytes.begin() + data_offset + need);
    return a;
}

Result<NpyArray> read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::Io, path + ": cannot open");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return make_error(ErrorCode::Io, path + ": read error");
    return parse_npy(bytes, path);
}

std::vector<uint8_t> encode_npy(const NpyArray& array) {
    std::string shape = "(";
    for (size_t i = 0; i < array.shape.size(); ++i)
        shape += std::to_string(array.shape[i]) + ", ";
    if (array.shape.size() > 1)
        shape.resize(shape.size() - 2);
    else if (array.shape.size() == 1)
        shape.resize(shape.size() - 1);
    shape += ")";
    std::string header = "{'descr': '" + std::string(npy_dtype_descr(array.dtype)) +
                         "', 'fortran_order': False, 'shape': " + shape + ", }";
    const bool v2 = header.size() + 11 > 65535;
    const size_t prefix = v2 ? 12 : 10;
    size_t total = prefix + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(v2 ? 2 : 1), 0};
    const size_t len = header.size();
    out.push_back(uint8_t(len));
    out.push_back(uint8_t(len >> 8));
    if (v2) {
        out.push_back(uint8_t(len >> 16));
        out.push_back(uint8_t(len >> 24));
    }
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), array.data.begin(), array.data.end());
    return out;
}

Status write_npy(const NpyArray& array, const std::string& path) {
    const std::vector<uint8_t> bytes = encode_npy(array);
    return write_file_atomic(path, bytes);
}

NpyArray make_npy_u8(std::vector<uint64_t> shape, std::vector<uint8_t> values) {
    NpyArray a;
    a.shape = std::move(shape);
    a.dtype = NpyDtype::U8;
    a.data = std::move(values);
    return a;
}

NpyArray make_npy_f32(std::vector<uint64_t> shape, const std::vector<float>& values) {
    NpyArray a;
    a.shape = std::move(shape);
    a.dtype = NpyDtype::F32;
    a.data.resize(values.size() * 4);
    for (size_t i = 0; i < values.size(); ++i) {
        uint32_t u;
        std::memcpy(&u, &values[i], 4);
        for (int b = 0; b < 4; ++b)
            a.data[4 * i + b] = uint8_t(u >> (8 * b));
    }
    return a;
}

} // namespace px
