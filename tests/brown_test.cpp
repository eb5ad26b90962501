// Tests of the Brown Corpus preparation (engine/text/brown.h) on hand-written samples in the
// corpus' Form C format: tags stripped, tokenization undone, headlines, paragraphs, the split.
#include "brown.h"

#include <doctest/doctest.h>

using namespace px;

namespace {

std::string plain(const std::string& tagged) {
    auto r = brown_plain_text(tagged, "sample");
    REQUIRE(r.ok());
    return r.value();
}

} // namespace

TEST_CASE("tokens split at their last slash") {
    auto w = parse_brown_line("\tThe/at 1-1/2/cd //in /l//nn Atlanta's/np$ ./.", "x line 1");
    REQUIRE(w.ok());
    REQUIRE(w->size() == 6);
    CHECK((*w)[0].word == "The");
    CHECK((*w)[0].tag == "at");
    CHECK((*w)[1].word == "1-1/2");
    CHECK((*w)[2].word == "/");
    CHECK((*w)[3].word == "/l/");
    CHECK((*w)[4].word == "Atlanta's");
    CHECK((*w)[4].tag == "np$");
    CHECK((*w)[5].word == ".");
}

TEST_CASE("malformed tokens name the line") {
    for (const char* bad : {"the/at jury ./.", "the/at /nn", "the/at jury/"}) {
        auto w = parse_brown_line(bad, "ca07 line 12");
        REQUIRE_FALSE(w.ok());
        CHECK(w.error().message.find("ca07 line 12") != std::string::npos);
    }
    auto r = brown_plain_text("\n\n\tThe/at jury/nn ./.\n\n\n\tIt/pps said\n", "cb03");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("cb03 line 6") != std::string::npos);
    CHECK(r.error().message.find("'said'") != std::string::npos);
}

TEST_CASE("quotes, punctuation and brackets read normally") {
    CHECK(plain("\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at "
                "investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` "
                "no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.\n") ==
          "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election "
          "produced \"no evidence\" that any irregularities took place.\n");
    CHECK(plain("\t``/`` Only/rb a/at handful/nn ''/'' ,/, the/at jury/nn said/vbd ;/. "
                "(/( 1/cd )/) yes/rb ''/'' ?/. No/rb !/. x/nn :/: y/nn --/-- z/nn [/, a/at ]/, ./.\n") ==
          "\"Only a handful,\" the jury said; (1) yes?\" No! x: y -- z [a].\n");
    // ; and : stay outside the quote.
    CHECK(plain("\t``/`` a/at ''/'' ;/. ``/`` b/nn ''/'' :/: c/nn ``/`` d/nn ''/'' ./.\n") ==
          "\"a\"; \"b\": c \"d.\"\n");
}

TEST_CASE("a sentence-final abbreviation keeps one period") {
    CHECK(plain("\twon/vbn by/in Ivan/np Allen/np Jr./np ./.\n") == "won by Ivan Allen Jr.\n");
    CHECK(plain("\tsaid/vbd ``/`` Allen/np Jr./np ''/'' ./.\n") == "said \"Allen Jr.\"\n");
    CHECK(plain("\tin/in the/at U.S./np ?/. yes/rb ./.\n") == "in the U.S.? yes.\n");
}

TEST_CASE("single quotes open and close from context") {
    // After a comma and at the start of a quoted phrase: opens; before punctuation or at the end
    // of the sentence: closes; elsewhere they alternate.
    CHECK(plain("\tHe/pps said/vbd ,/, '/' You're/ppss+ber my/pp$ man/nn '/' ./.\n") ==
          "He said, 'You're my man'.\n");
    CHECK(plain("\tmore/ap '/' pro/jj '/' letters/nns than/in '/' con/jj '/'\n") ==
          "more 'pro' letters than 'con'\n");
    CHECK(plain("\t``/`` the/at '/' Met/np '/' ''/'' ,/, he/pps said/vbd ./.\n") ==
          "\"the 'Met',\" he said.\n");
    // An open quote carries over to the next sentence of the paragraph.
    CHECK(plain("\tHe/pps said/vbd :/: '/' Go/vb ./.\nThen/rb stop/vb '/' ./.\n") ==
          "He said: 'Go. Then stop'.\n");
    // Words that begin with an apostrophe are words, not quotes.
    CHECK(plain("\tget/vb 'em/ppo ,/, 'tis/pps+bez '61/cd ./.\n") == "get 'em, 'tis '61.\n");
}

