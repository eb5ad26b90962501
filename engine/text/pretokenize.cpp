// pretokenize.cpp — the hand-written GPT-2-style pre-tokenizer (see pretokenize.h for the rules).
#include "pretokenize.h"

#include <array>

namespace px {

namespace {

struct ClassRange {
    uint32_t first, last;
    CharClass cls;
};

constexpr CharClass L = CharClass::Letter, N = CharClass::Number, S = CharClass::Space, O = CharClass::Other;

// Non-ASCII code points that are not letters, sorted and disjoint (checked below at compile
// time). Anything not listed is a letter. Hand-written from the Unicode character charts.
constexpr ClassRange kRanges[] = {
    {0x80, 0x84, O},        {0x85, 0x85, S},       {0x86, 0x9F, O},       {0xA0, 0xA0, S},
    {0xA1, 0xA9, O},        {0xAB, 0xB1, O},       {0xB2, 0xB3, N},       {0xB4, 0xB4, O},
    {0xB6, 0xB8, O},        {0xB9, 0xB9, N},       {0xBB, 0xBB, O},       {0xBC, 0xBE, N},
    {0xBF, 0xBF, O},        {0xD7, 0xD7, O},       {0xF7, 0xF7, O},       {0x2C2, 0x2C5, O},
    {0x2D2, 0x2DF, O},      {0x2E5, 0x2EB, O},     {0x2ED, 0x2ED, O},     {0x2EF, 0x36F, O},
    {0x37E, 0x37E, O},      {0x384, 0x385, O},     {0x387, 0x387, O},     {0x3F6, 0x3F6, O},
    {0x482, 0x489, O},      {0x55A, 0x55F, O},     {0x589, 0x58A, O},     {0x591, 0x5C7, O},
    {0x5F3, 0x5F4, O},      {0x600, 0x61F, O},     {0x64B, 0x65F, O},     {0x660, 0x669, N},
    {0x66A, 0x66D, O},      {0x6D4, 0x6D4, O},     {0x6D6, 0x6ED, O},     {0x6F0, 0x6F9, N},
    {0x900, 0x903, O},      {0x93A, 0x93C, O},     {0x93E, 0x94F, O},     {0x951, 0x957, O},
    {0x962, 0x965, O},      {0x966, 0x96F, N},     {0x970, 0x970, O},     {0x1680, 0x1680, S},
    {0x2000, 0x200A, S},    {0x200B, 0x200F, O},   {0x2010, 0x2027, O},   {0x2028, 0x2029, S},
    {0x202A, 0x202E, O},    {0x202F, 0x202F, S},   {0x2030, 0x205E, O},   {0x205F, 0x205F, S},
    {0x2060, 0x206F, O},    {0x2070, 0x2070, N},   {0x2074, 0x2079, N},   {0x207A, 0x207E, O},
    {0x2080, 0x2089, N},    {0x208A, 0x208E, O},   {0x20A0, 0x20FF, O},   {0x2100, 0x214F, O},
    {0x2150, 0x2189, N},    {0x2190, 0x245F, O},   {0x2460, 0x249B, N},   {0x249C, 0x24E9, O},
    {0x24EA, 0x24FF, N},    {0x2500, 0x2775, O},   {0x2776, 0x2793, N},   {0x2794, 0x2BFF, O},
    {0x2E00, 0x2E7F, O},    {0x3000, 0x3000, S},   {0x3001, 0x3004, O},   {0x3007, 0x3007, N},
    {0x3008, 0x3020, O},    {0x3021, 0x3029, N},   {0x3030, 0x3030, O},   {0x3038, 0x303A, N},
    {0x303D, 0x303F, O},    {0x3099, 0x309C, O},   {0x30A0, 0x30A0, O},   {0x30FB, 0x30FB, O},
    {0xD800, 0xDFFF, O},    {0xE000, 0xF8FF, O},   {0xFE00, 0xFE19, O},   {0xFE20, 0xFE6F, O},
    {0xFEFF, 0xFEFF, O},    {0xFF01, 0xFF0F, O},   {0xFF10, 0xFF19, N},   {0xFF1A, 0xFF20, O},
    {0xFF3B, 0xFF40, O},    {0xFF5B, 0xFF65, O},   {0xFFE0, 0xFFEE, O},   {0xFFF0, 0xFFFF, O},
    {0x1D7CE, 0x1D7FF, N},  {0x1F000, 0x1FAFF, O}, {0xE0000, 0xE007F, O}, {0xE0100, 0xE01EF, O},
    {0xF0000, 0x10FFFF, O},
};

constexpr bool ranges_sorted() {
    for (size_t i = 0; i < std::size(kRanges); ++i) {
        if (kRanges[i].first > kRanges[i].last) return false;
        if (i > 0 && kRanges[i - 1].last >= kRanges[i].first) return false;
    }
    return true;
}
static_assert(ranges_sorted(), "kRanges must be sorted and disjoint (binary search)");

constexpr std::array<CharClass, 128> ascii_classes() {
    std::array<CharClass, 128> t{};
    for (int c = 0; c < 128; ++c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            t[c] = L;
        else if (c >= '0' && c <= '9')
            t[c] = N;
        else if (c == ' ' || (c >= 0x09 && c <= 0x0D))
            t[c] = S; // Unicode White_Space in ASCII: tab, LF, VT, FF, CR, space
        else
            t[c] = O;
    }
    return t;
}
constexpr std::array<CharClass, 128> kAscii = ascii_classes();

// Class of the character at pos and its length in bytes.
struct At {
    CharClass cls;
    uint32_t len;
};

At class_at(std::string_view text, size_t pos) {
    const uint8_t b = uint8_t(text[pos]);
    if (b < 0x80) return {kAscii[b], 1};
    const Utf8Char c = decode_utf8(text, pos);
    return {c.valid ? char_class(c.cp) : O, c.len};
}

bool starts_with(std::string_view text, size_t pos, std::string_view s) {
    return text.size() - pos >= s.size() && text.compare(pos, s.size(), s) == 0;
}

} // namespace

CharClass char_class(uint32_t cp) {
    if (cp < 0x80) return kAscii[cp];
    size_t lo = 0, hi = std::size(kRanges);
    while (lo < hi) { // first range whose last >= cp
        const size_t mid = (lo + hi) / 2;
        if (kRanges[mid].last < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < std::size(kRanges) && kRanges[lo].first <= cp) return kRanges[lo].cls;
    return L;
}

Utf8Char decode_utf8(std::string_view text, size_t pos) {
    const auto byte = [&](size_t i) { return uint8_t(text[i]); };
    const uint8_t b0 = byte(pos);
    if (b0 < 0x80) return {b0, 1, true};
    uint32_t len = 0, cp = 0, min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF)
        len = 2, cp = b0 & 0x1F, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF)
        len = 3, cp = b0 & 0x0F, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4)
        len = 4, cp = b0 & 0x07, min = 0x10000;
    else
        return {}; // continuation byte, C0/C1 (overlong lead) or F5..FF
    if (text.size() - pos < len) return {};
    for (uint32_t i = 1; i < len; ++i) {
        const uint8_t b = byte(pos + i);
        if ((b & 0xC0) != 0x80) return {};
        cp = cp << 6 | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
    return {cp, len, true};
}

size_t next_piece(std::string_view text, size_t pos) {
    const size_t n = text.size();
    // 1. Contractions.
    if (text[pos] == '\'') {
        for (std::string_view c : {"'re", "'ve", "'ll"})
            if (starts_with(text, pos, c)) return pos + 3;
        for (std::string_view c : {"'s", "'t", "'m", "'d"})
            if (starts_with(text, pos, c)) return pos + 2;
    }
    // 2. An optional space, then a run of one class (letters, numbers or other).
    size_t start = pos;
    At first = class_at(text, pos);
    if (text[pos] == ' ' && pos + 1 < n) {
        const At next = class_at(text, pos + 1);
        if (next.cls != S) start = pos + 1, first = next;
    }
    if (first.cls != S) {
        size_t end = start + first.len;
        while (end < n) {
            const At c = class_at(text, end);
            if (c.cls != first.cls) break;
            end += c.len;
        }
        return end;
    }
    // 3. Whitespace: the run, less its last character when a non-space follows and the run has
    // more than one character.
    size_t end = pos, last = pos;
    while (end < n) {
        const At c = class_at(text, end);
        if (c.cls != S) break;
        last = end;
        end += c.len;
    }
    if (end == n || last == pos) return end;
    return last;
}

} // namespace px
