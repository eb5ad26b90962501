// pxi info — what a program is: size, instructions, regions (symbols or inferred), text chunks.
#include "asm.h"
#include "commands.h"
#include "debuginfo.h"
#include "quant.h"
#include "vm.h"

#include <iostream>

namespace {

struct InfoArgs {
    std::string input;
    bool json = false;
};

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
    if (!px::matrix_fits(r.row, r.shape, image.width, image.height))
        return "does not fit: needs rows " + std::to_string(r.row) + ".." +
               std::to_string(r.row + px::rows_for_elements(r.shape.elements(), image.width) - 1) +
               ", the image has " + std::to_string(image.height);
    return "";
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
            if (image.width >= 2) o["image_rows"] = px::rows_for_elements(r.shape.elements(), image.width);
            if (r.scale) o["scale"] = *r.scale;
            if (r.zero_point) o["zero_point"] = *r.zero_point;
            const std::string problem = region_problem(r, image);
            o["fits"] = problem.empty();
            if (!problem.empty()) o["problem"] = problem;
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
            std::cout << "  " << r.shape.rows << "x" << r.shape.cols;
            if (image.width >= 2) {
                const uint64_t rows = px::rows_for_elements(r.shape.elements(), image.width);
                std::cout << "  rows " << r.row << ".." << r.row + rows - 1;
            }
        }
        if (const std::string problem = region_problem(r, image); !problem.empty())
            std::cout << "  NOT IN IMAGE: " << problem;
        if (r.scale) std::cout << "  scale " << *r.scale;
        if (r.zero_point) std::cout << "  zero_point " << *r.zero_point;
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
