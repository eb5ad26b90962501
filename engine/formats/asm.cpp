// asm.cpp — the .pxasm assembler and disassembler (format: docs/pxasm.md).
//
// Three stages. parse(): text to a statement list, touching nothing outside the text (data
// sources are recorded, not read). resolve(): every matrix's values (.npy files read, seeded
// random data generated), with errors naming the declaration's line. Then layout for a width
// (rows from px::allocate_rows, instructions encoded with WIDE prefixes where needed), then
// pixels. Without `.width` the layout is tried for each power of two from 16 up and the first that
// keeps every matrix header row <= 255 wins; layout_for reports why a width fails as a typed value.
// Typed matrices (f32, f16, i32) hold element bits, parsed from literals that the disassembler
// writes back exactly (parse_element_literal / element_literal), and are written as whole pixels.
#include "asm.h"

#include "npy.h"
#include "ops/opdef.h"
#include "protocol.h"
#include "typing.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <variant>

namespace px {

namespace {

// ---------------------------------------------------------------------------------------------
// Element literals of typed matrices (parse_element_literal, element_literal below)

// The binary16 value nearest to d, ties to even, with subnormals; |d| that rounds to 65536 or more
// gives inf, a NaN the canonical 0x7E00. Scaling by powers of two is exact, so the only rounding is
// rint's (the default rounding mode: to nearest even). With the exponent clamped at -14 the same
// formula gives subnormals (N < 1024 is the encoding itself), the carry into the next exponent
// (N = 2048), and inf (exponent 15 carrying into 31).
uint16_t f16_from_double(double d) {
    const uint32_t sign = std::signbit(d) ? 0x8000u : 0u;
    if (std::isnan(d)) return 0x7E00u;
    const double x = std::fabs(d);
    if (std::isinf(x)) return uint16_t(sign | 0x7C00u);
    if (x == 0) return uint16_t(sign);
    int e2 = 0;
    std::frexp(x, &e2); // x = f * 2^e2, f in [0.5, 1): the binary exponent is e2 - 1
    const int e = e2 - 1;
    if (e >= 16) return uint16_t(sign | 0x7C00u);
    const int ec = std::max(e, -14);
    const int64_t n = int64_t(std::rint(std::ldexp(x, 10 - ec))); // 0 .. 2048
    return uint16_t(sign | uint32_t(((ec + 15) << 10) + n - 1024));
}

// The exact value of a binary16 pattern (not NaN, not inf) as a double.
double f16_value(uint16_t h) {
    const uint32_t e = h >> 10 & 31, m = h & 1023;
    const double mag = e ? std::ldexp(double(m | 1024), int(e) - 25) : std::ldexp(double(m), -24);
    return h & 0x8000 ? -mag : mag;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// sign? (digits ('.' digits?)? | '.' digits) (('e'|'E') sign? digits)?
bool decimal_syntax(std::string_view s) {
    size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t digits = 0;
    while (i < s.size() && is_digit(s[i]))
        ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(s[i]))
            ++i, ++digits;
    }
    if (digits == 0) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        size_t exp_digits = 0;
        while (i < s.size() && is_digit(s[i]))
            ++i, ++exp_digits;
        if (exp_digits == 0) return false;
    }
    return i == s.size();
}

// Whether a token inside a typed value list reads as an attempt at a literal (so that a list left
// open is told apart from the next statement).
bool looks_like_literal(std::string_view s) {
    if (s.empty()) return false;
    const char c = s[0];
    return is_digit(c) || c == '+' || c == '-' || c == '.' || s.substr(0, 3) == "inf" ||
           s.substr(0, 3) == "nan";
}

// ---------------------------------------------------------------------------------------------
// Tokens

struct Token {
    enum Kind { Word, Number, String, Punct } kind = Word;
    std::string text;
    uint64_t number = 0;
    bool number_ok = false; // Number: fits in 64 bits
    int line = 0;
};

bool is_punct(char c) {
    return c == ',' || c == '[' || c == ']' || c == '@' || c == '=';
}

bool parse_uint(const std::string& s, uint64_t& out) {
    if (s.empty()) return false;
    int base = 10;
    size_t i = 0;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, i = 2;
    uint64_t v = 0;
    for (; i < s.size(); ++i) {
        int d;
        const char c = s[i];
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        if (v > (UINT64_MAX - uint64_t(d)) / uint64_t(base)) return false;
        v = v * uint64_t(base) + uint64_t(d);
    }
    out = v;
    return true;
}

struct Lexer {
    std::string file;
    std::optional<Error> error;

    Error err(int line, const std::string& msg) {
        return make_error(ErrorCode::Syntax, file + ":" + std::to_string(line) + ": " + msg);
    }

    // Tokens of one line (comments stripped).
    std::vector<Token> line_tokens(std::string_view text, int line) {
        std::vector<Token> out;
        size_t i = 0;
        while (i < text.size()) {
            const char c = text[i];
            if (c == ';' || c == '#') break;
            if (std::isspace(static_cast<unsigned char>(c))) {
                ++i;
                continue;
            }
            Token t;
            t.line = line;
            if (c == '"') {
                size_t end = text.find('"', i + 1);
                if (end == std::string_view::npos) {
                    error = err(line, "unterminated string");
                    return {};
                }
                t.kind = Token::String;
                t.text = std::string(text.substr(i + 1, end - i - 1));
                i = end + 1;
            } else if (is_punct(c)) {
                t.kind = Token::Punct;
                t.text = std::string(1, c);
                ++i;
            } else {
                size_t end = i;
                while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
                       !is_punct(text[end]) && text[end] != ';' && text[end] != '#' && text[end] != '"')
                    ++end;
                t.text = std::string(text.substr(i, end - i));
                if (std::isdigit(static_cast<unsigned char>(c))) {
                    t.kind = Token::Number;
                    t.number_ok = parse_uint(t.text, t.number);
                }
                i = end;
            }
            out.push_back(std::move(t));
        }
        return out;
    }
};

// ---------------------------------------------------------------------------------------------
// Statements

// Where a matrix's values come from, as written; resolve() turns it into bytes.
struct DataSource {
    enum Kind { None, Zeros, Fill, Random, Npy, List } kind = None;
    uint8_t fill = 0;
    uint32_t fill_bits = 0; // Fill of a typed matrix: the element's bits
    uint64_t seed = 0, max = 255;
    std::string npy_path;        // as written (relative to AsmOptions::base_dir)
    std::vector<uint8_t> values; // List
    std::vector<uint32_t> typed; // List of a typed matrix: each element's bits
};

struct MatrixDecl {
    std::string name;
    int line = 0;
    bool scalar = false;
    MatrixHeader shape;
    std::optional<uint32_t> row; // explicit placement
    std::optional<double> scale;
    std::optional<int32_t> zero_point;
    std::optional<DType> dtype; // as declared (recorded in the symbols); absent: u8
    DataSource source;
    std::vector<uint8_t> data;   // resolved u8 values (empty for scalars), filled by resolve()
    std::vector<uint32_t> elems; // resolved element bits of a typed (non-u8) matrix
    DType type() const { return dtype.value_or(DType::U8); }
    bool typed() const { return type() != DType::U8; }
    uint64_t pixels() const { return dtype_pixels(type(), shape.elements()); }
};

struct Operand {
    bool named = false;
    std::string name;
    uint64_t row = 0;
    int line = 0;
};

struct CodeItem { // one instruction or one raw row-0 pixel, in order
    int line = 0;
    const OpcodeInfo* info = nullptr; // nullptr: raw pixel
    bool force_wide = false;
    std::vector<Operand> operands; // one per non-None operand of info
    std::vector<Rgba> params;
    Rgba raw{};
    std::string label; // a label definition "name:" (no pixels): the x of the next code item
    // Parameter pixels written "@name": (x lo, x hi, 0, 0) of that label (a LOOP target).
    std::vector<std::pair<uint32_t, std::string>> label_params;
};

