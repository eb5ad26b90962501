// The engine side of the bad-input corpus (tests/bad_inputs/, format in its README.md): each file
// loads or fails to load as expected.json says, validates to the error it names, and the exit
// codes listed for `pxi validate` and `pxi run` follow from what the engine reports (2 unreadable,
// 1 invalid or trapped, 0 ok). The CLI's own test runs the same corpus through `pxi`.
#include "png_io.h"
#include "validate.h"
#include "vm.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

using namespace px;

namespace {

const std::string kDir = std::string(PXOS_SOURCE_DIR) + "/tests/bad_inputs";

std::string code_name(ErrorCode c) {
    switch (c) {
    case ErrorCode::Ok: return "ok";
    case ErrorCode::Io: return "Io";
    case ErrorCode::NotPng: return "NotPng";
    case ErrorCode::BadPng: return "BadPng";
    case ErrorCode::Unsupported: return "Unsupported";
    case ErrorCode::TooLarge: return "TooLarge";
    case ErrorCode::Empty: return "Empty";
    case ErrorCode::Syntax: return "Syntax";
    case ErrorCode::Semantic: return "Semantic";
    case ErrorCode::Invalid: return "Invalid";
    case ErrorCode::Usage: return "Usage";
    case ErrorCode::Gl: return "Gl";
    }
    return "?";
}

nlohmann::json expected() {
    std::ifstream f(kDir + "/expected.json");
    REQUIRE(f);
    return nlohmann::json::parse(f);
}

} // namespace

TEST_CASE("every corpus file is listed in expected.json, and every entry has its file") {
    std::set<std::string> on_disk, listed;
    for (const auto& e : std::filesystem::directory_iterator(kDir))
        if (e.path().extension() == ".pxi") on_disk.insert(e.path().filename().string());
    const nlohmann::json doc = expected();
    for (const auto& e : doc.at("files"))
        listed.insert(e.at("file").get<std::string>());
    CHECK(on_disk == listed);
    CHECK(listed.size() >= 20);
}

TEST_CASE("each corpus file loads and validates as expected.json says") {
    const nlohmann::json doc = expected();
    for (const auto& e : doc.at("files")) {
        const std::string file = e.at("file").get<std::string>();
        const std::string path = kDir + "/" + file;
        INFO(file << ": " << e.value("note", ""));
        auto loaded = load_png(path);
        const std::string load = e.at("load").get<std::string>();
        const int exit_validate = e.at("exit_validate").get<int>();
        const int exit_run = e.at("exit_run").get<int>();
        if (load != "ok") {
            REQUIRE_FALSE(loaded.ok());
            CHECK(code_name(loaded.error().code) == load);
            INFO("message: " << loaded.error().message);
            CHECK(loaded.error().message.find(e.at("load_message").get<std::string>()) != std::string::npos);
            CHECK(loaded.error().message.find(file) != std::string::npos); // names the file
            CHECK(exit_validate == 2);
            CHECK(exit_run == 2);
            continue;
        }
        REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message));
        const auto want_warnings = e.at("warnings").get<std::vector<std::string>>();
        REQUIRE(loaded->warnings.size() == want_warnings.size());
        for (size_t i = 0; i < want_warnings.size(); ++i) {
            CHECK(loaded->warnings[i].find(want_warnings[i]) != std::string::npos);
            CHECK(loaded->warnings[i].find(file) != std::string::npos);
        }

        const ValidationReport rep = validate(loaded->image);
        const std::string want = e.at("validate").get<std::string>();
        const Diagnostic* first = nullptr;
        for (const Diagnostic& d : rep.diagnostics)
            if (d.severity == Severity::Error) {
                first = &d;
                break;
            }
        if (want == "ok") {
            CHECK_MESSAGE(rep.ok(), (first ? first->code + ": " + first->message : ""));
        } else {
            REQUIRE(first);
            CHECK(first->code == want);
            INFO("message: " << first->message);
            CHECK(first->message.find(e.at("validate_message").get<std::string>()) != std::string::npos);
        }
        CHECK(exit_validate == (rep.ok() ? 0 : 1));

        VmState vm = make_vm(loaded->image);
        run(vm);
        CHECK(exit_run == (vm.status == VmStatus::Trapped ? 1 : 0));
    }
}
