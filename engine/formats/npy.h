// npy.h — NumPy .npy files: a small reader and writer.
//
// The assembler reads uint8 matrix data from .npy files (`npy "w.npy"` in .pxasm), and the
// quantizer reads float weights and writes quantized ones. Format versions 1.0, 2.0 and 3.0 are
// read; dtypes |u1, |i1, <i4, <f2, <f4, <f8 in C order. Fortran order and big-endian data are refused
// with an error naming the file (we would rather fail than transpose or byte-swap silently).
// The writer always writes version 1.0 (2.0 if the header is too long for 1.0).
#pragma once
#include "result.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace px {

enum class NpyDtype : uint8_t { U8, I8, I32, F32, F64, F16 };

struct NpyArray {
    std::vector<uint64_t> shape; // empty for a 0-d array (one element)
    NpyDtype dtype = NpyDtype::U8;
    std::vector<uint8_t> data; // raw little-endian element bytes, C order

    uint64_t size() const; // product of shape
    // Every element as a double (exact for all supported dtypes).
    std::vector<double> as_double() const;
    // Every element as uint8; fails (naming `name`) unless the dtype is |u1, or an integer type
    // whose values all lie in 0..255.
    Result<std::vector<uint8_t>> as_u8(const std::string& name = "<npy>") const;
};

std::string_view npy_dtype_descr(NpyDtype dtype); // "|u1", "<f4", ...

Result<NpyArray> read_npy(const std::string& path);
// `name` is used in messages in place of a path.
Result<NpyArray> parse_npy(std::span<const uint8_t> bytes, const std::string& name = "<memory>");

std::vector<uint8_t> encode_npy(const NpyArray& array);
// Writes atomically enough for our uses: a temporary file renamed over the destination.
Status write_npy(const NpyArray& array, const std::string& path);

// Convenience constructors.
NpyArray make_npy_u8(std::vector<uint64_t> shape, std::vector<uint8_t> values);
NpyArray make_npy_f32(std::vector<uint64_t> shape, const std::vector<float>& values);

} // namespace px