struct RawWrite { // .rgba / .hex
    int line = 0;
    uint32_t x = 0, y = 0;
    std::vector<Rgba> pixels;
};

struct Program {
    std::optional<uint32_t> width, height;
    int width_line = 0, height_line = 0;
    std::vector<MatrixDecl> matrices;
    std::vector<CodeItem> code;
    std::vector<RawWrite> raw;
};

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

bool is_identifier(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
}

class Parser {
  public:
    Parser(std::string_view source, const AsmOptions& options) : source_(source), options_(options) {
        lex_.file = options.file_name;
    }

    Result<Program> parse() {
        // Split into lines, keep 1-based numbers.
        size_t start = 0;
        int line = 0;
        while (start <= source_.size()) {
            size_t end = source_.find('\n', start);
            if (end == std::string_view::npos) end = source_.size();
            lines_.push_back(lex_.line_tokens(source_.substr(start, end - start), ++line));
            if (lex_.error) return *lex_.error;
            start = end + 1;
        }
        for (li_ = 0; li_ < lines_.size(); ++li_) {
            toks_ = lines_[li_];
            pos_ = 0;
            if (toks_.empty()) continue;
            Status st = statement();
            if (!st) return st.error();
        }
        return std::move(prog_);
    }

  private:
    std::string_view source_;
    AsmOptions options_;
    Lexer lex_;
    std::vector<std::vector<Token>> lines_;
    size_t li_ = 0;
    std::vector<Token> toks_;
    size_t pos_ = 0;
    Program prog_;
    std::set<std::string> names_;
    std::set<std::string> labels_;

    int line() const {
        return pos_ < toks_.size() ? toks_[pos_].line : (toks_.empty() ? 0 : toks_.back().line);
    }
    Error err(const std::string& msg) {
        std::string where = options_.file_name + ":" + std::to_string(line()) + ": ";
        if (pos_ < toks_.size())
            return make_error(ErrorCode::Syntax, where + msg + " at '" + toks_[pos_].text + "'");
        return make_error(ErrorCode::Syntax, where + msg + " at end of line");
    }
    Error semantic(int at_line, const std::string& msg) {
        return make_error(ErrorCode::Semantic,
                          options_.file_name + ":" + std::to_string(at_line) + ": " + msg);
    }
    bool at_end() const { return pos_ >= toks_.size(); }
    bool peek_punct(char c) const {
        return pos_ < toks_.size() && toks_[pos_].kind == Token::Punct && toks_[pos_].text[0] == c;
    }
    bool peek_word(const char* w) const {
        return pos_ < toks_.size() && toks_[pos_].kind == Token::Word && toks_[pos_].text == w;
    }
    // Continues a bracketed list onto the next lines.
    bool next_line_for_list() {
        while (at_end() && li_ + 1 < lines_.size()) {
            toks_ = lines_[++li_];
            pos_ = 0;
        }
        return !at_end();
    }

    Result<uint64_t> number(uint64_t max, const char* what) {
        if (at_end() || toks_[pos_].kind != Token::Number) return err(std::string("expected ") + what);
        if (!toks_[pos_].number_ok || toks_[pos_].number > max)
            return err(std::string(what) + " out of range 0.." + std::to_string(max));
        return toks_[pos_++].number;
    }
    Status expect_punct(char c) {
        if (!peek_punct(c)) return err(std::string("expected '") + c + "'");
        ++pos_;
        return Ok{};
    }
    Status end_of_statement() {
        if (!at_end()) return err("unexpected token");
        return Ok{};
    }
    // "x, y" of a raw pixel write (.rgba, .hex).
    Status raw_position(RawWrite& r) {
        auto x = number(kMaxDimension - 1, "x");
        if (!x) return x.error();
        Status st = expect_punct(',');
        if (!st) return st;
        auto y = number(kMaxDimension - 1, "y");
        if (!y) return y.error();
        r.x = uint32_t(*x), r.y = uint32_t(*y);
        return Ok{};
    }

    Result<Rgba> rgba_list() { // r, g, b, a
        Rgba v{};
        for (int k = 0; k < 4; ++k) {
            if (k > 0) {
                Status st = expect_punct(',');
                if (!st) return st.error();
            }
            auto n = channel_value();
            if (!n) return n.error();
            v[k] = *n;
        }
        return v;
    }

    // One channel of a pixel: 0..255, or a name the disassembler prints for a parameter
    // pixel's channel (a dtype u8/f32/f16/i32, an activation none/relu/gelu;
    // OpDef::param_channel_text).
    Result<uint8_t> channel_value() {
        if (!at_end() && toks_[pos_].kind == Token::Word) {
            if (auto named = param_channel_value(toks_[pos_].text)) {
                ++pos_;
                return uint8_t(*named);
            }
            return err("expected a channel value (0..255, a dtype u8/f32/f16/i32 or an activation "
                       "none/relu/gelu), got '" +
                       toks_[pos_].text + "'");
        }
        auto n = number(255, "channel value");
        if (!n) return n.error();
        return uint8_t(*n);
    }

    Status statement() {
        const Token& head = toks_[0];
        if (head.kind != Token::Word) return err("expected a directive, declaration or mnemonic");
        pos_ = 1;
        const std::string& w = head.text;
        if (w == ".width" || w == ".height") {
            auto n = number(kMaxDimension, w == ".width" ? "width" : "height");
            if (!n) return n.error();
            if (*n == 0) return err("must be at least 1");
            if (w == ".width") {
                if (prog_.width) return semantic(head.line, ".width given twice");
                prog_.width = uint32_t(*n), prog_.width_line = head.line;
            } else {
                if (prog_.height) return semantic(head.line, ".height given twice");
                prog_.height = uint32_t(*n), prog_.height_line = head.line;
            }
            return end_of_statement();
        }
        if (w == "matrix" || w == "scalar") return declaration(w == "scalar");
        if (w == ".pixel") {
            CodeItem item;
            item.line = head.line;
            auto v = rgba_list();
            if (!v) return v.error();
            item.raw = *v;
            prog_.code.push_back(item);
            return end_of_statement();
        }
        if (w == ".rgba") {
            RawWrite r;
            r.line = head.line;
            Status st = raw_position(r);
            if (!st) return st;
            st = expect_punct(',');
            if (!st) return st;
            auto v = rgba_list();
            if (!v) return v.error();
            r.pixels = {*v};
            prog_.raw.push_back(std::move(r));
            return end_of_statement();
        }
        if (w == ".hex") {
            RawWrite r;
            r.line = head.line;
            Status st = raw_position(r);
            if (!st) return st;
            if (at_end()) return err("expected hex pixels");
            const std::string hex = toks_[pos_].text;
            if (hex.size() % 8 != 0) return err("hex pixels need 8 digits each");
            for (size_t i = 0; i < hex.size(); i += 8) {
                Rgba p{};
                for (int k = 0; k < 4; ++k) {
                    uint64_t v;
                    if (!parse_uint("0x" + hex.substr(i + 2 * k, 2), v)) return err("bad hex digit");
                    p[k] = uint8_t(v);
                }
                r.pixels.push_back(p);
            }
            ++pos_;
            if (uint64_t(r.x) + r.pixels.size() > kMaxDimension)
                return err("pixels run past the largest width");
            prog_.raw.push_back(std::move(r));
            return end_of_statement();
        }
        if (!w.empty() && w[0] == '.') {
            pos_ = 0;
            return err("unknown directive");
        }
        if (w.size() > 1 && w.back() == ':') { // "name:" labels the next instruction (LOOP targets)
            const std::string label = w.substr(0, w.size() - 1);
            if (!is_identifier(label)) return err("expected a label name (letters, digits, _) before ':'");
            if (!labels_.insert(label).second)
                return semantic(head.line, "label '" + label + "' is defined twice");
            CodeItem item;
            item.line = head.line;
            item.label = label;
            prog_.code.push_back(std::move(item));
            return end_of_statement();
        }
        return instruction();
    }

