// pxi diff — pixel differences between two programs, located in regions (status 1 if any).
#include "commands.h"
#include "debuginfo.h"

#include <cstring>
#include <iostream>

namespace {

struct DiffArgs {
    std::string a, b;
    bool json = false;
    size_t max = 10;
};

void diff_command(const DiffArgs& args) {
    const px::Image a = pxi::load_or_exit(args.a);
    const px::Image b = pxi::load_or_exit(args.b);
    if (a.width != b.width || a.height != b.height) {
        const std::string msg = "different sizes: " + std::to_string(a.width) + "x" +
                                std::to_string(a.height) + " vs " + std::to_string(b.width) + "x" +
                                std::to_string(b.height);
        if (args.json)
            pxi::print_json({{"identical", false},
                             {"same_size", false},
                             {"a", {{"file", args.a}, {"width", a.width}, {"height", a.height}}},
                             {"b", {{"file", args.b}, {"width", b.width}, {"height", b.height}}}});
        else
            std::cout << args.a << " and " << args.b << ": " << msg << "\n";
        pxi::finish(pxi::kExitFailed);
    }
    const std::vector<px::Region> regions = px::program_regions(a);
    uint64_t count = 0;
    nlohmann::json list = nlohmann::json::array();
    std::string lines;
    for (uint32_t y = 0; y < a.height; ++y)
        for (uint32_t x = 0; x < a.width; ++x) {
            if (std::memcmp(a.at(x, y), b.at(x, y), 4) == 0) continue;
            if (count++ >= args.max) continue;
            const px::Region* r = y == 0 ? nullptr : px::region_at(regions, a, x, y);
            const std::string where = y == 0 ? "row 0 (instructions)" : r ? r->name : "no region";
            list.push_back({{"x", x},
                            {"y", y},
                            {"a", {a.at(x, y)[0], a.at(x, y)[1], a.at(x, y)[2], a.at(x, y)[3]}},
                            {"b", {b.at(x, y)[0], b.at(x, y)[1], b.at(x, y)[2], b.at(x, y)[3]}},
                            {"region", where}});
            lines += "  (" + std::to_string(x) + "," + std::to_string(y) + ") " +
                     pxi::rgba_text(a.pixel(x, y)) + " -> " + pxi::rgba_text(b.pixel(x, y)) + "  " + where +
                     "\n";
        }
    if (args.json) {
        pxi::print_json(
            {{"identical", count == 0}, {"same_size", true}, {"differing_pixels", count}, {"first", list}});
    } else if (count == 0) {
        std::cout << args.a << " and " << args.b << ": identical pixels\n";
    } else {
        std::cout << args.a << " and " << args.b << ": " << count << " pixel" << (count == 1 ? "" : "s")
                  << " differ\n"
                  << lines;
        if (count > args.max) std::cout << "  ... " << count - args.max << " more\n";
    }
    pxi::finish(count == 0 ? pxi::kExitOk : pxi::kExitFailed);
}

} // namespace

void register_diff(CLI::App& app) {
    auto args = std::make_shared<DiffArgs>();
    CLI::App* cmd =
        app.add_subcommand("diff", "Compare the pixels of two programs (status 1 when they differ)");
    cmd->add_option("a", args->a, "first program (.pxi)")->required();
    cmd->add_option("b", args->b, "second program (.pxi)")->required();
    cmd->add_flag("--json", args->json, "print as JSON");
    cmd->add_option("--max", args->max, "how many differing pixels to list")->capture_default_str();
    cmd->callback([args] { diff_command(*args); });
}
