// tokenizer_image.h — a BPE tokenizer stored as pixels of a .pxi (PROTOCOL.md §14), so a model
// image carries its own tokenizer and needs no other file.
//
// Four regions, each an ordinary matrix of §3:
//   tokenizer          i32 1x16 header: magic "PXTK", version 1, pre-tokenizer, vocabulary size V,
//                      merge count M, byte count B, the header rows of the three lists, zeros
//   tokenizer.merges   i32 list of 3M elements: (left, right, result) per merge, in rank order
//   tokenizer.offsets  i32 list of V + 1 elements: token t's bytes are bytes[offsets[t] ..
//                      offsets[t+1])
//   tokenizer.bytes    u8 list of B elements (R channel): every token's bytes, concatenated
// A list of n elements is the matrix with cols = min(n, width - 1) and rows = ceil(n / cols)
// (0x0 when n = 0); elements past n are 0. The header holds the rows, so the pixels alone are
// enough; debug symbols (§7) name the regions for tools and locate the header.
//
// read_tokenizer() trusts nothing: every count is checked against the image before anything is
// allocated, and every table entry as finalize_bpe() does; an error names the row or pixel.
#pragma once
#include "bpe.h"
#include "image.h"
#include "result.h"

#include <cstdint>
#include <optional>

namespace px {

inline constexpr uint32_t kTokenizerMagic = 0x4B545850; // bytes 'P' 'X' 'T' 'K' in R, G, B, A
inline constexpr uint32_t kTokenizerVersion = 1;
inline constexpr uint32_t kTokenizerHeaderElements = 16;
inline constexpr uint32_t kTokenizerMinWidth = kTokenizerHeaderElements + 1; // header in one row

struct TokenizerLayout {
    uint32_t header_row = 0, merges_row = 0, offsets_row = 0, bytes_row = 0;
    uint32_t end_row = 0; // first row after the tokenizer
};

// Image rows the tokenizer occupies at this width (header and three lists).
uint64_t tokenizer_rows(const Bpe& bpe, uint32_t width);

// Writes the four regions from first_row down and adds them to the debug symbols (replacing
// regions named tokenizer*). Fails (Usage) if the image is narrower than 17 pixels, the regions
// do not fit below first_row, or the existing symbols are malformed; the image is then unchanged.
Result<TokenizerLayout> write_tokenizer(Image& image, uint32_t first_row, const Bpe& bpe);

// A standalone tokenizer image: row 0 a HALT program (all zero), the tokenizer from row 1.
Result<Image> make_tokenizer_image(const Bpe& bpe, uint32_t width = 1024);

// The tokenizer header row: the symbols' region "tokenizer" if there is one, else the first row
// whose header is 1x16 with the magic in its first element; nullopt if none.
std::optional<uint32_t> find_tokenizer(const Image& image);

// Reads and checks the tokenizer whose header is at header_row (default: find_tokenizer). The
// Bpe is finalized. Errors are ErrorCode::Invalid and name the row or pixel.
Result<Bpe> read_tokenizer(const Image& image, std::optional<uint32_t> header_row = std::nullopt);

} // namespace px