    // matrix NAME RxC [attributes] DATA [attributes] | scalar NAME [@ row N]
    Status declaration(bool scalar) {
        MatrixDecl d;
        d.line = toks_[0].line;
        d.scalar = scalar;
        if (at_end() || toks_[pos_].kind != Token::Word || !is_identifier(toks_[pos_].text))
            return err("expected a name (letters, digits, _)");
        d.name = toks_[pos_++].text;
        if (names_.count(d.name)) return semantic(d.line, "'" + d.name + "' is declared twice");
        names_.insert(d.name);
        if (!scalar)
            if (Status st = shape(d); !st) return st;
        if (Status st = attributes(d); !st) return st; // any order, before or after the data
        if (scalar) {
            prog_.matrices.push_back(std::move(d));
            return end_of_statement();
        }
        if (d.shape.elements() > uint64_t(kMaxDimension) * kMaxDimension)
            return semantic(d.line, "matrix '" + d.name + "' is too large");
        if (Status st = data_source(d); !st) return st;
        if (Status st = attributes(d); !st) return st;
        prog_.matrices.push_back(std::move(d));
        return end_of_statement();
    }

    Status shape(MatrixDecl& d) {
        if (at_end()) return err("expected a shape ROWSxCOLS");
        const std::string s = toks_[pos_].text;
        const size_t x = s.find_first_of("xX");
        uint64_t r, c;
        if (x == std::string::npos || !parse_uint(s.substr(0, x), r) || !parse_uint(s.substr(x + 1), c))
            return err("expected a shape ROWSxCOLS");
        if (r < 1 || c < 1 || r > 65535 || c > 65535) return err("shape dimensions must be 1..65535");
        d.shape = {uint32_t(c), uint32_t(r)};
        ++pos_;
        return Ok{};
    }

    // "@ [row] N", "scale X", "zero_point Z", in any order.
    Status attributes(MatrixDecl& d) {
        for (;;) {
            if (peek_punct('@')) {
                ++pos_;
                if (peek_word("row")) ++pos_;
                auto n = number(65535, "row");
                if (!n) return n.error();
                if (*n < 1) return err("row must be at least 1");
                d.row = uint32_t(*n);
            } else if (!d.scalar && peek_word("scale")) {
                ++pos_;
                if (at_end()) return err("expected a number");
                const std::string t = toks_[pos_].text;
                char* endp = nullptr;
                const double v = std::strtod(t.c_str(), &endp);
                if (t.empty() || *endp != '\0') return err("expected a number");
                d.scale = v;
                ++pos_;
            } else if (!d.scalar && peek_word("zero_point")) {
                ++pos_;
                auto n = number(255, "zero_point");
                if (!n) return n.error();
                d.zero_point = int32_t(*n);
            } else if (!d.scalar && !at_end() && toks_[pos_].kind == Token::Word &&
                       parse_dtype(toks_[pos_].text)) {
                // The element type: before the data, which is read as literals of that type.
                if (d.dtype) return err("the element type of '" + d.name + "' is given twice");
                if (d.source.kind != DataSource::None) return err("the element type comes before the data");
                d.dtype = parse_dtype(toks_[pos_++].text);
            } else {
                return Ok{};
            }
        }
    }

    // zeros | fill V | random SEED [max M] | npy "file" | [ values ]: recorded, resolved later.
    Status data_source(MatrixDecl& d) {
        DataSource& src = d.source;
        if (peek_word("zeros")) {
            ++pos_;
            src.kind = DataSource::Zeros;
        } else if (peek_word("fill")) {
            ++pos_;
            src.kind = DataSource::Fill;
            if (d.typed()) {
                auto v = literal(d);
                if (!v) return v.error();
                src.fill_bits = *v;
                return Ok{};
            }
            auto v = u8_value("fill value");
            if (!v) return v.error();
            src.fill = uint8_t(*v);
        } else if (peek_word("random")) {
            if (d.typed())
                return err("random data is for u8 matrices; '" + d.name + "' is " +
                           std::string(dtype_name(d.type())));
            ++pos_;
            auto seed = number(UINT64_MAX, "seed");
            if (!seed) return seed.error();
            src.kind = DataSource::Random;
            src.seed = *seed;
            if (peek_word("max")) {
                ++pos_;
                auto m = number(255, "max");
                if (!m) return m.error();
                src.max = *m;
            }
        } else if (peek_word("npy")) {
            ++pos_;
            if (at_end() || toks_[pos_].kind != Token::String) return err("expected a quoted file name");
            src.kind = DataSource::Npy;
            src.npy_path = toks_[pos_++].text;
        } else if (peek_punct('[') || peek_punct('=')) {
            if (peek_punct('=')) ++pos_;
            return value_list(d);
        } else {
            return err("expected data: zeros, fill V, random SEED [max M], npy \"file\" or [ values ]");
        }
        return Ok{};
    }

    // [ v v v ... ] across lines. A list still open when a line starts with something that is not a
    // value (the next statement) is reported at the line of its '['.
    Status value_list(MatrixDecl& d) {
        const int open_line = line();
        if (Status st = expect_punct('['); !st) return st;
        DataSource& src = d.source;
        src.kind = DataSource::List;
        const uint64_t n = d.shape.elements();
        src.values.reserve(size_t(std::min<uint64_t>(n, 1u << 20)));
        for (;;) {
            if (!next_line_for_list())
                return semantic(open_line, "'[' of matrix '" + d.name + "' is not closed with ']'");
            if (peek_punct(']')) {
                ++pos_;
                break;
            }
            if (peek_punct(',')) {
                ++pos_;
                continue;
            }
            const Token& t = toks_[pos_];
            const bool value_like = d.typed() ? looks_like_literal(t.text) : t.kind == Token::Number;
            if (!value_like && t.line != open_line)
                return semantic(open_line, "'[' of matrix '" + d.name + "' is not closed with ']' (line " +
                                               std::to_string(t.line) + " starts '" + t.text + "')");
            if (d.typed()) {
                auto v = literal(d);
                if (!v) return v.error();
                src.typed.push_back(*v);
                continue;
            }
            auto v = u8_value("value");
            if (!v) return v.error();
            src.values.push_back(uint8_t(*v));
        }
        const size_t count = d.typed() ? src.typed.size() : src.values.size();
        if (count != n)
            return semantic(d.line, "matrix '" + d.name + "' is " + std::to_string(d.shape.rows) + "x" +
                                        std::to_string(d.shape.cols) + " but has " + std::to_string(count) +
                                        " values");
        return Ok{};
    }

    // One element of a typed matrix (parse_element_literal); the error names the line and token.
    Result<uint32_t> literal(const MatrixDecl& d) {
        if (at_end()) return err("expected " + std::string(dtype_name(d.type())) + " value");
        auto v = parse_element_literal(toks_[pos_].text, d.type());
        if (!v) return err(v.error().message);
        ++pos_;
        return *v;
    }

    // A u8 value 0..255; a float literal gets told that it needs a typed matrix.
    Result<uint64_t> u8_value(const char* what) {
        if (!at_end()) {
            const Token& t = toks_[pos_];
            if (!(t.kind == Token::Number && t.number_ok) && looks_like_literal(t.text) &&
                (parse_element_literal(t.text, DType::F32).ok() ||
                 parse_element_literal(t.text, DType::I32).ok()))
                return err(std::string(what) +
                           " of a u8 matrix must be an integer 0..255 (declare the "
                           "matrix f32, f16 or i32 for other values, e.g. 'matrix w 2x3 f32 [...]')");
        }
        return number(255, what);
    }