TEST_CASE("paragraphs one a line; headlines on their own line") {
    const std::string tagged = "\n\n\tThe/at jury/nn said/vbd it/pps ./.\n\n\n"
                               "Merger/nn-hl proposed/vbn-hl \n"
                               "However/wrb ,/, the/at jury/nn said/vbd so/rb ./.\n"
                               "It/pps urged/vbd ./.\n\n\n"
                               "\tLast/ap one/cd ./.\n";
    CHECK(plain(tagged) ==
          "The jury said it.\nMerger proposed\nHowever, the jury said so. It urged.\nLast one.\n");
    // A closing parenthesis on a line of its own closes the sentence before it.
    CHECK(plain("\t(/( Leave/vb it/ppo ,/, says/vbz Ramsey/np ./.\n)/) \nSo/rb ./.\n") ==
          "(Leave it, says Ramsey.) So.\n");
}

TEST_CASE("the split rule: numbers ending in 0 test, in 5 validation, the rest train") {
    CHECK(brown_part("ca10").value() == CorpusPart::Test);
    CHECK(brown_part("cj80").value() == CorpusPart::Test);
    CHECK(brown_part("ca05").value() == CorpusPart::Valid);
    CHECK(brown_part("cm05").value() == CorpusPart::Valid);
    CHECK(brown_part("ca01").value() == CorpusPart::Train);
    CHECK(brown_part("cr09").value() == CorpusPart::Train);
    for (const char* bad : {"ca45", "cm07", "ci01", "cz01", "ca00", "ca1", "xa01", "ca01x"})
        CHECK_FALSE(brown_part(bad).ok());
    int total = 0, test = 0, valid = 0;
    for (const auto& [genre, n] : brown_genre_counts())
        for (int i = 1; i <= n; ++i) {
            const std::string id = std::string("c") + genre + char('0' + i / 10) + char('0' + i % 10);
            ++total;
            test += brown_part(id).value() == CorpusPart::Test;
            valid += brown_part(id).value() == CorpusPart::Valid;
        }
    CHECK(total == 500);
    CHECK(test == 41);
    CHECK(valid == 52);
}

TEST_CASE("the corpus is assembled by whole texts, in id order, each in its part") {
    const std::map<std::string, std::string> files = {
        {"package/ca02", "\tB/nn ./.\n"},     {"package/ca01", "\tA/nn ./.\n\n\tA2/nn ./.\n"},
        {"package/ca10", "\tT/nn ./.\n"},     {"package/cb05", "\tV/nn ./.\n"},
        {"package/README", "not/a text/x\n"}, {"package/cats.txt", "ca01 news\n"}};
    auto c = build_brown_corpus(files, "sample.tgz", false);
    REQUIRE(c.ok());
    CHECK(c->train == "A.\nA2.\n\nB.\n");
    CHECK(c->valid == "V.\n");
    CHECK(c->test == "T.\n");
    REQUIRE(c->texts.size() == 4);
    CHECK(c->texts[0].id == "ca01");
    CHECK(c->texts[0].bytes == 7);
    CHECK(c->texts[0].words == 4);
    CHECK(c->texts[3].id == "cb05");
    CHECK(c->texts[3].part == CorpusPart::Valid);

    auto all = build_brown_corpus(files, "sample.tgz", true);
    REQUIRE_FALSE(all.ok());
    CHECK(all.error().message.find("496 of the Brown Corpus' 500 texts are missing: ca03") !=
          std::string::npos);

    auto alien = build_brown_corpus({{"package/ca99", "\tX/nn\n"}}, "other.tgz", true);
    REQUIRE_FALSE(alien.ok());
    CHECK(alien.error().message.find("'package/ca99' is not a text of the Brown Corpus") !=
          std::string::npos);

    auto bad = build_brown_corpus({{"package/ca01", "\tX/nn\n\tY\n"}}, "bad.tgz", false);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("bad.tgz: package/ca01 line 2") != std::string::npos);

    CHECK_FALSE(build_brown_corpus({{"package/README", "x"}}, "none.tgz", false).ok());
}
