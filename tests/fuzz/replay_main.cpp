// Replays fuzz inputs without libFuzzer: every file named on the command line, or every file in a
// directory named there, goes through the target's LLVMFuzzerTestOneInput once. ctest runs the
// seed corpus and every kept crash input (tests/fuzz/regressions/) this way in the normal and the
// sanitizer builds, so a fixed finding stays fixed.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static int replay(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return 1;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    return 0;
}

int main(int argc, char** argv) {
    int files = 0, failures = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::recursive_directory_iterator(arg))
                if (entry.is_regular_file()) failures += replay(entry.path()), ++files;
        } else if (std::filesystem::exists(arg)) {
            failures += replay(arg), ++files;
        }
    }
    std::printf("replayed %d inputs, %d unreadable\n", files, failures);
    return failures == 0 && files > 0 ? 0 : 1;
}