    Status instruction() {
        CodeItem item;
        item.line = toks_[0].line;
        std::string m = toks_[0].text;
        const size_t dot = m.find('.');
        if (dot != std::string::npos) {
            std::string suffix = m.substr(dot + 1);
            for (char& c : suffix)
                c = char(std::tolower(static_cast<unsigned char>(c)));
            if (suffix != "wide") {
                pos_ = 0;
                return err("unknown suffix (only .wide)");
            }
            item.force_wide = true;
            m = m.substr(0, dot);
        }
        item.info = opcode_by_name(m);
        if (!item.info) {
            pos_ = 0;
            return err("unknown mnemonic");
        }
        int wanted = 0;
        for (OperandKind k : item.info->operands)
            wanted += k != OperandKind::None;
        auto operand_count = [&](int found) {
            return err(std::string(item.info->name) + " takes " + std::to_string(wanted) + " operand" +
                       (wanted == 1 ? "" : "s") + ", found " + std::to_string(found));
        };
        for (int k = 0; k < wanted; ++k) {
            if (k > 0) {
                if (at_end()) return operand_count(k);
                Status st = expect_punct(',');
                if (!st) return st;
            }
            Operand op;
            op.line = item.line;
            if (at_end() || peek_punct('[')) return operand_count(k);
            const Token& t = toks_[pos_];
            if (t.kind == Token::Number) {
                auto n = number(65535, "row");
                if (!n) return n.error();
                op.row = *n;
            } else if (t.kind == Token::Word && is_identifier(t.text)) {
                op.named = true;
                op.name = t.text;
                ++pos_;
            } else {
                return err("expected a matrix name or row number");
            }
            item.operands.push_back(std::move(op));
        }
        // Parameter pixels: "[r, g, b, a]" each, exactly info->param_pixels of them. Counted
        // first, so a wrong count names the instruction and both numbers.
        const std::string name(item.info->name);
        const uint32_t want = item.info->param_pixels;
        auto plural = [](uint32_t n, const char* what) {
            return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
        };
        for (uint32_t found = 0;; ++found) {
            const bool more = wanted + found > 0 ? peek_punct(',') : peek_punct('[');
            if (!more) {
                if (found < want)
                    return err(name + " takes " + plural(want, "parameter pixel") + ", found " +
                               std::to_string(found));
                break;
            }
            if (wanted + found > 0) ++pos_;        // the ','
            if (peek_punct('@') && found < want) { // "@label": the label's x as (lo, hi, 0, 0)
                ++pos_;
                if (at_end() || toks_[pos_].kind != Token::Word || !is_identifier(toks_[pos_].text))
                    return err("expected a label name after '@'");
                item.label_params.emplace_back(found, toks_[pos_++].text);
                item.params.push_back({0, 0, 0, 0});
                continue;
            }
            if (!peek_punct('[')) {
                if (at_end()) return err("expected '[' after ','");
                return err(name + " takes " + std::to_string(wanted) + " operand" + (wanted == 1 ? "" : "s") +
                           (want ? " then " + plural(want, "parameter pixel") + " [r, g, b, a]"
                                 : " and no parameter pixels") +
                           "; expected '['");
            }
            const size_t open = pos_++;
            std::vector<uint64_t> channels;
            for (;;) {
                if (at_end()) {
                    pos_ = open;
                    return err(name + " parameter pixel " + std::to_string(found + 1) +
                               ": '[' is not closed");
                }
                if (peek_punct(']')) {
                    ++pos_;
                    break;
                }
                if (!channels.empty()) {
                    if (Status st = expect_punct(','); !st) return st;
                }
                auto v = channel_value();
                if (!v) return v.error();
                channels.push_back(*v);
            }
            if (found >= want) {
                uint32_t total = found + 1;
                while (peek_punct(',')) { // count the rest for the message
                    ++pos_;
                    if (!peek_punct('[')) break;
                    while (!at_end() && !peek_punct(']'))
                        ++pos_;
                    if (at_end()) break;
                    ++pos_;
                    ++total;
                }
                pos_ = open;
                return err(name + " takes " + plural(want, "parameter pixel") + ", found " +
                           std::to_string(total));
            }
            if (channels.size() != 4) {
                pos_ = open;
                return err(name + " parameter pixel " + std::to_string(found + 1) + " of " +
                           std::to_string(want) + " has " + plural(uint32_t(channels.size()), "value") +
                           "; a parameter pixel is 4 channels [r, g, b, a]");
            }
            item.params.push_back(
                {uint8_t(channels[0]), uint8_t(channels[1]), uint8_t(channels[2]), uint8_t(channels[3])});
        }
        if (!at_end())
            return err(
                name + " takes " + std::to_string(wanted) + " operand" + (wanted == 1 ? "" : "s") +
                (want ? " and " + plural(want, "parameter pixel") : std::string(" and no parameter pixels")) +
                "; unexpected token");
        prog_.code.push_back(std::move(item));
        return Ok{};
    }
};

// The element bits of an f32, f16 or i32 matrix from a .npy array: f32 keeps <f4 bits exactly
// (NaN payloads, -0, subnormals) and rounds <f8 and integers to nearest; f16 keeps <f2 bits and
// rounds <f4, <f8 and integers by f16_from_double; i32 takes integer arrays (|u1, |i1, <i4) only.
Result<std::vector<uint32_t>> npy_elements(const NpyArray& arr, DType t, const std::string& name) {
    const uint64_t n = arr.size();
    std::vector<uint32_t> out(n);
    const uint8_t* p = arr.data.data();
    auto le = [&](uint64_t i, int bytes) {
        uint32_t v = 0;
        for (int b = bytes - 1; b >= 0; --b)
            v = v << 8 | p[i * uint64_t(bytes) + uint64_t(b)];
        return v;
    };
    const bool is_float =
        arr.dtype == NpyDtype::F16 || arr.dtype == NpyDtype::F32 || arr.dtype == NpyDtype::F64;
    if (t == DType::I32) {
        if (is_float)
            return make_error(ErrorCode::Semantic,
                              name + ": dtype " + std::string(npy_dtype_descr(arr.dtype)) +
                                  " is floating point; an i32 matrix takes |u1, |i1 or <i4");
        const std::vector<double> v = arr.as_double();
        for (uint64_t i = 0; i < n; ++i)
            out[i] = uint32_t(int32_t(v[i]));
        return out;
    }
    if (t == DType::F32 && arr.dtype == NpyDtype::F32) {
        for (uint64_t i = 0; i < n; ++i)
            out[i] = le(i, 4);
        return out;
    }
    if (t == DType::F16 && arr.dtype == NpyDtype::F16) {
        for (uint64_t i = 0; i < n; ++i)
            out[i] = le(i, 2);
        return out;
    }
    const std::vector<double> v = arr.as_double(); // exact for every dtype
    for (uint64_t i = 0; i < n; ++i) {
        if (t == DType::F16) {
            out[i] = f16_from_double(v[i]);
        } else {
            const float f = std::isnan(v[i]) ? std::nanf("") : float(v[i]); // to nearest even
            std::memcpy(&out[i], &f, 4);
        }
    }
    return out;
}

Error semantic_error(const AsmOptions& options, int line, const std::string& msg) {
    return make_error(ErrorCode::Semantic, options.file_name + ":" + std::to_string(line) + ": " + msg);
}

// A declaration's `npy "file"`, relative to base_dir.
std::string npy_path(const MatrixDecl& d, const AsmOptions& options) {
    std::filesystem::path p(d.source.npy_path);
    if (p.is_relative() && !options.base_dir.empty()) p = std::filesystem::path(options.base_dir) / p;
    return p.string();
}

