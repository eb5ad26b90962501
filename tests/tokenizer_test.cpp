// Tests of engine/text: the pre-tokenizer, BPE training/encoding/decoding, the tokenizer's
// pixel regions (PROTOCOL.md §14) with every forged-table error, and GPT-2's file format.
// Expected values are worked out by hand in the comments, never taken from the code under test.
#include "bpe.h"
#include "debuginfo.h"
#include "dtype.h"
#include "gpt2_bpe.h"
#include "layout.h"
#include "png_io.h"
#include "pretokenize.h"
#include "test_util.h"
#include "tokenizer_image.h"

#include <doctest/doctest.h>
#include <fstream>
#include <random>
#include <sstream>

using namespace px;

namespace {

std::vector<std::string> pieces(std::string_view text) {
    std::vector<std::string> out;
    for_each_piece(text, [&](std::string_view p) { out.emplace_back(p); });
    return out;
}

// 256 byte tokens (id = byte) plus the given merges; results get ids 256, 257, ... and their
// bytes are their parts' bytes.
Bpe hand_bpe(const std::vector<std::pair<std::string, std::string>>& merges) {
    Bpe bpe;
    for (int b = 0; b < 256; ++b)
        bpe.vocab.push_back(std::string(1, char(b)));
    const auto id_of = [&](const std::string& s) {
        for (size_t i = 0; i < bpe.vocab.size(); ++i)
            if (bpe.vocab[i] == s) return int32_t(i);
        FAIL("no token " << s);
        return -1;
    };
    for (const auto& [l, r] : merges) {
        const int32_t li = id_of(l), ri = id_of(r);
        bpe.vocab.push_back(l + r);
        bpe.merges.push_back({li, ri, int32_t(bpe.vocab.size() - 1)});
    }
    REQUIRE(finalize_bpe(bpe).ok());
    return bpe;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string random_bytes(std::mt19937& rng, size_t n) {
    std::string s(n, '\0');
    for (char& c : s)
        c = char(rng() & 0xFF);
    return s;
}

const std::string kSample = "The quick brown fox jumps over the lazy dog. It's 2026, isn't it?\n"
                            "    indented line\twith tabs   and  spaces\n"
                            "Numbers 12345 and 3.14159; the the the fox fox dog.\n"
                            "Unicode: héllo wörld, naïve café — “quotes” €100 日本語 😀\n";

} // namespace

// ---------------------------------------------------------------- pre-tokenizer

TEST_CASE("pre-tokenizer: GPT-2-style pieces") {
    CHECK(pieces("Hello world") == std::vector<std::string>{"Hello", " world"});
    CHECK(pieces("don't we'll I've") == std::vector<std::string>{"don", "'t", " we", "'ll", " I", "'ve"});
    CHECK(pieces("x 123abc") == std::vector<std::string>{"x", " 123", "abc"});
    CHECK(pieces("hi!? ok") == std::vector<std::string>{"hi", "!?", " ok"});
    // Whitespace: all but the last character before a word; the whole run at the end.
    CHECK(pieces("  hi") == std::vector<std::string>{" ", " hi"});
    CHECK(pieces("end   ") == std::vector<std::string>{"end", "   "});
    CHECK(pieces("a\n\nb") == std::vector<std::string>{"a", "\n", "\n", "b"});
    CHECK(pieces("a \nb") == std::vector<std::string>{"a", " ", "\n", "b"});
    CHECK(pieces("a    b") == std::vector<std::string>{"a", "   ", " b"});
    CHECK(pieces(" ") == std::vector<std::string>{" "});
    // An apostrophe that starts no contraction is "other"; a space before it joins it.
    CHECK(pieces("it 'x") == std::vector<std::string>{"it", " '", "x"});
    CHECK(pieces("'S") == std::vector<std::string>{"'", "S"}); // contractions are lower case only
    // Non-ASCII letters, other and numbers.
    CHECK(pieces("héllo wörld") == std::vector<std::string>{"héllo", " wörld"});
    CHECK(pieces("€5 ½") == std::vector<std::string>{"€", "5", " ½"});
    CHECK(pieces("a\xC2\xA0"
                 "b") == std::vector<std::string>{"a", "\xC2\xA0", "b"}); // NBSP is whitespace
    // Invalid UTF-8 bytes are "other" characters, one byte each.
    CHECK(pieces("\xFF\xFE"
                 "ab\x80") == std::vector<std::string>{"\xFF\xFE", "ab", "\x80"});
}

TEST_CASE("pre-tokenizer: character classes and UTF-8 decoding") {
    CHECK(char_class('a') == CharClass::Letter);
    CHECK(char_class('7') == CharClass::Number);
    CHECK(char_class('\t') == CharClass::Space);
    CHECK(char_class('_') == CharClass::Other);
    CHECK(char_class(0xE9) == CharClass::Letter);   // é
    CHECK(char_class(0xA0) == CharClass::Space);    // no-break space
    CHECK(char_class(0x2019) == CharClass::Other);  // right single quotation mark
    CHECK(char_class(0x0663) == CharClass::Number); // Arabic-Indic digit three
    CHECK(char_class(0x4E2D) == CharClass::Letter); // 中
    CHECK(char_class(0x1F600) == CharClass::Other); // 😀
    CHECK(char_class(0x3000) == CharClass::Space);  // ideographic space
    const auto dec = [](std::string_view s) { return decode_utf8(s, 0); };
    CHECK(dec("\xC3\xA9").valid);
    CHECK(dec("\xC3\xA9").cp == 0xE9);
    CHECK(dec("\xF0\x9F\x98\x80").cp == 0x1F600);
    CHECK_FALSE(dec("\xC0\x80").valid);         // overlong
    CHECK_FALSE(dec("\xE0\x80\x80").valid);     // overlong
    CHECK_FALSE(dec("\xED\xA0\x80").valid);     // surrogate
    CHECK_FALSE(dec("\xF4\x90\x80\x80").valid); // above U+10FFFF
    CHECK_FALSE(dec("\xE2\x82").valid);         // truncated
    CHECK(dec("\xE2\x82").len == 1);
}

TEST_CASE("pre-tokenizer: pieces partition any bytes") {
    std::mt19937 rng(7);
    for (int t = 0; t < 200; ++t) {
        std::string s = random_bytes(rng, rng() % 64);
        for (char& c : s) // bias towards spaces, letters and apostrophes so every rule is hit
            if ((uint8_t(c) & 3) == 0) c = " 'a\n"[uint8_t(c) >> 6];
        std::string joined;
        for (const std::string& p : pieces(s)) {
            CHECK_FALSE(p.empty());
            joined += p;
        }
        CHECK(joined == s);
    }
}

// ---------------------------------------------------------------- encoding by rank

TEST_CASE("encode applies merges by rank, not left to right") {
    // Ranks: 0 (c,d)->256 "cd", 1 (a,b)->257 "ab", 2 (b,c)->258 "bc", 3 (ab,cd)->259 "abcd".
    const Bpe bpe = hand_bpe({{"c", "d"}, {"a", "b"}, {"b", "c"}, {"ab", "cd"}});
    // "abcd": pairs ab(1) bc(2) cd(0): cd first -> a b cd; then ab -> ab cd; then rank 3 -> abcd.
    CHECK(encode(bpe, "abcd") == std::vector<int32_t>{259});
    // "abc": ab(1) beats bc(2) -> ab c.
    CHECK(encode(bpe, "abc") == std::vector<int32_t>{257, 'c'});
    // "bcd": cd(0) beats bc(2) although bc is further left -> b cd.
    CHECK(encode(bpe, "bcd") == std::vector<int32_t>{'b', 256});
    // Pieces never merge across: "ab cd" is "ab" and " cd" (space, then c d -> cd).
    CHECK(encode(bpe, "ab cd") == std::vector<int32_t>{257, ' ', 256});
}

TEST_CASE("encode: repeated pairs merge leftmost first, like GPT-2") {
    const Bpe bpe = hand_bpe({{"a", "a"}, {"aa", "aa"}});
    CHECK(encode(bpe, "aaa") == std::vector<int32_t>{256, 'a'});
    CHECK(encode(bpe, "aaaa") == std::vector<int32_t>{257});
    CHECK(encode(bpe, "aaaaa") == std::vector<int32_t>{257, 'a'});
    CHECK(encode(bpe, "aaaaaa") == std::vector<int32_t>{257, 256});
}

TEST_CASE("encode: byte tokens need not have the byte's id") {
    Bpe bpe;
    for (int i = 0; i < 256; ++i) // id i is byte (i + 7) mod 256
        bpe.vocab.push_back(std::string(1, char((i + 7) & 0xFF)));
    bpe.vocab.push_back("hi");
    bpe.merges.push_back({'h' - 7, 'i' - 7, 256});
    REQUIRE(finalize_bpe(bpe).ok());
    CHECK(encode(bpe, "hi") == std::vector<int32_t>{256});
    CHECK(encode(bpe, "ha") == std::vector<int32_t>{'h' - 7, 'a' - 7});
    CHECK(encode(bpe, std::string("\x03", 1)) == std::vector<int32_t>{252});
}

TEST_CASE("decode: bytes of the ids; an id outside the vocabulary is an error naming it") {
    const Bpe bpe = hand_bpe({{"a", "b"}});
    auto s = decode(bpe, std::vector<int32_t>{256, 'c', 0});
    REQUIRE(s.ok());
    CHECK(*s == std::string("abc\0", 4));
    auto bad = decode(bpe, std::vector<int32_t>{'a', 257});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("token 1: id 257 is outside the vocabulary (0..256)") !=
          std::string::npos);
    CHECK_FALSE(decode(bpe, std::vector<int32_t>{-1}).ok());
}

