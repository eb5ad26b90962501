// tokenizer_image.cpp — the tokenizer's four regions (PROTOCOL.md §14): writing, finding, and a
// reader that checks every number a file could forge before it trusts it.
#include "tokenizer_image.h"

#include "debuginfo.h"
#include "dtype.h"
#include "layout.h"

#include <algorithm>
#include <array>
#include <climits>

namespace px {

namespace {

constexpr const char* kHeaderName = "tokenizer";
constexpr std::array<const char*, 3> kListNames = {"tokenizer.merges", "tokenizer.offsets",
                                                   "tokenizer.bytes"};

// Header element indices.
enum : uint32_t {
    kMagic = 0,
    kVersion,
    kPreTokenizer,
    kVocabSize,
    kMergeCount,
    kByteCount,
    kMergesRow,
    kOffsetsRow,
    kBytesRow,
    kFirstReserved
};

// The matrix shape of a list of n elements at this width.
MatrixHeader list_shape(uint64_t n, uint32_t width) {
    if (n == 0) return {0, 0};
    const uint64_t cols = std::min<uint64_t>(n, width - 1);
    const uint64_t rows = (n + cols - 1) / cols;
    return {uint32_t(cols), uint32_t(std::min<uint64_t>(rows, UINT32_MAX))};
}

uint64_t list_rows(uint64_t n, uint32_t width) {
    return rows_for_elements(n, width);
}

void put_word(Image& image, uint32_t row, uint64_t i, uint32_t w) {
    image.set_pixel(element_x(i, image.width), uint32_t(element_y(i, row, image.width)), word_pixel(w));
}

std::string pixel_text(const Image& image, uint32_t row, uint64_t i) {
    return "pixel (" + std::to_string(element_x(i, image.width)) + ", " +
           std::to_string(element_y(i, row, image.width)) + ")";
}

Error bad(std::string message) {
    return make_error(ErrorCode::Invalid, "tokenizer: " + std::move(message));
}

} // namespace

uint64_t tokenizer_rows(const Bpe& bpe, uint32_t width) {
    if (width < 2) return UINT64_MAX;
    uint64_t bytes = 0;
    for (const std::string& t : bpe.vocab)
        bytes += t.size();
    return list_rows(kTokenizerHeaderElements, width) + list_rows(3 * uint64_t(bpe.merges.size()), width) +
           list_rows(bpe.vocab.size() + 1, width) + list_rows(bytes, width);
}

Result<TokenizerLayout> write_tokenizer(Image& image, uint32_t first_row, const Bpe& bpe) {
    if (image.width < kTokenizerMinWidth)
        return make_error(ErrorCode::Usage, "a tokenizer needs an image at least " +
                                                std::to_string(kTokenizerMinWidth) + " pixels wide, not " +
                                                std::to_string(image.width));
    if (first_row < 1)
        return make_error(ErrorCode::Usage, "a tokenizer cannot start in row 0 (instructions)");
    const uint64_t rows = tokenizer_rows(bpe, image.width);
    if (uint64_t(first_row) + rows > image.height)
        return make_error(ErrorCode::Usage, "the tokenizer needs rows " + std::to_string(first_row) + ".." +
                                                std::to_string(first_row + rows - 1) + ", the image has " +
                                                std::to_string(image.height) + " rows");
    if (bpe.vocab.size() > uint64_t(INT32_MAX) - 1)
        return make_error(ErrorCode::Usage, "the vocabulary is too large for int32 offsets");
    auto info = read_debug_info(image);
    if (!info)
        return make_error(ErrorCode::Usage, "cannot add the tokenizer's symbols: " + info.error().message);

    uint64_t byte_count = 0;
    for (const std::string& t : bpe.vocab)
        byte_count += t.size();
    if (byte_count > uint64_t(INT32_MAX))
        return make_error(ErrorCode::Usage, "the vocabulary has more than 2^31 - 1 bytes");
    const uint64_t merge_elems = 3 * uint64_t(bpe.merges.size()), offset_elems = bpe.vocab.size() + 1;
    TokenizerLayout lay;
    lay.header_row = first_row;
    lay.merges_row = uint32_t(lay.header_row + list_rows(kTokenizerHeaderElements, image.width));
    lay.offsets_row = uint32_t(lay.merges_row + list_rows(merge_elems, image.width));
    lay.bytes_row = uint32_t(lay.offsets_row + list_rows(offset_elems, image.width));
    lay.end_row = uint32_t(lay.bytes_row + list_rows(byte_count, image.width));

    // Clear the rows first: padding and reserved channels are 0.
    std::fill(image.at(0, lay.header_row), image.at(0, lay.header_row) + size_t(rows) * image.width * 4, 0);
    const std::array<uint32_t, kTokenizerHeaderElements> header = {kTokenizerMagic,
                                                                   kTokenizerVersion,
                                                                   uint32_t(bpe.pretokenizer),
                                                                   uint32_t(bpe.vocab.size()),
                                                                   uint32_t(bpe.merges.size()),
                                                                   uint32_t(byte_count),
                                                                   lay.merges_row,
                                                                   lay.offsets_row,
                                                                   lay.bytes_row};
    image.set_pixel(0, lay.header_row, encode_header({kTokenizerHeaderElements, 1}));
    for (uint32_t i = 0; i < kTokenizerHeaderElements; ++i)
        put_word(image, lay.header_row, i, header[i]);
    image.set_pixel(0, lay.merges_row, encode_header(list_shape(merge_elems, image.width)));
    for (uint64_t r = 0; r < bpe.merges.size(); ++r) {
        put_word(image, lay.merges_row, 3 * r, uint32_t(bpe.merges[r].left));
        put_word(image, lay.merges_row, 3 * r + 1, uint32_t(bpe.merges[r].right));
        put_word(image, lay.merges_row, 3 * r + 2, uint32_t(bpe.merges[r].result));
    }
    image.set_pixel(0, lay.offsets_row, encode_header(list_shape(offset_elems, image.width)));
    image.set_pixel(0, lay.bytes_row, encode_header(list_shape(byte_count, image.width)));
    uint64_t offset = 0;
    for (uint64_t t = 0; t < bpe.vocab.size(); ++t) {
        put_word(image, lay.offsets_row, t, uint32_t(offset));
        for (const char c : bpe.vocab[t]) {
            image.at(element_x(offset, image.width),
                     uint32_t(element_y(offset, lay.bytes_row, image.width)))[0] = uint8_t(c);
            ++offset;
        }
    }
    put_word(image, lay.offsets_row, bpe.vocab.size(), uint32_t(offset));

    DebugInfo& di = info.value();
    std::erase_if(di.regions, [](const Region& r) { return r.name.rfind(kHeaderName, 0) == 0; });
    const auto add = [&](const char* name, uint32_t row) {
        Region region;
        region.name = name;
        region.row = row;
        region.shape = decode_header(image.pixel(0, row));
        di.regions.push_back(std::move(region));
    };
    add(kHeaderName, lay.header_row);
    add(kListNames[0], lay.merges_row);
    add(kListNames[1], lay.offsets_row);
    add(kListNames[2], lay.bytes_row);
    std::stable_sort(di.regions.begin(), di.regions.end(),
                     [](const Region& a, const Region& b) { return a.row < b.row; });
    write_debug_info(image, di);
    return lay;
}

Result<Image> make_tokenizer_image(const Bpe& bpe, uint32_t width) {
    if (width < kTokenizerMinWidth || width > 16384)
        return make_error(ErrorCode::Usage,
                          "tokenizer image width must be 17..16384, not " + std::to_string(width));
    const uint64_t height = 1 + tokenizer_rows(bpe, width);
    if (height > 16384)
        return make_error(ErrorCode::Usage, "the tokenizer needs " + std::to_string(height) +
                                                " rows at width " + std::to_string(width) +
                                                ", more than an image may have (16384)");
    Image image = make_image(width, uint32_t(height)); // row 0 all zero: HALT at pc 0
    auto lay = write_tokenizer(image, 1, bpe);
    if (!lay) return lay.error();
    return image;
}

std::optional<uint32_t> find_tokenizer(const Image& image) {
    if (auto info = read_debug_info(image); info.ok())
        for (const Region& r : info->regions)
            if (r.name == kHeaderName) return r.row;
    if (image.width < kTokenizerMinWidth) return std::nullopt;
    for (uint32_t row = 1; row < image.height; ++row)
        if (decode_header(image.pixel(0, row)) == MatrixHeader{kTokenizerHeaderElements, 1} &&
            pixel_word(image.pixel(1, row)) == kTokenizerMagic)
            return row;
    return std::nullopt;
}

Result<Bpe> read_tokenizer(const Image& image, std::optional<uint32_t> header_row) {
    if (!header_row) header_row = find_tokenizer(image);
    if (!header_row)
        return bad("no tokenizer in this image (no region \"tokenizer\" and no row with its header)");
    const uint32_t hrow = *header_row;
    const std::string at_header = "header row " + std::to_string(hrow);
    if (image.width < kTokenizerMinWidth)
        return bad("the image is " + std::to_string(image.width) + " pixels wide; a tokenizer needs " +
                   std::to_string(kTokenizerMinWidth));
    if (hrow < 1 || hrow >= image.height)
        return bad(at_header + " is outside the image's rows 1.." + std::to_string(image.height - 1));
    const MatrixHeader hs = decode_header(image.pixel(0, hrow));
    if (hs != MatrixHeader{kTokenizerHeaderElements, 1})
        return bad(at_header + ": pixel (0, " + std::to_string(hrow) + ") declares a " +
                   std::to_string(hs.rows) + "x" + std::to_string(hs.cols) +
                   " matrix, a tokenizer header is 1x16");
    std::array<uint32_t, kTokenizerHeaderElements> h{};
    for (uint32_t i = 0; i < kTokenizerHeaderElements; ++i)
        h[i] = pixel_word(image.pixel(element_x(i, image.width), uint32_t(element_y(i, hrow, image.width))));
    const auto header_field = [&](uint32_t i) { return at_header + ", " + pixel_text(image, hrow, i); };
    if (h[kMagic] != kTokenizerMagic) return bad(header_field(kMagic) + ": not the magic \"PXTK\"");
    if (h[kVersion] != kTokenizerVersion)
        return bad(header_field(kVersion) + ": version " + std::to_string(h[kVersion]) +
                   " (this reader knows 1)");
    if (h[kPreTokenizer] != uint32_t(PreTokenizer::Gpt2Style))
        return bad(header_field(kPreTokenizer) + ": unknown pre-tokenizer " +
                   std::to_string(int32_t(h[kPreTokenizer])));
    for (uint32_t i = kFirstReserved; i < kTokenizerHeaderElements; ++i)
        if (h[i] != 0) return bad(header_field(i) + ": reserved, must be 0");
    for (uint32_t i : {kVocabSize, kMergeCount, kByteCount})
        if (h[i] > uint32_t(INT32_MAX))
            return bad(header_field(i) + ": negative count " + std::to_string(int32_t(h[i])));
    const uint64_t vocab_size = h[kVocabSize], merge_count = h[kMergeCount], byte_count = h[kByteCount];

    // The three lists: each must sit where the header says, with the shape its count needs, fit
    // in the image, and share no row with the others or the header. Only then is anything sized
    // by a count allocated (a count can then be at most the image's pixels).
    struct List {
        const char* name;
        uint32_t field;       // the header element holding its row
        uint32_t count_field; // the header element holding the count it is sized by
        uint64_t elements;
        uint64_t first = 0, end = 0; // rows [first, end)
    };
    std::array<List, 3> lists = {List{kListNames[0], kMergesRow, kMergeCount, 3 * merge_count},
                                 List{kListNames[1], kOffsetsRow, kVocabSize, vocab_size + 1},
                                 List{kListNames[2], kBytesRow, kByteCount, byte_count}};
    const auto list_where = [&](const List& l) {
        return std::string(l.name) + " (row " + std::to_string(h[l.field]) + ", from " +
               header_field(l.field) + ")";
    };
    for (List& l : lists) {
        const uint32_t row = h[l.field];
        if (row < 1 || row >= image.height)
            return bad(list_where(l) + ": the row is outside the image's rows 1.." +
                       std::to_string(image.height - 1));
        const uint64_t need_rows = list_rows(l.elements, image.width);
        if (row + need_rows > image.height)
            return bad(list_where(l) + ": " + std::to_string(l.elements) + " elements (count at " +
                       pixel_text(image, hrow, l.count_field) + ") need rows " + std::to_string(row) + ".." +
                       std::to_string(row + need_rows - 1) + ", the image has " +
                       std::to_string(image.height) + " rows");
        l.first = row, l.end = row + need_rows;
    }
    const auto overlap = [](uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
        return a0 < b1 && b0 < a1;
    };
    for (size_t i = 0; i < lists.size(); ++i) {
        if (overlap(lists[i].first, lists[i].end, hrow, hrow + 1))
            return bad(std::string(lists[i].name) + " (rows " + std::to_string(lists[i].first) + ".." +
                       std::to_string(lists[i].end - 1) + ") overlaps the header row " +
                       std::to_string(hrow));
        for (size_t j = i + 1; j < lists.size(); ++j)
            if (overlap(lists[i].first, lists[i].end, lists[j].first, lists[j].end))
                return bad(std::string(lists[i].name) + " (rows " + std::to_string(lists[i].first) + ".." +
                           std::to_string(lists[i].end - 1) + ") and " + lists[j].name + " (rows " +
                           std::to_string(lists[j].first) + ".." + std::to_string(lists[j].end - 1) +
                           ") overlap");
    }
    for (const List& l : lists) {
        const uint32_t row = h[l.field];
        const MatrixHeader want = list_shape(l.elements, image.width),
                           got = decode_header(image.pixel(0, row));
        if (got != want)
            return bad(list_where(l) + ": pixel (0, " + std::to_string(row) + ") declares " +
                       std::to_string(got.rows) + "x" + std::to_string(got.cols) + ", " +
                       std::to_string(l.elements) + " elements need " + std::to_string(want.rows) + "x" +
                       std::to_string(want.cols));
    }
    const uint32_t mrow = h[kMergesRow], orow = h[kOffsetsRow], brow = h[kBytesRow];
    const auto word = [&](uint32_t row, uint64_t i) {
        return pixel_word(image.pixel(element_x(i, image.width), uint32_t(element_y(i, row, image.width))));
    };
    // Padding after the last element of each list is 0 (so one tokenizer has one encoding).
    for (const List& l : lists) {
        const uint32_t row = h[l.field];
        const MatrixHeader s = list_shape(l.elements, image.width);
        const bool bytes = l.field == kBytesRow;
        for (uint64_t i = l.elements; i < s.elements(); ++i)
            if (bytes
                    ? image.pixel(element_x(i, image.width), uint32_t(element_y(i, row, image.width)))[0] != 0
                    : word(row, i) != 0)
                return bad(std::string(l.name) + ", " + pixel_text(image, row, i) +
                           ": padding after element " + std::to_string(l.elements) + " must be 0");
    }

    // Offsets: 0, increasing (no empty token), ending at the byte count.
    Bpe bpe;
    bpe.vocab.resize(vocab_size);
    uint32_t prev = word(orow, 0);
    if (prev != 0)
        return bad(std::string(kListNames[1]) + ", " + pixel_text(image, orow, 0) + ": the first offset is " +
                   std::to_string(int32_t(prev)) + ", not 0");
    for (uint64_t t = 0; t < vocab_size; ++t) {
        const uint32_t next = word(orow, t + 1);
        if (next > uint32_t(INT32_MAX) || next <= prev || next > byte_count)
            return bad(std::string(kListNames[1]) + ", " + pixel_text(image, orow, t + 1) + ": offset " +
                       std::to_string(int32_t(next)) + " after " + std::to_string(prev) + " (token " +
                       std::to_string(t) +
                       "): offsets must increase (no token is empty) and stay within the " +
                       std::to_string(byte_count) + " bytes");
        std::string& tok = bpe.vocab[t];
        tok.resize(next - prev);
        for (uint32_t k = prev; k < next; ++k)
            tok[k - prev] =
                char(image.pixel(element_x(k, image.width), uint32_t(element_y(k, brow, image.width)))[0]);
        prev = next;
    }
    if (prev != byte_count)
        return bad(std::string(kListNames[1]) + ", " + pixel_text(image, orow, vocab_size) +
                   ": the last offset is " + std::to_string(prev) + ", the header (" +
                   header_field(kByteCount) + ") says " + std::to_string(byte_count) + " bytes");
    bpe.merges.resize(merge_count);
    for (uint64_t r = 0; r < merge_count; ++r)
        bpe.merges[r] = {int32_t(word(mrow, 3 * r)), int32_t(word(mrow, 3 * r + 1)),
                         int32_t(word(mrow, 3 * r + 2))};
    bpe.pretokenizer = PreTokenizer(int32_t(h[kPreTokenizer]));
    const BpeWhere where = [&](std::string_view kind, uint64_t i) -> std::string {
        if (kind == "merge")
            return std::string(kListNames[0]) + ", merge " + std::to_string(i) + " at " +
                   pixel_text(image, mrow, 3 * i);
        if (kind == "token")
            return std::string(kListNames[1]) + ", token " + std::to_string(i) + " at " +
                   pixel_text(image, orow, i);
        return std::string(kind) + " " + std::to_string(i) + " (tokenizer at row " + std::to_string(hrow) +
               ")";
    };
    if (Status st = finalize_bpe(bpe, where); !st) return bad(st.error().message);
    return bpe;
}

} // namespace px
