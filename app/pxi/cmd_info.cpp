// pxi info — what a program is: size, instructions, regions (symbols or inferred, each with its
// element type from the instructions or the symbols, typing.h) with a summary of their values,
// text chunks.
#include "asm.h"
#include "commands.h"
#include "compare.h"
#include "debuginfo.h"
#include "inspect.h"
#include "quant.h"
#include "vm.h"

#include <iostream>

namespace {

struct InfoArgs {
    std::string input;
    bool json = false;
};

// Image rows a region occupies in its type (an f16 matrix packs two elements per pixel).
uint64_t image_rows(const px::Region& r, uint32_t width) {
    return px::rows_for_elements(px::dtype_pixels(r.type(), r.shape.elements()), width);
}

struct Listed {
    uint32_t pc;
    std::string text;
    std::string params; // parameter pixels decoded (engine's describe_params), or empty
};

// Why a region cannot be where it says, or "" when it fits the image (PROTOCOL.md §3).
std::string region_problem(const px::Region& r, const px::Image& image) {
    if (r.row < 1 || r.row >= image.height)
        return "row " + std::to_string(r.row) + " is outside the data rows 1.." +
               std::to_string(image.height - 1);
    if (r.shape.rows == 0 && r.shape.cols == 0) return ""; // a scalar: one pixel
    if (image.width < 2) return "an image of width 1 holds no matrix";
    if (!px::typed_matrix_fits(r.row, r.shape, r.type(), image.width, image.height))
        return "does not fit: needs rows " + std::to_string(r.row) + ".." +
               std::to_string(r.row + image_rows(r, image.width) - 1) + ", the image has " +
               std::to_string(image.height);
    return "";
}

// The values of a region that fits (its header's shape now, in its type), summarized: min and max
// over the finite values, and how many are NaN or infinite. nullopt for scalars and bad headers.
std::optional<px::ValueStats> region_stats(const px::Region& r, const px::Image& image) {
    if (r.shape.rows == 0 && r.shape.cols == 0) return std::nullopt;
    auto v = px::matrix_values(image, r.row, r.type());
    if (!v || v->empty()) return std::nullopt;
    return px::value_stats(*v, r.zero_point.value_or(0));
}

// Row 0 up to and including the first HALT, or up to the first pixel that does not decode.
std::vector<Listed> list_instructions(const px::Image& image, const std::vector<px::Region>& regions,
                                      std::string& stop_reason) {
    std::vector<Listed> out;
    const px::PixelFetch fetch = px::image_fetch(image);
    uint32_t pc = 0;
    stop_reason = "ran off the end of row 0 (no HALT)";
    while (pc < image.width) {
        const px::Decoded d = px::decode(fetch, image.width, pc);
        if (d.truncated) {
            stop_reason = "truncated instruction at pixel (" + std::to_string(pc) + ",0)";
            break;
        }
        out.push_back({pc, px::disassemble_instruction(d.ins, regions),
                       d.ins.param_count ? px::describe_params(d.ins) : std::string()});
        if (!d.ins.info) {
            stop_reason =
                "unknown opcode " + std::to_string(d.ins.opcode) + " at pixel (" + std::to_string(pc) + ",0)";
            break;
        }
        if (px::Opcode(d.ins.opcode) == px::Opcode::HALT) {
            stop_reason = "";
            break;
        }
        pc += d.ins.length;
    }
    return out;
}

void info_command(const InfoArgs& args) {
    const px::Image image = pxi::load_or_exit(args.input);
    const std::vector<px::Region> regions = px::program_regions(image);
    std::string stop;
    const std::vector<Listed> code = list_instructions(image, regions, stop);
    const bool symbols = !regions.empty() && regions.front().from_symbols;
    if (args.json) {
        nlohmann::json ins = nlohmann::json::array(), regs = nlohmann::json::array(),
                       text = nlohmann::json::array();
        for (const Listed& l : code)
            ins.push_back(
                {{"pc", l.pc},
                 {"text", l.text},
                 {"params", l.params.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.params)}});
        for (const px::Region& r : regions) {
            nlohmann::json o{{"name", r.name},
                             {"row", r.row},
                             {"rows", r.shape.rows},
                             {"cols", r.shape.cols},
                             {"from_symbols", r.from_symbols}};
            if (image.width >= 2) o["image_rows"] = image_rows(r, image.width);
            if (r.scale) o["scale"] = *r.scale;
            if (r.zero_point) o["zero_point"] = *r.zero_point;
            const std::string problem = region_problem(r, image);
            o["fits"] = problem.empty();
            if (!problem.empty()) o["problem"] = problem;
            o["dtype"] = std::string(px::dtype_name(r.type()));
            if (problem.empty())
                if (auto s = region_stats(r, image)) {
                    o["min"] = s->min, o["max"] = s->max, o["nan"] = s->nan, o["inf"] = s->inf;
                    o["finite"] = s->count - s->nan - s->inf;
                }
            regs.push_back(o);
        }
        for (const px::TextChunk& c : image.text)
            text.push_back({{"key", c.key}, {"bytes", c.text.size()}});
        nlohmann::json j{{"file", args.input},  {"width", image.width}, {"height", image.height},
                         {"instructions", ins}, {"regions", regs},      {"text_chunks", text},
                         {"symbols", symbols}};
        j["note"] = stop.empty() ? nlohmann::json(nullptr) : nlohmann::json(stop);
        pxi::print_json(j);
        pxi::finish(pxi::kExitOk);
    }
    std::cout << args.input << ": " << image.width << "x" << image.height << ", " << code.size()
              << " instruction" << (code.size() == 1 ? "" : "s") << "\n";
    std::cout << "instructions:\n";
    for (const Listed& l : code)
        std::cout << "  " << l.pc << ": " << l.text << (l.params.empty() ? "" : "  ; " + l.params) << "\n";
    if (!stop.empty()) std::cout << "  (" << stop << ")\n";
    std::cout << "regions (" << (symbols ? "from pxos.symbols" : "inferred from row 0") << "):\n";
    for (const px::Region& r : regions) {
        std::cout << "  " << r.name << "  row " << r.row;
        if (r.shape.rows == 0 && r.shape.cols == 0)
            std::cout << "  pixel (0," << r.row << ")";
        else {
            std::cout << "  " << r.shape.rows << "x" << r.shape.cols << " " << px::dtype_name(r.type());
            if (image.width >= 2)
                std::cout << "  rows " << r.row << ".." << r.row + image_rows(r, image.width) - 1;
        }
        const std::string problem = region_problem(r, image);
        if (!problem.empty()) std::cout << "  NOT IN IMAGE: " << problem;
        if (r.scale) std::cout << "  scale " << *r.scale;
        if (r.zero_point) std::cout << "  zero_point " << *r.zero_point;
        if (problem.empty()) {
            const auto s = region_stats(r, image);
            if (s && s->count > s->nan + s->inf) {
                std::cout << "  values " << px::value_text(s->min, r.type()) << " .. "
                          << px::value_text(s->max, r.type());
                if (s->nan) std::cout << "  " << s->nan << " NaN";
                if (s->inf) std::cout << "  " << s->inf << " inf";
            } else if (s) {
                std::cout << "  values: " << s->nan << " NaN, " << s->inf << " inf, none finite";
            }
        }
        std::cout << "\n";
    }
    std::cout << "text chunks:" << (image.text.empty() ? " none" : "") << "\n";
    for (const px::TextChunk& c : image.text)
        std::cout << "  " << c.key << " (" << c.text.size() << " bytes)\n";
    pxi::finish(pxi::kExitOk);
}

} // namespace

void register_info(CLI::App& app) {
    auto args = std::make_shared<InfoArgs>();
    CLI::App* cmd =
        app.add_subcommand("info", "Show size, instructions, regions and text chunks of a program");
    cmd->add_option("input", args->input, "program (.pxi)")->required();
    cmd->add_flag("--json", args->json, "print as JSON");
    cmd->callback([args] { info_command(*args); });
}