// The array of a declaration's `npy` source, its shape checked against the declaration's
// ((ROWS, COLS), or (COLS,) when ROWS is 1); errors name the declaration's line.
Result<NpyArray> read_decl_npy(const MatrixDecl& d, const AsmOptions& options) {
    const std::string path = npy_path(d, options);
    auto arr = read_npy(path);
    if (!arr) return semantic_error(options, d.line, arr.error().message);
    const auto& shp = arr->shape;
    const bool match = (shp.size() == 2 && shp[0] == d.shape.rows && shp[1] == d.shape.cols) ||
                       (shp.size() == 1 && d.shape.rows == 1 && shp[0] == d.shape.cols);
    if (!match) {
        std::string s = "(";
        for (size_t i = 0; i < shp.size(); ++i)
            s += (i ? ", " : "") + std::to_string(shp[i]);
        return semantic_error(options, d.line,
                              path + ": shape " + s + ") does not match " + d.name + " " +
                                  std::to_string(d.shape.rows) + "x" + std::to_string(d.shape.cols));
    }
    return arr;
}

Status resolve_typed(MatrixDecl& d, const AsmOptions& options) {
    const uint64_t n = d.shape.elements();
    const DataSource& src = d.source;
    switch (src.kind) {
    case DataSource::None:
    case DataSource::Zeros: d.elems.assign(n, 0); break;
    case DataSource::Fill: d.elems.assign(n, src.fill_bits); break;
    case DataSource::List: d.elems = src.typed; break;
    case DataSource::Random: break; // refused by the parser
    case DataSource::Npy: {
        auto arr = read_decl_npy(d, options);
        if (!arr) return arr.error();
        auto e = npy_elements(arr.value(), d.type(), npy_path(d, options));
        if (!e) return semantic_error(options, d.line, e.error().message);
        d.elems = std::move(*e);
        break;
    }
    }
    return Ok{};
}

// Header and element pixels of a typed matrix, whole pixels (f16: two elements a pixel, element
// 2j in the low half; the high half of an odd count's last pixel is 0).
Status write_typed_matrix(Image& img, uint32_t row, MatrixHeader h, DType t, const std::vector<uint32_t>& e) {
    if (!typed_matrix_fits(row, h, t, img.width, img.height))
        return make_error(ErrorCode::Invalid,
                          std::string(dtype_name(t)) + " matrix does not fit in the image");
    img.set_pixel(0, row, encode_header(h));
    const uint64_t pixels = dtype_pixels(t, e.size());
    for (uint64_t j = 0; j < pixels; ++j) {
        const uint32_t w =
            t == DType::F16 ? (e[2 * j] & 0xFFFFu) | (2 * j + 1 < e.size() ? e[2 * j + 1] << 16 : 0u) : e[j];
        img.set_pixel(element_x(j, img.width), uint32_t(element_y(j, row, img.width)), word_pixel(w));
    }
    return Ok{};
}

// The second pass: every matrix's values from its data source. Reads .npy files (relative to
// base_dir) and generates seeded random data; errors name the declaration's line.
Status resolve(Program& prog, const AsmOptions& options) {
    auto semantic = [&](int line, const std::string& msg) { return semantic_error(options, line, msg); };
    for (MatrixDecl& d : prog.matrices) {
        if (d.scalar) continue;
        const uint64_t n = d.shape.elements();
        const DataSource& src = d.source;
        if (d.typed()) {
            if (Status st = resolve_typed(d, options); !st) return st;
            continue;
        }
        switch (src.kind) {
        case DataSource::None:
        case DataSource::Zeros: d.data.assign(n, 0); break;
        case DataSource::Fill: d.data.assign(n, src.fill); break;
        case DataSource::List: d.data = src.values; break;
        case DataSource::Random: {
            uint64_t state = src.seed;
            d.data.resize(n);
            for (uint64_t i = 0; i < n; ++i)
                d.data[i] = uint8_t(((splitmix64(state) >> 32) * (src.max + 1)) >> 32);
            break;
        }
        case DataSource::Npy: {
            auto arr = read_decl_npy(d, options);
            if (!arr) return arr.error();
            auto u8 = arr->as_u8(npy_path(d, options));
            if (!u8) return semantic(d.line, u8.error().message);
            d.data = std::move(*u8);
            break;
        }
        }
    }
    return Ok{};
}

// Encodes one instruction (WIDE prefix when forced or any row operand exceeds 255).
std::vector<Rgba> encode_instruction(const OpcodeInfo& info, bool force_wide,
                                     const std::array<uint32_t, 3>& rows, const std::vector<Rgba>& params) {
    bool wide = force_wide;
    for (int k = 0; k < 3; ++k)
        if (info.operands[k] != OperandKind::None && rows[k] > 255) wide = true;
    std::vector<Rgba> out;
    std::array<uint32_t, 3> r{};
    for (int k = 0; k < 3; ++k)
        r[k] = info.operands[k] == OperandKind::None ? 0 : rows[k];
    if (wide) out.push_back({kWidePrefix, uint8_t(r[0] >> 8), uint8_t(r[1] >> 8), uint8_t(r[2] >> 8)});
    out.push_back({info.number, uint8_t(r[0] & 255), uint8_t(r[1] & 255), uint8_t(r[2] & 255)});
    for (const Rgba& p : params)
        out.push_back(p);
    return out;
}

struct Layout {
    uint32_t width = 0, height = 0;
    std::vector<uint32_t> rows;          // per matrix decl
    std::vector<std::vector<Rgba>> code; // per code item
    uint32_t code_pixels = 0;
    uint32_t max_matrix_row = 0;
};

// Why a width does not work: the program is taller than kMaxDimension at this width (a wider
// image may still do), or an error that no width fixes.
struct LayoutFailure {
    enum Kind { TooTall, Invalid } kind = Invalid;
    Error error;
};

std::variant<Layout, LayoutFailure> layout_for(const Program& prog, uint32_t width, const std::string& file) {
    Layout L;
    L.width = width;
    auto sem = [&](int line, const std::string& msg) {
        return LayoutFailure{LayoutFailure::Invalid,
                             make_error(ErrorCode::Semantic, file + ":" + std::to_string(line) + ": " + msg)};
    };
    std::vector<MatrixHeader> auto_shapes;
    for (const MatrixDecl& d : prog.matrices)
        if (!d.row) auto_shapes.push_back(MatrixHeader{uint32_t(d.pixels()), 1}); // f16: half the pixels
    if (!prog.matrices.empty() && width < 2)
        return sem(prog.matrices[0].line, "matrices need an image at least 2 pixels wide");
    uint64_t height = 1;
    L.rows.resize(prog.matrices.size());
    if (width >= 2) {
        const Allocation alloc = allocate_rows(auto_shapes, width, 1);
        size_t ai = 0;
        for (size_t i = 0; i < prog.matrices.size(); ++i) {
            const MatrixDecl& d = prog.matrices[i];
            const uint32_t row = d.row ? *d.row : alloc.rows[ai++];
            L.rows[i] = row;
            L.max_matrix_row = std::max(L.max_matrix_row, row);
            height = std::max<uint64_t>(height, uint64_t(row) + rows_for_elements(d.pixels(), width));
        }
    }
    std::map<std::string, uint32_t> names;
    for (size_t i = 0; i < prog.matrices.size(); ++i)
        names[prog.matrices[i].name] = L.rows[i];
    std::map<std::string, uint32_t> label_x;
    for (const CodeItem& item : prog.code) {
        if (!item.label.empty()) {
            label_x[item.label] = L.code_pixels;
            L.code.push_back({});
            continue;
        }
        if (!item.info) {
            L.code.push_back({item.raw});
        } else {
            std::array<uint32_t, 3> rows{};
            size_t oi = 0;
            for (int k = 0; k < 3; ++k) {
                if (item.info->operands[k] == OperandKind::None) continue;
                const Operand& op = item.operands[oi++];
                if (op.named) {
                    auto it = names.find(op.name);
                    if (it == names.end()) return sem(item.line, "undefined name '" + op.name + "'");
                    rows[k] = it->second;
                } else {
                    rows[k] = uint32_t(op.row);
                }
            }
            L.code.push_back(encode_instruction(*item.info, item.force_wide, rows, item.params));
        }
        L.code_pixels += uint32_t(L.code.back().size());
    }
    // Label references, now that every label's x is known (forward jumps included). The parameter
    // pixels are the last pixels of the instruction's encoding.
    for (size_t i = 0; i < prog.code.size(); ++i) {
        const CodeItem& item = prog.code[i];
        for (const auto& [k, name] : item.label_params) {
            auto it = label_x.find(name);
            if (it == label_x.end()) return sem(item.line, "undefined label '" + name + "'");
            std::vector<Rgba>& px = L.code[i];
            px[px.size() - item.params.size() + k] = {uint8_t(it->second), uint8_t(it->second >> 8), 0, 0};
        }
    }
    for (const RawWrite& r : prog.raw)
        height = std::max<uint64_t>(height, uint64_t(r.y) + 1);
    if (height > kMaxDimension) {
        LayoutFailure f = sem(1, "the program needs " + std::to_string(height) + " rows at width " +
                                     std::to_string(width) + ", more than " + std::to_string(kMaxDimension));
        f.kind = LayoutFailure::TooTall;
        return f;
    }
    L.height = uint32_t(height);
    return L;
}

