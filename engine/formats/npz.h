// npz.h — NumPy .npz archives (a zip of .npy files), for Pixel-LLM weights.
//
// The reader takes what numpy.savez and numpy.savez_compressed write: stored and deflated
// entries, zip64 size fields (NumPy forces them), names "<key>.npy". The central directory is
// the index; each entry's CRC-32 is checked. Each .npy is parsed by engine/npy.h. The writer
// writes a plain zip (no zip64; entries below 4 GiB), stored or deflated, atomically.
#pragma once
#include "npy.h"
#include "result.h"

#include <map>
#include <span>
#include <string>

namespace px {

// Arrays by key (the entry name without ".npy"). `name` is used in messages.
Result<std::map<std::string, NpyArray>> parse_npz(std::span<const uint8_t> bytes, const std::string& name);
Result<std::map<std::string, NpyArray>> read_npz(const std::string& path);

std::vector<uint8_t> encode_npz(const std::map<std::string, NpyArray>& arrays, bool deflate);
Status write_npz(const std::map<std::string, NpyArray>& arrays, const std::string& path, bool deflate = true);

} // namespace px