// ---------------------------------------------------------------- training

TEST_CASE("training: a hand-computed example") {
    // One word "aaabdaaabac" (letters only: one piece). Pair counts aa 4, ab 2, others 1:
    // merge aa -> 256. Then Za 2, ab 2 (Z = aa): tie, the smaller pair (97, 98) wins -> 257.
    // Then ZY (Y = ab) 2 -> 258 = (256, 257). Every other pair occurs once: stop (min count 2).
    TrainOptions opt;
    opt.vocab_size = 1000;
    auto bpe = train_bpe("aaabdaaabac", opt);
    REQUIRE(bpe.ok());
    CHECK(bpe->merges == std::vector<BpeMerge>{{97, 97, 256}, {97, 98, 257}, {256, 257, 258}});
    REQUIRE(bpe->vocab.size() == 259);
    CHECK(bpe->vocab[258] == "aaab");
    CHECK(encode(*bpe, "aaabdaaabac") == std::vector<int32_t>{258, 'd', 258, 'a', 'c'});
    // min count 1 keeps merging; vocab_size stops it.
    opt.min_pair_count = 1;
    opt.vocab_size = 260;
    auto more = train_bpe("aaabdaaabac", opt);
    REQUIRE(more.ok());
    CHECK(more->merges.size() == 4);
    // Specials are appended and decode to their bytes; encode never produces them.
    opt.specials = {"<|endoftext|>"};
    opt.vocab_size = 259;
    auto sp = train_bpe("aaabdaaabac", opt);
    REQUIRE(sp.ok());
    CHECK(sp->vocab.size() == 259);
    CHECK(sp->vocab[258] == "<|endoftext|>");
    for (const int32_t id : encode(*sp, "x<|endoftext|>y"))
        CHECK(id != 258);
}

