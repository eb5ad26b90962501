// gpt2_bpe.h — reads GPT-2's published BPE files (encoder.json and vocab.bpe) into a Bpe.
//
// GPT-2 stores tokens as text: every byte is first mapped to a printable code point (its
// "byte-to-unicode" table: the printable Latin-1 bytes '!'..'~', U+00A1..U+00AC and
// U+00AE..U+00FF stand for themselves, the other 68 bytes become U+0100, U+0101, ... in byte
// order), so a token's key in encoder.json is the UTF-8 of those code points. vocab.bpe lists the
// merges in rank order, one "left right" pair of such strings a line, after a "#version" line.
// The loader inverts the mapping, looks every merge's parts and result up in encoder.json and
// checks the whole table with finalize_bpe; errors name the file and the line or key.
// The files themselves are not part of this repository: `pxi tokenizer gpt2` fetches them.
#pragma once
#include "bpe.h"

#include <string>
#include <string_view>

namespace px {

// The code point GPT-2 writes for byte b.
uint32_t gpt2_byte_to_unicode(uint8_t b);

// encoder_json and vocab_bpe are the files' contents; the names are used in messages.
Result<Bpe> load_gpt2_bpe(std::string_view encoder_json, std::string_view vocab_bpe,
                          const std::string& encoder_name = "encoder.json",
                          const std::string& vocab_name = "vocab.bpe");

} // namespace px
