// pretokenize.h — splits text into the pieces a byte-level BPE merges within (never across).
//
// Written by hand in the spirit of GPT-2's pre-tokenizer; no regular-expression engine. At each
// position the first rule that applies takes the longest piece it can:
//   1. a contraction: 's 't 'm 'd 're 've 'll (ASCII apostrophe, lower case, as GPT-2);
//   2. an optional single space (U+0020) and a run of letters, or of digits/numbers, or of
//      "other" characters (neither whitespace, letter nor number: punctuation, symbols, marks,
//      and every byte that is not part of valid UTF-8);
//   3. a run of whitespace: all of it when it ends the text, else all but its last character
//      (which then starts the next piece, e.g. the space of " word"); a single whitespace
//      character before a non-space is a piece of its own.
// Why: words keep their leading space (" the" is one token, not two), numbers and punctuation
// never merge with letters, and indentation stays one piece. The pieces partition the input
// bytes exactly (concatenated they give the text back), so any byte string, invalid UTF-8
// included, round-trips through encode/decode.
//
// Character classes come from a small hand-written table of Unicode ranges (pretokenize.cpp):
// ASCII exactly; Latin-1, general punctuation, currency, arrows, math, box drawing, dingbats,
// CJK punctuation, fullwidth forms, emoji, combining marks and private use as "other"; Unicode
// White_Space as whitespace; the common decimal digit blocks, superscripts, fractions, Roman
// numerals and circled numbers as numbers; every other code point as a letter. It is close to,
// not identical with, \p{L} / \p{N} / \s: token counts on non-ASCII text may differ slightly
// from GPT-2's own pre-tokenizer; the encoding is still exact and deterministic.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace px {

enum class CharClass : uint8_t { Letter, Number, Space, Other };

// The class of a Unicode code point (by the table described above).
CharClass char_class(uint32_t cp);

// One UTF-8 character at `pos`: its code point and length in bytes. A byte that does not start
// a valid, shortest-form sequence of a scalar value (no surrogates, at most U+10FFFF) is a
// character of its own: length 1, valid = false, class Other.
struct Utf8Char {
    uint32_t cp = 0;
    uint32_t len = 1;
    bool valid = false;
};
Utf8Char decode_utf8(std::string_view text, size_t pos);

// The end (exclusive) of the piece that starts at `pos` (< text.size()); always > pos.
size_t next_piece(std::string_view text, size_t pos);

// Calls f(std::string_view piece) for each piece of text, in order.
template <typename F> void for_each_piece(std::string_view text, F&& f) {
    for (size_t pos = 0; pos < text.size();) {
        const size_t end = next_piece(text, pos);
        f(text.substr(pos, end - pos));
        pos = end;
    }
}

} // namespace px