std::string shape_text(MatrixHeader h) {
    return std::to_string(h.rows) + "x" + std::to_string(h.cols);
}

} // namespace

Result<uint32_t> parse_element_literal(std::string_view text, DType t) {
    const std::string s(text);
    const std::string type(dtype_name(t));
    auto bad = [](const std::string& why) { return make_error(ErrorCode::Syntax, why); };
    switch (t) {
    case DType::U8: {
        uint64_t v = 0;
        if (!parse_uint(s, v) || v > 255) return bad("a u8 value is an integer 0..255");
        return uint32_t(v);
    }
    case DType::I32: {
        uint64_t v = 0;
        if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            if (!parse_uint(s, v) || v > 0xFFFFFFFFull) return bad("an i32 value in hex is 0x0..0xffffffff");
            return uint32_t(v);
        }
        const bool neg = !s.empty() && s[0] == '-';
        const size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
        bool digits = i < s.size();
        for (size_t k = i; k < s.size(); ++k)
            digits = digits && is_digit(s[k]);
        if (!digits || !parse_uint(s.substr(i), v) || v > (neg ? 2147483648ull : 2147483647ull))
            return bad("an i32 value is an integer -2147483648..2147483647 (or 0x0..0xffffffff)");
        return neg ? uint32_t(0) - uint32_t(v) : uint32_t(v);
    }
    case DType::F32:
    case DType::F16: {
        const bool f16 = t == DType::F16;
        if (s == "nan") return f16 ? 0x7E00u : 0x7FC00000u;
        if (s.rfind("nan:", 0) == 0) {
            const std::string hex = s.substr(4);
            const size_t max_digits = f16 ? 4 : 8;
            uint64_t v = 0;
            if (hex.size() < 3 || hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X') || !parse_uint(hex, v) ||
                hex.size() - 2 > max_digits)
                return bad("nan:0xHEX takes the element's bits as 1.." + std::to_string(max_digits) +
                           " hexadecimal digits (" + (f16 ? "nan:0x7e01" : "nan:0x7fc00001") + ")");
            return uint32_t(v);
        }
        if (s == "inf" || s == "+inf") return f16 ? 0x7C00u : 0x7F800000u;
        if (s == "-inf") return f16 ? 0xFC00u : 0xFF800000u;
        if (!decimal_syntax(s))
            return bad("an " + type +
                       " value is a decimal number (1, -0.5, 1.25e-3), inf, -inf, nan or nan:0xHEX");
        // Out of range rounds as IEEE 754 does: 1e999 is inf, 1e-999 is 0 (errno's ERANGE is no error).
        if (f16) return uint32_t(f16_from_double(std::strtod(s.c_str(), nullptr)));
        const float f = std::strtof(s.c_str(), nullptr);
        uint32_t b = 0;
        std::memcpy(&b, &f, 4);
        return b;
    }
    }
    return bad("unknown element type");
}

std::string element_literal(uint32_t bits, DType t) {
    char buf[64];
    switch (t) {
    case DType::U8: return std::to_string(bits & 255);
    case DType::I32: return std::to_string(int32_t(bits));
    case DType::F32: {
        const uint32_t mag = bits & 0x7FFFFFFFu;
        if (mag > 0x7F800000u) {
            if (bits == 0x7FC00000u) return "nan";
            std::snprintf(buf, sizeof buf, "nan:0x%08x", bits);
            return buf;
        }
        if (mag == 0x7F800000u) return bits >> 31 ? "-inf" : "inf";
        if (bits == 0x80000000u) return "-0";
        float f;
        std::memcpy(&f, &bits, 4);
        for (int p = 6; p <= 9; ++p) { // %.9g always reads back (9 digits determine a binary32)
            std::snprintf(buf, sizeof buf, "%.*g", p, double(f));
            auto back = parse_element_literal(buf, t);
            if (back && *back == bits) break;
        }
        return buf;
    }
    case DType::F16: {
        const uint32_t h = bits & 0xFFFFu;
        if ((h & 0x7C00u) == 0x7C00u) {
            if (h & 0x3FFu) {
                if (h == 0x7E00u) return "nan";
                std::snprintf(buf, sizeof buf, "nan:0x%04x", h);
                return buf;
            }
            return h >> 15 ? "-inf" : "inf";
        }
        if (h == 0x8000u) return "-0";
        for (int p = 3; p <= 5; ++p) { // %.5g always reads back (5 digits determine a binary16)
            std::snprintf(buf, sizeof buf, "%.*g", p, f16_value(uint16_t(h)));
            auto back = parse_element_literal(buf, t);
            if (back && *back == h) break;
        }
        return buf;
    }
    }
    return std::to_string(bits);
}