TEST_CASE("training: words are weighted by their counts; pieces never merge across") {
    // "ab ab ab cd": pieces "ab", " ab" (x2), " cd". Pairs: ab 3, " a" 2, " c" 1, cd 1.
    TrainOptions opt;
    opt.vocab_size = 258;
    auto bpe = train_bpe("ab ab ab cd", opt);
    REQUIRE(bpe.ok());
    REQUIRE(bpe->merges.size() == 2);
    CHECK(bpe->merges[0] == BpeMerge{'a', 'b', 256});
    CHECK(bpe->merges[1] == BpeMerge{' ', 256, 257}); // " ab" twice
}

TEST_CASE("training is deterministic and round-trips arbitrary bytes") {
    std::string text;
    for (int i = 0; i < 20; ++i)
        text += kSample;
    TrainOptions opt;
    opt.vocab_size = 350;
    auto a = train_bpe(text, opt);
    auto b = train_bpe(text, opt);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->vocab == b->vocab);
    CHECK(a->merges == b->merges);
    CHECK(a->vocab.size() == 350);
    const std::vector<int32_t> ids = encode(*a, text);
    CHECK(ids.size() < text.size() / 2);
    CHECK(decode(*a, ids).value() == text);
    std::mt19937 rng(11);
    for (int t = 0; t < 100; ++t) {
        const std::string s = random_bytes(rng, rng() % 200) + kSample.substr(rng() % kSample.size());
        const auto back = decode(*a, encode(*a, s));
        REQUIRE(back.ok());
        CHECK(back.value() == s);
    }
    // Long pieces (a run of one class) take the heap path, not the cache.
    const std::string long_word(5000, 'e');
    CHECK(decode(*a, encode(*a, long_word)).value() == long_word);
}

