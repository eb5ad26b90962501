// Golden traces: the CPU interpreter's step trace (engine/trace.h) of every assets/*.pxi must
// equal tests/golden/<asset>.trace byte for byte. Any change to execution, layout or an asset
// shows up here as a diff of one readable line per step.
//
// To regenerate after an intended change: PXOS_REGEN_GOLDEN=1 ./build/tests/golden_test
// (then review `git diff tests/golden` by hand before committing).
#include "png_io.h"
#include "test_util.h"
#include "trace.h"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace px;
namespace fs = std::filesystem;

namespace {

// Every asset but the trained language model (assets/gpt_*.pxi): its reference run is some 2000
// steps of matrix products (a minute here, many under the sanitizers), and tests/gpt_asset_test.cpp
// pins it instead: the current build of its weights, both CPU executors the same bytes.
std::vector<fs::path> asset_programs() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(pxtest::source_path("assets")))
        if (e.path().extension() == ".pxi" && e.path().filename().string().rfind("gpt_", 0) != 0)
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("the trace line format") {
    Image img = make_image(4, 3);
    pxtest::put_matrix(img, 1, 1, 2, {1, 2});
    pxtest::put_ins(img, 0, Opcode::ADD, 1, 1, 2);
    pxtest::put_ins(img, 1, Opcode::RELU, 0); // traps: row 0
    VmState vm = make_vm(img);
    const std::string t = trace_run(vm);
    std::istringstream lines(t);
    std::string first, second, third;
    std::getline(lines, first);
    std::getline(lines, second);
    CHECK_FALSE(std::getline(lines, third));
    CHECK(first.rfind("step=1 pc=0 ADD 1,1,2 status=ready writes=0,2,1,1;1,2,2,1 fnv=", 0) == 0);
    CHECK(second.rfind("step=2 pc=1 RELU 0,0,0 status=trapped trap=ROW_OUT_OF_IMAGE@1,0 writes=- fnv=", 0) ==
          0);
    // The hash is FNV-1a 64 of the bytes: check it against a direct computation.
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rgba_hash(vm.image)));
    CHECK(second.substr(second.size() - 16) == hex);
    CHECK(fnv1a64(reinterpret_cast<const uint8_t*>("a"), 1) == 0xaf63dc4c8601ec8cull);
    CHECK(fnv1a64(nullptr, 0) == 0xcbf29ce484222325ull);
}

TEST_CASE("every asset's CPU trace equals its golden file") {
    const bool regen = std::getenv("PXOS_REGEN_GOLDEN") != nullptr;
    const auto programs = asset_programs();
    REQUIRE_FALSE(programs.empty());
    for (const fs::path& p : programs) {
        CAPTURE(p.string());
        auto loaded = load_png(p.string());
        REQUIRE(loaded.ok());
        VmState vm = make_vm(std::move(loaded->image));
        const std::string trace = trace_run(vm);
        const fs::path golden = pxtest::source_path("tests/golden/" + p.stem().string() + ".trace");
        if (regen) {
            fs::create_directories(golden.parent_path());
            std::ofstream(golden, std::ios::binary) << trace;
            MESSAGE("wrote " << golden.string());
            continue;
        }
        INFO("no golden trace yet: run PXOS_REGEN_GOLDEN=1 golden_test and review the file");
        REQUIRE(fs::exists(golden));
        CHECK(read_file(golden) == trace);
    }
}