Result<Assembled> assemble(std::string_view source, const AsmOptions& options) {
    Parser parser(source, options);
    auto parsed = parser.parse();
    if (!parsed) return parsed.error();
    if (Status st = resolve(*parsed, options); !st) return st.error();
    const Program& prog = *parsed;
    const std::string& file = options.file_name;
    auto sem = [&](int line, const std::string& msg) {
        return make_error(ErrorCode::Semantic, file + ":" + std::to_string(line) + ": " + msg);
    };
    auto fits_raw = [&](const Layout& L) {
        for (const RawWrite& r : prog.raw)
            if (uint64_t(r.x) + r.pixels.size() > L.width) return false;
        return true;
    };

    Layout L;
    if (prog.width) {
        auto l = layout_for(prog, *prog.width, file);
        if (auto* f = std::get_if<LayoutFailure>(&l)) return f->error;
        L = std::move(std::get<Layout>(l));
        if (L.code_pixels > L.width)
            return sem(prog.width_line, "the instructions need " + std::to_string(L.code_pixels) +
                                            " pixels of row 0 but .width is " + std::to_string(L.width));
        for (const RawWrite& r : prog.raw)
            if (uint64_t(r.x) + r.pixels.size() > L.width)
                return sem(r.line, "pixel x " + std::to_string(r.x + r.pixels.size() - 1) +
                                       " is outside width " + std::to_string(L.width));
    } else {
        bool found = false;
        for (uint32_t w = 16; w <= kMaxDimension && !found; w *= 2) {
            auto l = layout_for(prog, w, file);
            if (auto* f = std::get_if<LayoutFailure>(&l)) {
                if (f->kind == LayoutFailure::TooTall) continue; // a wider image may fit
                return f->error;
            }
            Layout& candidate = std::get<Layout>(l);
            if (candidate.code_pixels > w || candidate.max_matrix_row > 255 || !fits_raw(candidate)) continue;
            L = std::move(candidate);
            found = true;
        }
        if (!found)
            return sem(1,
                       "no width from 16 to 16384 keeps every matrix in rows 1..255; set .width explicitly");
    }
    if (prog.height) {
        if (*prog.height < L.height)
            return sem(prog.height_line, ".height " + std::to_string(*prog.height) + " is less than the " +
                                             std::to_string(L.height) + " rows the program needs");
        L.height = *prog.height;
    }

    Assembled out;
    try { // up to 16384 x 16384 x 4 bytes: a process under a memory limit gets an error, not an abort
        out.image = make_image(L.width, L.height);
    } catch (const std::bad_alloc&) {
        return make_error(ErrorCode::TooLarge, "not enough memory for a " + std::to_string(L.width) + "x" +
                                                   std::to_string(L.height) + " image (" +
                                                   std::to_string(uint64_t(L.width) * L.height * 4 >> 20) +
                                                   " MiB)");
    }
    Image& img = out.image;
    uint32_t x = 0;
    for (const auto& pixels : L.code)
        for (const Rgba& p : pixels)
            img.set_pixel(x++, 0, p);
    DebugInfo info;
    for (size_t i = 0; i < prog.matrices.size(); ++i) {
        const MatrixDecl& d = prog.matrices[i];
        Region r;
        r.name = d.name;
        r.row = L.rows[i];
        r.shape = d.scalar ? MatrixHeader{0, 0} : d.shape;
        r.scale = d.scale;
        r.zero_point = d.zero_point;
        r.dtype = d.dtype; // as declared; tools infer the others from the instructions
        r.from_symbols = true;
        info.regions.push_back(r);
        if (d.scalar) continue;
        Status st = d.typed() ? write_typed_matrix(img, L.rows[i], d.shape, d.type(), d.elems)
                              : write_matrix(img, L.rows[i], d.shape, d.data);
        if (!st) return sem(d.line, "matrix '" + d.name + "': " + st.error().message);
    }
    // Overlap warnings (rows shared by two declarations).
    for (size_t i = 0; i < prog.matrices.size(); ++i)
        for (size_t j = i + 1; j < prog.matrices.size(); ++j) {
            const auto& a = prog.matrices[i];
            const auto& b = prog.matrices[j];
            const uint64_t a0 = L.rows[i], a1 = a0 + rows_for_elements(a.pixels(), L.width);
            const uint64_t b0 = L.rows[j], b1 = b0 + rows_for_elements(b.pixels(), L.width);
            if (a0 < b1 && b0 < a1)
                out.warnings.push_back(file + ":" + std::to_string(b.line) + ": '" + b.name +
                                       "' shares rows with '" + a.name + "'");
        }
    for (const RawWrite& r : prog.raw)
        for (size_t k = 0; k < r.pixels.size(); ++k)
            img.set_pixel(r.x + uint32_t(k), r.y, r.pixels[k]);
    for (const CodeItem& item : prog.code)
        if (item.info)
            for (const Operand& op : item.operands)
                if (!op.named && (op.row < 1 || op.row >= L.height))
                    out.warnings.push_back(file + ":" + std::to_string(op.line) + ": row " +
                                           std::to_string(op.row) + " is outside the data rows 1.." +
                                           std::to_string(L.height - 1));

    info.source = std::string(source);
    write_debug_info(img, info);
    if (options.file_name != "<input>") {
        if (const TextChunk* c = find_text(img, std::string(kSymbolsKey))) {
            nlohmann::json j = nlohmann::json::parse(c->text);
            j["source_file"] = options.file_name;
            set_text(img, std::string(kSymbolsKey), j.dump());
        }
    }
    if (info.source.empty()) set_text(img, std::string(kSourceKey), "");
    return out;
}

// ---------------------------------------------------------------------------------------------
// Disassembler

namespace {

std::string region_name_for(uint32_t row, const std::vector<Region>& regions) {
    for (const Region& r : regions)
        if (r.row == row) return r.name;
    return std::to_string(row);
}

// Labels of LOOP targets the disassembly defines, by x.
using LabelMap = std::map<uint32_t, std::string>;

// The x a LOOP's target parameter names (P2 = (lo, hi, 0, 0)), if the instruction is a LOOP.
std::optional<uint32_t> loop_target(const Instruction& ins) {
    if (!ins.info || Opcode(ins.opcode) != Opcode::LOOP || ins.param_count < 2) return std::nullopt;
    if (ins.params[1][2] || ins.params[1][3]) return std::nullopt;
    return uint32_t(ins.params[1][0] | ins.params[1][1] << 8);
}

std::string instruction_text(const Instruction& ins, const std::vector<Region>& regions,
                             const LabelMap& labels = {}) {
    if (!ins.info)
        return ".pixel " + std::to_string(ins.opcode) + ", " + std::to_string(ins.operand[0] & 255) + ", " +
               std::to_string(ins.operand[1] & 255) + ", " + std::to_string(ins.operand[2] & 255);
    std::string s(ins.info->name);
    if (ins.wide) s += ".wide";
    bool first = true;
    for (int k = 0; k < 3; ++k) {
        if (ins.info->operands[k] == OperandKind::None) continue;
        s += first ? " " : ", ";
        first = false;
        s += region_name_for(ins.operand[k], regions);
    }
    const OpDef* def = op_def(ins.opcode);
    const std::optional<uint32_t> target = loop_target(ins);
    for (uint32_t k = 0; k < ins.param_count; ++k) {
        if (k == 1 && target && labels.count(*target)) {
            s += (first ? " @" : ", @") + labels.at(*target);
            first = false;
            continue;
        }
        s += first ? " [" : ", [";
        first = false;
        for (int c = 0; c < 4; ++c) {
            std::string named = def && def->param_channel_text ? def->param_channel_text(ins, k, c) : "";
            s += (c ? ", " : "") + (named.empty() ? std::to_string(ins.params[k][c]) : named);
        }
        s += "]";
    }
    return s;
}

std::string hex_pixels(const Image& img, uint32_t x0, uint32_t x1, uint32_t y) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint32_t x = x0; x < x1; ++x)
        for (int c = 0; c < 4; ++c) {
            const uint8_t v = img.at(x, y)[c];
            s += digits[v >> 4];
            s += digits[v & 15];
        }
    return s;
}

std::string data_text(const std::vector<uint8_t>& v) {
    bool same = true;
    for (uint8_t b : v)
        same = same && b == v[0];
    if (same && v[0] == 0) return "zeros";
    if (same) return "fill " + std::to_string(v[0]);
    std::string s = "[";
    if (v.size() <= 16) {
        for (size_t i = 0; i < v.size(); ++i)
            s += (i ? " " : "") + std::to_string(v[i]);
        return s + "]";
    }
    for (size_t i = 0; i < v.size(); ++i) {
        if (i % 32 == 0) s += "\n   ";
        s += " " + std::to_string(v[i]);
    }
    s += "\n]";
    return s;
}

// The data of a typed matrix: zeros, fill V or the literals, 8 a line when there are more than 8.
std::string typed_data_text(const std::vector<uint32_t>& v, DType t) {
    bool same = true;
    for (uint32_t b : v)
        same = same && b == v[0];
    if (same && v[0] == 0) return "zeros";
    if (same) return "fill " + element_literal(v[0], t);
    std::string s = "[";
    if (v.size() <= 8) {
        for (size_t i = 0; i < v.size(); ++i)
            s += (i ? " " : "") + element_literal(v[i], t);
        return s + "]";
    }
    for (size_t i = 0; i < v.size(); ++i) {
        if (i % 8 == 0) s += "\n   ";
        s += " " + element_literal(v[i], t);
    }
    s += "\n]";
    return s;
}

} // namespace