TEST_CASE("training refuses a vocabulary below 256 + specials") {
    TrainOptions opt;
    opt.vocab_size = 256;
    opt.specials = {"<s>"};
    auto r = train_bpe("abc", opt);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("below 256 byte tokens + 1 special") != std::string::npos);
}

// ---------------------------------------------------------------- finalize_bpe

TEST_CASE("finalize_bpe: each inconsistent table is an error naming the entry") {
    const auto err = [](Bpe bpe) {
        const Status st = finalize_bpe(bpe);
        REQUIRE_FALSE(st.ok());
        return st.error().message;
    };
    Bpe base = hand_bpe({{"a", "b"}, {"ab", "c"}}); // 256 "ab", 257 "abc"
    {
        Bpe b = base;
        b.merges[1].left = 258;
        CHECK(err(b).find("merge 1: left id 258 is outside the vocabulary (0..257)") != std::string::npos);
    }
    {
        Bpe b = base;
        std::swap(b.merges[0], b.merges[1]); // "abc" now merged before "ab" exists
        CHECK(err(b).find("merge 0: token 256 is made by merge 1, not before rank 0") != std::string::npos);
    }
    {
        Bpe b = base; // a merge using its own result: a cycle
        b.merges[1].left = 257;
        CHECK(err(b).find("token 257 is made by merge 1, not before rank 1") != std::string::npos);
    }
    {
        Bpe b = base;
        b.merges[1].result = 256;
        CHECK(err(b).find("token 256 is made twice, by merges 0 and 1") != std::string::npos);
    }
    {
        Bpe b = base;
        b.vocab[257] = "abd";
        CHECK(err(b).find("merge 1: token 257's bytes are not those of tokens 256 and 99 joined") !=
              std::string::npos);
    }
    {
        Bpe b = base;
        b.vocab[200] = "A";
        CHECK(err(b).find("byte 0x41 has two byte tokens, ids 65 and 200") != std::string::npos);
    }
    {
        Bpe b = base;
        b.vocab[200] = "zz"; // byte 0xC8 now has no token (200 became special)
        CHECK(err(b).find("byte 0xC8 has no byte token") != std::string::npos);
    }
    {
        Bpe b = base;
        b.vocab.push_back("<s>"); // 258, special
        b.vocab.push_back("<s>a");
        b.merges.push_back({258, 'a', 259});
        CHECK(err(b).find("merge 2: token 258 is a special token") != std::string::npos);
    }
    {
        Bpe b = base; // the same pair twice (two tokens with the same bytes)
        b.vocab.push_back("ab");
        b.merges.push_back({'a', 'b', 258});
        CHECK(err(b).find("merge 2: the pair (97, 98) is merged twice, by ranks 0 and 2") !=
              std::string::npos);
    }
    {
        Bpe b = base;
        b.vocab.push_back("");
        CHECK(err(b).find("token 258 is empty") != std::string::npos);
    }
}

// ---------------------------------------------------------------- pixels

namespace {

Bpe small_trained() {
    std::string text;
    for (int i = 0; i < 5; ++i)
        text += kSample;
    TrainOptions opt;
    opt.vocab_size = 300;
    opt.specials = {"<|endoftext|>"};
    auto bpe = train_bpe(text, opt);
    REQUIRE(bpe.ok());
    return std::move(bpe.value());
}

uint32_t elem_word(const Image& img, uint32_t row, uint64_t i) {
    return pixel_word(img.pixel(element_x(i, img.width), uint32_t(element_y(i, row, img.width))));
}
void set_elem_word(Image& img, uint32_t row, uint64_t i, uint32_t w) {
    img.set_pixel(element_x(i, img.width), uint32_t(element_y(i, row, img.width)), word_pixel(w));
}

} // namespace

