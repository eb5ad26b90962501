#include "brown.h"

#include <algorithm>

namespace px {
namespace {

bool one_of(std::string_view w, std::initializer_list<std::string_view> set) {
    return std::find(set.begin(), set.end(), w) != set.end();
}

// Punctuation written against the word before it.
bool closes(std::string_view w) {
    return one_of(w, {".", ",", ";", ":", "?", "!", ")", "]", "''"});
}
// Punctuation written against the word after it.
bool opens(std::string_view w) {
    return one_of(w, {"``", "(", "["});
}

bool blank(std::string_view line) {
    return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

} // namespace

Result<std::vector<BrownWord>> parse_brown_line(std::string_view line, const std::string& where) {
    std::vector<BrownWord> words;
    size_t at = 0;
    while (at < line.size()) {
        const size_t start = line.find_first_not_of(" \t\r", at);
        if (start == std::string_view::npos) break;
        size_t end = line.find_first_of(" \t\r", start);
        if (end == std::string_view::npos) end = line.size();
        const std::string_view token = line.substr(start, end - start);
        const size_t slash = token.rfind('/');
        if (slash == std::string_view::npos)
            return make_error(ErrorCode::Syntax, where + ": token '" + std::string(token) + "' has no /tag");
        if (slash == 0 || slash + 1 == token.size())
            return make_error(ErrorCode::Syntax,
                              where + ": token '" + std::string(token) +
                                  (slash == 0 ? "' has an empty word" : "' has an empty tag"));
        words.push_back({std::string(token.substr(0, slash)), std::string(token.substr(slash + 1))});
        at = end;
    }
    return words;
}

std::string brown_detokenize(const std::vector<std::string>& in, bool& single_open) {
    // The corpus writes a closing double quote before the sentence's . , ? or ! (''/'' ,/,);
    // American print puts them inside the quote, as the original texts did.
    std::vector<std::string> words = in;
    for (size_t i = 0; i + 1 < words.size(); ++i)
        if (words[i] == "''" && one_of(words[i + 1], {".", ",", "?", "!"}))
            std::swap(words[i], words[i + 1]), ++i;
    std::string out;
    bool glue = true; // no space before the next word (start of text, or after an opener)
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        // A sentence that ends with an abbreviation gets its own "." token: "Jr. ." is "Jr.".
        if (w == "." && !out.empty() && out.back() == '.') continue;
        std::string text = w;
        bool space_before = !closes(w), glue_after = opens(w);
        if (w == "``" || w == "''") {
            text = "\"";
        } else if (w == "'") {
            // The corpus writes opening and closing single quotes alike. Context decides where it
            // can: at the start or after an opener it opens; before closing punctuation or at the
            // end of the sentence it closes; otherwise it alternates within the paragraph.
            bool closing = single_open;
            if (i == 0 || opens(words[i - 1]))
                closing = false;
            else if (i + 1 == words.size() || closes(words[i + 1]) || words[i + 1] == "'")
                closing = true;
            single_open = !closing;
            space_before = !closing;
            glue_after = !closing;
        }
        if (!out.empty() && space_before && !glue) out += ' ';
        out += text;
        glue = glue_after;
    }
    return out;
}

Result<std::string> brown_plain_text(std::string_view tagged, const std::string& name) {
    std::string out, paragraph;
    bool single_open = false;
    auto flush = [&] {
        if (!paragraph.empty()) out += paragraph + "\n";
        paragraph.clear();
        single_open = false;
    };
    size_t at = 0, line_no = 0;
    while (at <= tagged.size()) {
        size_t end = tagged.find('\n', at);
        if (end == std::string_view::npos) end = tagged.size();
        const std::string_view line = tagged.substr(at, end - at);
        ++line_no;
        at = end + 1;
        if (blank(line)) {
            flush();
            continue;
        }
        if (line[0] == '\t') flush(); // an indented line starts a paragraph
        auto parsed = parse_brown_line(line, name + " line " + std::to_string(line_no));
        if (!parsed) return parsed.error();
        const bool headline = std::all_of(parsed->begin(), parsed->end(), [](const BrownWord& w) {
            return w.tag.find("-hl") != std::string::npos;
        });
        std::vector<std::string> words;
        for (const BrownWord& w : parsed.value())
            words.push_back(w.word);
        if (headline) flush();
        const std::string sentence = brown_detokenize(words, single_open);
        // A sentence line that starts with closing punctuation (the corpus puts the ")" after a
        // parenthesized sentence on a line of its own) joins the one before without a space.
        if (!paragraph.empty() && !(words.size() && closes(words[0]) && words[0] != "''")) paragraph += ' ';
        paragraph += sentence;
        if (headline) flush();
    }
    flush();
    return out;
}

std::string_view corpus_part_name(CorpusPart part) {
    switch (part) {
    case CorpusPart::Train: return "train";
    case CorpusPart::Valid: return "valid";
    case CorpusPart::Test: return "test";
    }
    return "?";
}

const std::map<char, int>& brown_genre_counts() {
    static const std::map<char, int> counts = {{'a', 44}, {'b', 27}, {'c', 17}, {'d', 17}, {'e', 36},
                                               {'f', 48}, {'g', 75}, {'h', 30}, {'j', 80}, {'k', 29},
                                               {'l', 24}, {'m', 6},  {'n', 29}, {'p', 29}, {'r', 9}};
    return counts;
}

bool is_brown_id(std::string_view id) {
    if (id.size() != 4 || id[0] != 'c' || !std::isdigit(uint8_t(id[2])) || !std::isdigit(uint8_t(id[3])))
        return false;
    const auto& counts = brown_genre_counts();
    const auto genre = counts.find(id[1]);
    const int number = (id[2] - '0') * 10 + (id[3] - '0');
    return genre != counts.end() && number >= 1 && number <= genre->second;
}

Result<CorpusPart> brown_part(std::string_view id) {
    if (!is_brown_id(id))
        return make_error(ErrorCode::Usage, "'" + std::string(id) + "' is not a Brown text id");
    const int last = id[3] - '0';
    return last == 0 ? CorpusPart::Test : last == 5 ? CorpusPart::Valid : CorpusPart::Train;
}

Result<BrownCorpus> build_brown_corpus(const std::map<std::string, std::string>& files,
                                       const std::string& name, bool require_all) {
    BrownCorpus corpus;
    for (const auto& [path, data] : files) {
        const size_t slash = path.rfind('/');
        const std::string id = slash == std::string::npos ? path : path.substr(slash + 1);
        // c + genre letter + two digits, but not a text of the corpus: a different package.
        if (id.size() == 4 && id[0] == 'c' && std::isalpha(uint8_t(id[1])) && std::isdigit(uint8_t(id[2])) &&
            std::isdigit(uint8_t(id[3])) && !is_brown_id(id) && require_all)
            return make_error(ErrorCode::Invalid,
                              name + ": '" + path + "' is not a text of the Brown Corpus");
        if (!is_brown_id(id)) continue;
        if (std::any_of(corpus.texts.begin(), corpus.texts.end(),
                        [&](const BrownText& t) { return t.id == id; }))
            return make_error(ErrorCode::Invalid, name + ": text " + id + " appears twice");
        auto plain = brown_plain_text(data, name + ": " + path);
        if (!plain) return plain.error();
        if (plain->empty()) return make_error(ErrorCode::Invalid, name + ": " + path + ": no text");
        BrownText text{id, brown_part(id).value(), plain->size(), 0};
        bool in_token = false; // every token carries its tag, so tokens are the corpus' words
        for (char c : data) {
            const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
            text.words += !space && !in_token;
            in_token = !space;
        }
        std::string& part = text.part == CorpusPart::Train   ? corpus.train
                            : text.part == CorpusPart::Valid ? corpus.valid
                                                             : corpus.test;
        if (!part.empty()) part += "\n";
        part += plain.value();
        corpus.texts.push_back(text);
    }
    std::sort(corpus.texts.begin(), corpus.texts.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    if (require_all) {
        std::string missing;
        int count = 0;
        for (const auto& [genre, n] : brown_genre_counts())
            for (int i = 1; i <= n; ++i) {
                const std::string id = std::string("c") + genre + char('0' + i / 10) + char('0' + i % 10);
                if (!std::any_of(corpus.texts.begin(), corpus.texts.end(),
                                 [&](const BrownText& t) { return t.id == id; }))
                    missing += (count++ < 5 ? " " + id : "");
            }
        if (count > 0)
            return make_error(ErrorCode::Invalid, name + ": " + std::to_string(count) +
                                                      " of the Brown Corpus' 500 texts are missing:" +
                                                      missing + (count > 5 ? " ..." : ""));
    }
    if (corpus.texts.empty())
        return make_error(ErrorCode::Invalid, name + ": no Brown Corpus text (c<genre><nn>)");
    return corpus;
}

} // namespace px