std::string disassemble_instruction(const Instruction& ins, const std::vector<Region>& regions) {
    return instruction_text(ins, regions);
}

std::string disassemble(const Image& image) {
    std::string out = "; disassembled by pxi (docs/pxasm.md)\n";
    out += ".width " + std::to_string(image.width) + "\n.height " + std::to_string(image.height) + "\n";
    std::vector<Region> emitted; // regions declared in the text, by row
    std::set<std::string> used;
    std::set<uint32_t> rows_used;
    std::string decls;
    // A region's element type: the symbols' if they declare one, else the instructions' when they
    // agree on it (typing.h; a row used with two types is written as u8, bytes being bytes).
    std::map<uint32_t, DType> declared;
    if (auto info = read_debug_info(image); info.ok())
        for (const Region& r : info->regions)
            if (r.dtype && !declared.count(r.row)) declared[r.row] = *r.dtype;
    const MatrixTypes types = matrix_types(program_instructions(image));
    std::set<uint32_t> conflicts;
    for (const auto& c : types.conflicts)
        conflicts.insert(c.first.row);
    for (const Region& r : program_regions(image)) {
        if (r.row < 1 || r.row >= image.height || rows_used.count(r.row)) continue;
        std::string name = r.name;
        if (!is_identifier(name) || used.count(name)) name = "m" + std::to_string(r.row);
        for (int k = 2; used.count(name); ++k)
            name = "m" + std::to_string(r.row) + "_" + std::to_string(k);
        const MatrixHeader h = decode_header(image.pixel(0, r.row));
        DType type = DType::U8;
        if (auto it = declared.find(r.row); it != declared.end())
            type = it->second;
        else if (auto t = types.of(r.row); t && !conflicts.count(r.row))
            type = *t;
        const bool shaped =
            image.width >= 2 && h.rows >= 1 && h.cols >= 1 && !(r.shape == MatrixHeader{0, 0});
        if (!shaped || !typed_matrix_fits(r.row, h, type, image.width, image.height)) type = DType::U8;
        const bool is_matrix = shaped && typed_matrix_fits(r.row, h, type, image.width, image.height);
        used.insert(name);
        rows_used.insert(r.row);
        Region e = r;
        e.name = name;
        emitted.push_back(e);
        if (!is_matrix) {
            decls += "scalar " + name + " @ row " + std::to_string(r.row) + "\n";
            continue;
        }
        decls += "matrix " + name + " " + shape_text(h);
        if (type != DType::U8) decls += " " + std::string(dtype_name(type));
        decls += " @ row " + std::to_string(r.row);
        if (r.scale) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.17g", *r.scale);
            decls += std::string(" scale ") + buf;
        }
        if (r.zero_point && *r.zero_point >= 0 && *r.zero_point <= 255)
            decls += " zero_point " + std::to_string(*r.zero_point);
        if (type != DType::U8) {
            std::vector<uint32_t> elems(h.elements());
            for (uint64_t i = 0; i < elems.size(); ++i)
                elems[i] = element_bits(image, r.row, type, i);
            decls += " " + typed_data_text(elems, type) + "\n";
            continue;
        }
        auto values = read_matrix(image, r.row);
        decls += " " + (values ? data_text(*values) : std::string("zeros")) + "\n";
    }
    out += decls;

    // Row 0.
    const PixelFetch fetch = image_fetch(image);
    int64_t last = -1;
    for (uint32_t x = 0; x < image.width; ++x) {
        const uint8_t* p = image.at(x, 0);
        if (p[0] | p[1] | p[2] | p[3]) last = x;
    }
    // LOOP targets that are instruction starts get a label ("L<x>:"), and LOOPs name them.
    // An instruction is written by name when its pixels are exactly what the assembler would
    // encode for it (else pixel by pixel, so the text assembles back to the same bytes).
    auto canonical_at = [&](const Decoded& d, uint32_t x) {
        bool canonical = !d.truncated && d.ins.info;
        if (canonical) {
            std::vector<Rgba> params(d.ins.params.begin(), d.ins.params.begin() + d.ins.param_count);
            const auto enc = encode_instruction(
                *d.ins.info, d.ins.wide, {d.ins.operand[0], d.ins.operand[1], d.ins.operand[2]}, params);
            canonical = enc.size() == d.ins.length;
            for (size_t k = 0; canonical && k < enc.size(); ++k)
                canonical = enc[k] == image.pixel(x + uint32_t(k), 0);
        }
        return canonical;
    };
    LabelMap labels;
    {
        std::set<uint32_t> starts, targets;
        for (uint32_t x = 0; x < image.width && int64_t(x) <= last;) {
            const Decoded d = decode(fetch, image.width, x);
            starts.insert(x);
            if (canonical_at(d, x)) {
                if (auto t = loop_target(d.ins)) targets.insert(*t);
                x += d.ins.length;
            } else {
                x += 1;
            }
            if (x < image.width && int64_t(x) > last) starts.insert(x); // where the text ends (a HALT)
        }
        for (uint32_t t : targets)
            if (starts.count(t)) labels[t] = "L" + std::to_string(t);
    }
    std::string code;
    uint32_t pc = 0;
    bool last_was_halt = false;
    while (pc < image.width && int64_t(pc) <= last) {
        if (labels.count(pc)) code += labels[pc] + ":\n";
        const Decoded d = decode(fetch, image.width, pc);
        if (canonical_at(d, pc)) {
            code += instruction_text(d.ins, emitted, labels) + "\n";
            last_was_halt = Opcode(d.ins.opcode) == Opcode::HALT;
            pc += d.ins.length;
        } else {
            const Rgba p = image.pixel(pc, 0);
            code += ".pixel " + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ", " +
                    std::to_string(p[2]) + ", " + std::to_string(p[3]) + "\n";
            last_was_halt = false;
            pc += 1;
        }
    }
    if (labels.count(pc)) code += labels[pc] + ":\n";
    if (!last_was_halt && pc < image.width) code += "HALT\n";
    out += code;

    // Whatever the declarations and row 0 do not reproduce, as raw pixels.
    auto built = assemble(out);
    std::string raw;
    if (!built || built->image.width != image.width || built->image.height != image.height) {
        // Cannot happen for text we wrote; fall back to every pixel of every data row.
        out = ".width " + std::to_string(image.width) + "\n.height " + std::to_string(image.height) + "\n" +
              code;
        built = assemble(out);
    }
    const Image* ref = built ? &built->image : nullptr;
    for (uint32_t y = 0; y < image.height; ++y) {
        uint32_t x = 0;
        while (x < image.width) {
            auto differs = [&](uint32_t xx) {
                return !ref || std::memcmp(ref->at(xx, y), image.at(xx, y), 4) != 0;
            };
            if (!differs(x)) {
                ++x;
                continue;
            }
            // A run of differing pixels, bridging gaps shorter than 4 identical pixels.
            uint32_t end = x + 1, gap = 0;
            for (uint32_t xx = x + 1; xx < image.width; ++xx) {
                if (differs(xx))
                    end = xx + 1, gap = 0;
                else if (++gap >= 4)
                    break;
            }
            if (end - x == 1) {
                const Rgba p = image.pixel(x, y);
                raw += ".rgba " + std::to_string(x) + ", " + std::to_string(y) + ", " + std::to_string(p[0]) +
                       ", " + std::to_string(p[1]) + ", " + std::to_string(p[2]) + ", " +
                       std::to_string(p[3]) + "\n";
            } else {
                raw += ".hex " + std::to_string(x) + ", " + std::to_string(y) + " " +
                       hex_pixels(image, x, end, y) + "\n";
            }
            x = end;
        }
    }
    if (!raw.empty()) out += "; pixels no declaration above reproduces\n" + raw;
    return out;
}

} // namespace px