TEST_CASE("tokenizer image: layout by hand and round trip") {
    const Bpe bpe = small_trained();
    auto img = make_tokenizer_image(bpe, 64);
    REQUIRE(img.ok());
    // Row 0 is all zero: HALT at pc 0.
    for (uint32_t x = 0; x < 64; ++x)
        CHECK(img->pixel(x, 0) == Rgba{0, 0, 0, 0});
    // Header at row 1: 1x16 i32, magic "PXTK".
    CHECK(img->pixel(0, 1) == Rgba{16, 0, 1, 0});
    CHECK(img->pixel(1, 1) == Rgba{'P', 'X', 'T', 'K'});
    const uint32_t V = uint32_t(bpe.vocab.size()), M = uint32_t(bpe.merges.size());
    CHECK(V == 300);
    CHECK(M == 300 - 256 - 1);
    CHECK(elem_word(*img, 1, 3) == V);
    CHECK(elem_word(*img, 1, 4) == M);
    uint32_t bytes = 0;
    for (const std::string& t : bpe.vocab)
        bytes += uint32_t(t.size());
    CHECK(elem_word(*img, 1, 5) == bytes);
    // The lists follow one another; each list of n elements is min(n, 63) columns wide.
    const uint32_t mrow = elem_word(*img, 1, 6), orow = elem_word(*img, 1, 7), brow = elem_word(*img, 1, 8);
    CHECK(mrow == 2);
    CHECK(decode_header(img->pixel(0, mrow)) == MatrixHeader{63, (3 * M + 62) / 63});
    CHECK(orow == mrow + (3 * M + 62) / 63);
    CHECK(decode_header(img->pixel(0, orow)) == MatrixHeader{63, (V + 1 + 62) / 63});
    CHECK(brow == orow + (V + 1 + 62) / 63);
    CHECK(decode_header(img->pixel(0, brow)) == MatrixHeader{63, (bytes + 62) / 63});
    CHECK(img->height == brow + (bytes + 62) / 63);
    // Merge 0 and the bytes of token 'A' (offset 65: one byte per byte token, in id order).
    CHECK(int32_t(elem_word(*img, mrow, 0)) == bpe.merges[0].left);
    CHECK(int32_t(elem_word(*img, mrow, 2)) == bpe.merges[0].result);
    CHECK(elem_word(*img, orow, 65) == 65);
    CHECK(img->pixel(element_x(65, 64), uint32_t(element_y(65, brow, 64))) == Rgba{'A', 0, 0, 0});
    // Symbols name the four regions.
    const auto regions = program_regions(*img);
    REQUIRE(regions.size() == 4);
    CHECK(regions[0].name == "tokenizer");
    CHECK(regions[3].name == "tokenizer.bytes");
    CHECK(regions[3].row == brow);

    // Round trip, in memory and through a PNG file.
    auto back = read_tokenizer(*img);
    REQUIRE(back.ok());
    CHECK(back->vocab == bpe.vocab);
    CHECK(back->merges == bpe.merges);
    const std::string path = std::string(PXOS_BINARY_DIR) + "/tokenizer_test_roundtrip.pxi";
    REQUIRE(save_png(*img, path).ok());
    auto loaded = load_png(path);
    REQUIRE(loaded.ok());
    auto back2 = read_tokenizer(loaded->image);
    REQUIRE(back2.ok());
    CHECK(back2->merges == bpe.merges);
    CHECK(encode(*back2, kSample) == encode(bpe, kSample));
    // Without symbols the header is found by its magic.
    Image bare = *img;
    bare.text.clear();
    CHECK(find_tokenizer(bare) == std::optional<uint32_t>(1));
    CHECK(read_tokenizer(bare).ok());
}

TEST_CASE("tokenizer image: written below an existing program, the rest untouched") {
    const Bpe bpe = small_trained();
    const uint64_t rows = tokenizer_rows(bpe, 64);
    Image img = make_image(64, uint32_t(5 + rows));
    img.set_pixel(0, 0, {1, 1, 2, 3}); // some instruction
    img.set_pixel(0, 1, encode_header({3, 1}));
    img.set_pixel(1, 1, {9, 0, 0, 0});
    DebugInfo info;
    Region r;
    r.name = "x";
    r.row = 1;
    r.shape = {3, 1};
    info.regions.push_back(r);
    write_debug_info(img, info);
    const Image before = img;
    auto lay = write_tokenizer(img, 5, bpe);
    REQUIRE(lay.ok());
    CHECK(lay->header_row == 5);
    CHECK(lay->end_row == img.height);
    CHECK(std::equal(img.rgba.begin(), img.rgba.begin() + 5 * 64 * 4, before.rgba.begin()));
    const auto regions = program_regions(img);
    REQUIRE(regions.size() == 5);
    CHECK(regions[0].name == "x");
    CHECK(regions[1].name == "tokenizer");
    CHECK(read_tokenizer(img, 5).ok());
    // Too little room: refused, image unchanged.
    Image small = make_image(64, uint32_t(4 + rows));
    const Image small_before = small;
    auto refused = write_tokenizer(small, 5, bpe);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("the tokenizer needs rows 5..") != std::string::npos);
    CHECK(small.rgba == small_before.rgba);
    CHECK_FALSE(write_tokenizer(small, 0, bpe).ok());
    Image narrow = make_image(16, 100);
    CHECK_FALSE(write_tokenizer(narrow, 1, bpe).ok());
}

