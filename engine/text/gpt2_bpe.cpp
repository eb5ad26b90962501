// gpt2_bpe.cpp — GPT-2's encoder.json + vocab.bpe to a Bpe (the byte-to-unicode inversion).
#include "gpt2_bpe.h"

#include "pretokenize.h"

#include <array>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace px {

namespace {

// The byte each of GPT-2's code points stands for (-1: none). All are below 256 + 68.
std::array<int16_t, 324> unicode_to_byte_table() {
    std::array<int16_t, 324> t;
    t.fill(-1);
    for (unsigned b = 0; b < 256; ++b)
        t[gpt2_byte_to_unicode(uint8_t(b))] = int16_t(b);
    return t;
}

Error file_error(const std::string& file, const std::string& what) {
    return make_error(ErrorCode::Invalid, file + ": " + what);
}

} // namespace

uint32_t gpt2_byte_to_unicode(uint8_t b) {
    const auto printable = [](unsigned c) {
        return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
    };
    if (printable(b)) return b;
    uint32_t n = 0; // the non-printable bytes below b
    for (unsigned c = 0; c < b; ++c)
        n += !printable(c);
    return 256 + n;
}

Result<Bpe> load_gpt2_bpe(std::string_view encoder_json, std::string_view vocab_bpe,
                          const std::string& encoder_name, const std::string& vocab_name) {
    static const std::array<int16_t, 324> to_byte = unicode_to_byte_table();
    const nlohmann::json j = nlohmann::json::parse(encoder_json, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return file_error(encoder_name, "not valid JSON");
    if (!j.is_object()) return file_error(encoder_name, "not a JSON object of token -> id");
    Bpe bpe;
    bpe.vocab.resize(j.size());
    std::vector<bool> seen(j.size());
    std::unordered_map<std::string, int32_t> ids; // GPT-2 text of a token -> id
    ids.reserve(j.size());
    for (const auto& [key, value] : j.items()) {
        if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
            uint64_t(value.get<int64_t>()) >= j.size())
            return file_error(encoder_name, "token \"" + key + "\": id " + value.dump() +
                                                " must be an integer 0.." + std::to_string(j.size() - 1) +
                                                " (ids are dense)");
        const auto id = size_t(value.get<int64_t>());
        if (seen[id]) return file_error(encoder_name, "id " + std::to_string(id) + " is given twice");
        seen[id] = true;
        std::string bytes;
        for (size_t pos = 0; pos < key.size();) {
            const Utf8Char c = decode_utf8(key, pos);
            if (!c.valid || c.cp >= to_byte.size() || to_byte[c.cp] < 0)
                return file_error(encoder_name,
                                  "token \"" + key + "\" (id " + std::to_string(id) +
                                      "): a character that is not in GPT-2's byte-to-unicode table");
            bytes.push_back(char(to_byte[c.cp]));
            pos += c.len;
        }
        bpe.vocab[id] = std::move(bytes);
        ids.emplace(key, int32_t(id));
    }
    size_t line_no = 0;
    std::vector<size_t> merge_line;
    for (size_t pos = 0; pos < vocab_bpe.size();) {
        size_t end = vocab_bpe.find('\n', pos);
        if (end == std::string_view::npos) end = vocab_bpe.size();
        std::string_view line = vocab_bpe.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
        const std::string where = vocab_name + ":" + std::to_string(line_no);
        const size_t space = line.find(' ');
        if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
            line.find(' ', space + 1) != std::string_view::npos)
            return make_error(ErrorCode::Invalid, where + ": expected two tokens separated by one space");
        const std::string left(line.substr(0, space)), right(line.substr(space + 1));
        const auto find = [&](const std::string& t) -> int32_t {
            const auto it = ids.find(t);
            return it == ids.end() ? -1 : it->second;
        };
        const int32_t l = find(left), r = find(right), res = find(left + right);
        for (const auto& [name, id] : {std::pair{left, l}, std::pair{right, r}, std::pair{left + right, res}})
            if (id < 0)
                return make_error(ErrorCode::Invalid,
                                  where + ": \"" + name + "\" is not a token of " + encoder_name);
        bpe.merges.push_back({l, r, res});
        merge_line.push_back(line_no);
    }
    const BpeWhere where = [&](std::string_view kind, uint64_t i) -> std::string {
        if (kind == "merge")
            return vocab_name + ":" + std::to_string(merge_line[i]) + " (merge " + std::to_string(i) + ")";
        return encoder_name + ", " + std::string(kind) + " " + std::to_string(i);
    };
    if (Status st = finalize_bpe(bpe, where); !st) return st.error();
    return bpe;
}

} // namespace px