TEST_CASE("tokenizer image: every forged table is an error naming the row or pixel") {
    const Bpe bpe = small_trained();
    auto made = make_tokenizer_image(bpe, 64);
    REQUIRE(made.ok());
    const Image good = std::move(made.value());
    const uint32_t mrow = elem_word(good, 1, 6), orow = elem_word(good, 1, 7), brow = elem_word(good, 1, 8);
    const uint32_t V = uint32_t(bpe.vocab.size()), M = uint32_t(bpe.merges.size());
    const auto err = [](const Image& img) {
        auto r = read_tokenizer(img, 1);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::Invalid);
        return r.error().message;
    };
    const auto has = [](const std::string& msg, const std::string& part) {
        INFO(msg);
        CHECK(msg.find(part) != std::string::npos);
    };
    const auto forged = [&](auto edit) {
        Image img = good;
        edit(img);
        return err(img);
    };
    // The header.
    has(forged([](Image& i) { set_elem_word(i, 1, 0, 0x4B545851); }),
        "header row 1, pixel (1, 1): not the magic");
    has(forged([](Image& i) { set_elem_word(i, 1, 1, 2); }), "pixel (2, 1): version 2");
    has(forged([](Image& i) { set_elem_word(i, 1, 2, 7); }), "unknown pre-tokenizer 7");
    has(forged([](Image& i) { set_elem_word(i, 1, 12, 1); }), "pixel (13, 1): reserved, must be 0");
    has(forged([](Image& i) { set_elem_word(i, 1, 4, 0xFFFFFFFF); }), "pixel (5, 1): negative count -1");
    has(forged([](Image& i) {
            i.set_pixel(0, 1, encode_header({15, 1}));
        }),
        "declares a 1x15 matrix, a tokenizer header is 1x16");
    // Counts that claim more than the image holds.
    has(forged([](Image& i) { set_elem_word(i, 1, 5, 1u << 30); }),
        "tokenizer.bytes (row " + std::to_string(brow) +
            ", from header row 1, pixel (9, 1)): 1073741824 elements (count at pixel (6, 1)) need rows");
    has(forged([](Image& i) { set_elem_word(i, 1, 3, 100000); }),
        "100001 elements (count at pixel (4, 1)) need");
    has(forged([](Image& i) { set_elem_word(i, 1, 4, 5000); }),
        "15000 elements (count at pixel (5, 1)) need");
    // Lists: rows outside the image, headers that disagree with the counts, overlaps, padding.
    has(forged([](Image& i) { set_elem_word(i, 1, 6, 0); }), "the row is outside the image's rows");
    has(forged([&](Image& i) { set_elem_word(i, 1, 8, i.height); }), "the row is outside the image's rows");
    has(forged([&](Image& i) {
            i.set_pixel(0, orow, encode_header({62, 5}));
        }),
        "pixel (0, " + std::to_string(orow) + ") declares 5x62, " + std::to_string(V + 1) + " elements need");
    has(forged([&](Image& i) { // bytes list moved up into the offsets list's last (continuation) row
            set_elem_word(i, 1, 8, brow - 1);
            i.set_pixel(0, brow - 1, i.pixel(0, brow));
        }),
        "overlap");
    has(forged([&](Image& i) { set_elem_word(i, 1, 6, 1); }), "overlaps the header row 1");
    {
        const uint64_t pad = 3 * uint64_t(M); // first padding element of the merges list
        REQUIRE(pad % 63 != 0);
        has(forged([&](Image& i) { set_elem_word(i, mrow, pad, 1); }),
            "padding after element " + std::to_string(pad) + " must be 0");
    }
    // Offsets.
    has(forged([&](Image& i) { set_elem_word(i, orow, 0, 1); }), "the first offset is 1, not 0");
    has(forged([&](Image& i) { set_elem_word(i, orow, 10, 9); }),
        "tokenizer.offsets, pixel (11, " + std::to_string(orow) +
            "): offset 9 after 9 (token 9): offsets must increase");
    has(forged([&](Image& i) { set_elem_word(i, orow, 10, 0x80000000u); }), "offset -2147483648 after 9");
    has(forged([&](Image& i) { set_elem_word(i, orow, V, elem_word(i, orow, V) + 5); }), "stay within the");
    // Merges (pixel of the merge's first element named).
    const std::string m0 = "tokenizer.merges, merge 0 at pixel (1, " + std::to_string(mrow) + ")";
    has(forged([&](Image& i) { set_elem_word(i, mrow, 0, 70000); }),
        m0 + ": left id 70000 is outside the vocabulary");
    has(forged([&](Image& i) { set_elem_word(i, mrow, 1, 0xFFFFFFFF); }), m0 + ": right id -1 is outside");
    has(forged([&](Image& i) { set_elem_word(i, mrow, 0, uint32_t(bpe.merges[1].result)); }),
        m0 + ": token " + std::to_string(bpe.merges[1].result) + " is made by merge 1, not before rank 0");
    has(forged([&](Image& i) { set_elem_word(i, mrow, 3 * 1 + 2, uint32_t(bpe.merges[0].result)); }),
        "is made twice, by merges 0 and 1");
    has(forged([&](Image& i) { set_elem_word(i, mrow, 0, V - 1); }), "is a special token");
    // Bytes: a changed byte breaks a byte token or a merged token's bytes.
    has(forged([&](Image& i) { i.at(element_x(66, 64), uint32_t(element_y(66, brow, 64)))[0] = 'A'; }),
        "tokenizer.offsets, token 66 at pixel (4, " + std::to_string(orow + 1) +
            "): byte 0x41 has two byte tokens, ids 65 and 66");
    {
        const BpeMerge m = bpe.merges[0];
        const uint32_t off = elem_word(good, orow, uint32_t(m.result));
        has(forged([&](Image& i) { i.at(element_x(off, 64), uint32_t(element_y(off, brow, 64)))[0] ^= 1; }),
            m0 + ": token " + std::to_string(m.result) + "'s bytes are not those of tokens");
    }
    // No tokenizer at all.
    {
        Image plain = make_image(64, 4);
        auto r = read_tokenizer(plain);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("no tokenizer in this image") != std::string::npos);
        CHECK_FALSE(read_tokenizer(plain, 9).ok());
        Image narrow = make_image(8, 4);
        CHECK(read_tokenizer(narrow, 1).error().message.find("8 pixels wide") != std::string::npos);
    }
    // A pair merged twice (two tokens with the same bytes): written unchecked, refused on read.
    {
        Bpe dup = hand_bpe({{"a", "b"}});
        dup.vocab.push_back("ab");
        dup.merges.push_back({'a', 'b', 257});
        auto img = make_tokenizer_image(dup, 64);
        REQUIRE(img.ok());
        has(err(*img), "merge 1 at pixel (4, ");
        has(err(*img), "the pair (97, 98) is merged twice, by ranks 0 and 1");
    }
}

TEST_CASE("tokenizer image: random pixel damage never crashes and is found or harmless") {
    const Bpe bpe = small_trained();
    auto made = make_tokenizer_image(bpe, 64);
    REQUIRE(made.ok());
    std::mt19937 rng(5);
    int refused = 0;
    for (int t = 0; t < 300; ++t) {
        Image img = *made;
        for (int k = 0; k < 3; ++k)
            img.rgba[rng() % img.rgba.size()] = uint8_t(rng());
        auto r = read_tokenizer(img, 1);
        if (!r.ok()) {
            ++refused;
            CHECK_FALSE(r.error().message.empty());
            continue;
        }
        // Accepted: it must still be a working tokenizer.
        CHECK(decode(*r, encode(*r, kSample)).value() == kSample);
    }
    CHECK(refused > 0);
}

// ---------------------------------------------------------------- GPT-2 files

TEST_CASE("GPT-2 byte-to-unicode table") {
    CHECK(gpt2_byte_to_unicode('!') == '!');
    CHECK(gpt2_byte_to_unicode(0) == 256);
    CHECK(gpt2_byte_to_unicode(' ') == 0x120);  // Ġ: the 33rd non-printable byte
    CHECK(gpt2_byte_to_unicode('\n') == 0x10A); // Ċ
    CHECK(gpt2_byte_to_unicode(0xAD) == 0x143); // the soft hyphen is not printable
    CHECK(gpt2_byte_to_unicode(0xFF) == 0xFF);
}

TEST_CASE("GPT-2 files: a tiny hand-written encoder.json and vocab.bpe (tests/data/gpt2_tiny)") {
    const std::string enc = read_all(pxtest::source_path("tests/data/gpt2_tiny/encoder.json"));
    const std::string merges = read_all(pxtest::source_path("tests/data/gpt2_tiny/vocab.bpe"));
    auto bpe = load_gpt2_bpe(enc, merges);
    REQUIRE(bpe.ok());
    CHECK(bpe->vocab.size() == 266);
    CHECK(bpe->merges.size() == 9);
    CHECK(bpe->vocab[220] == " ");
    CHECK(bpe->vocab[258] == " the");
    CHECK(bpe->vocab[265] == "<|endoftext|>");
    // Worked out in tests/data/README.md: " the" -> 258; " cat" -> Ġc (rank 7) then at (rank 8);
    // " and" -> nd (rank 4), Ġa (5), Ġand (6); " in" -> Ġ, in.
    CHECK(encode(*bpe, " the cat and in") == std::vector<int32_t>{258, 263, 264, 262, 220, 259});
    CHECK(decode(*bpe, std::vector<int32_t>{265, 258}).value() == "<|endoftext|> the");
    for (const int32_t id : encode(*bpe, "<|endoftext|>"))
        CHECK(id != 265);
    // Through pixels and back.
    auto img = make_tokenizer_image(*bpe);
    REQUIRE(img.ok());
    auto back = read_tokenizer(*img);
    REQUIRE(back.ok());
    CHECK(back->vocab == bpe->vocab);
    CHECK(back->merges == bpe->merges);
}

TEST_CASE("GPT-2 files: malformed input is an error naming the file and line") {
    const std::string enc = read_all(pxtest::source_path("tests/data/gpt2_tiny/encoder.json"));
    const auto msg = [](Result<Bpe> r) {
        REQUIRE_FALSE(r.ok());
        return r.error().message;
    };
    CHECK(msg(load_gpt2_bpe("{", "")).find("encoder.json: not valid JSON") != std::string::npos);
    CHECK(msg(load_gpt2_bpe("[1]", "")).find("not a JSON object") != std::string::npos);
    CHECK(msg(load_gpt2_bpe(enc, "#version: 0.2\nĠ zz\n")).find("vocab.bpe:2: \"zz\" is not a token") !=
          std::string::npos);
    CHECK(msg(load_gpt2_bpe(enc, "#version: 0.2\nĠt\n")).find("vocab.bpe:2: expected two tokens") !=
          std::string::npos);
    CHECK(msg(load_gpt2_bpe(enc, "#version: 0.2\nĠt he\n"))
              .find("vocab.bpe:2 (merge 0): token 256 is a special") != std::string::npos);
    CHECK(msg(load_gpt2_bpe(R"({"a": 0, "b": 0})", "")).find("id 0 is given twice") != std::string::npos);
    CHECK(msg(load_gpt2_bpe(R"({"a": 5})", "")).find("must be an integer 0..0") != std::string::npos);
    CHECK(msg(load_gpt2_bpe(R"({" ": 0})", "")).find("not in GPT-2's byte-to-unicode table") !=
          std::string::npos);
    CHECK(msg(load_gpt2_bpe(R"({"a": 0})", "")).find("has no byte token") != std::string::npos);
}

TEST_CASE("the fuzz seeds hold tokenizers the reader accepts") {
    // tests/fuzz/fuzz_tokenizer.cpp's raw format: width (2 bytes, little-endian), RGBA rows.
    for (const char* name : {"trained_w32", "gpt2_tiny_w40"}) {
        const std::string raw =
            read_all(pxtest::source_path(std::string("tests/fuzz/seeds/tokenizer/") + name));
        REQUIRE(raw.size() > 2);
        const uint32_t width = uint8_t(raw[0]) | uint32_t(uint8_t(raw[1])) << 8;
        const uint32_t height = uint32_t((raw.size() - 2) / 4 / width);
        Image img = make_image(width, height);
        std::copy(raw.begin() + 2, raw.begin() + 2 + size_t(width) * height * 4, img.rgba.begin());
        auto bpe = read_tokenizer(img);
        REQUIRE_MESSAGE(bpe.ok(), name);
        CHECK(decode(*bpe, encode(*bpe, kSample)).value() == kSample);
    }
}
