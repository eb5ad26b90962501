// Tests of the .tgz reader (engine/formats/tgz.h) on archives built in memory, and on hand-made
// damage: a bad checksum, truncation, garbage instead of gzip.
#include "tgz.h"

#include <doctest/doctest.h>

using namespace px;

namespace {

std::vector<uint8_t> tgz_of(const std::map<std::string, std::string>& files) {
    return gzip(encode_tar(files));
}

} // namespace

TEST_CASE("a tar of several files round-trips through gzip") {
    const std::map<std::string, std::string> files = {{"package/ca01", "The/at jury/nn ./.\n"},
                                                      {"package/empty", ""},
                                                      {"package/big", std::string(1500, 'x')}};
    const auto bytes = tgz_of(files);
    auto tar = gunzip(bytes, "t.tgz");
    REQUIRE(tar.ok());
    CHECK(tar->size() % 512 == 0);
    auto back = parse_tar(tar.value(), "t.tgz");
    REQUIRE(back.ok());
    CHECK(back.value() == files);
}

TEST_CASE("the ustar header is the standard one") {
    // Header fields checked byte by byte against the POSIX layout, independent of the reader.
    const auto tar = encode_tar({{"a/b", "hello"}});
    REQUIRE(tar.size() == 512 + 512 + 1024);
    CHECK(std::string(tar.begin(), tar.begin() + 3) == "a/b");
    CHECK(std::string(tar.begin() + 124, tar.begin() + 135) == "00000000005"); // size, octal
    CHECK(tar[156] == '0');
    CHECK(std::string(tar.begin() + 257, tar.begin() + 262) == "ustar");
    unsigned sum = 0;
    for (int i = 0; i < 512; ++i)
        sum += (i >= 148 && i < 156) ? ' ' : tar[i];
    CHECK(std::stoul(std::string(tar.begin() + 148, tar.begin() + 154), nullptr, 8) == sum);
    CHECK(std::string(tar.begin() + 512, tar.begin() + 517) == "hello");
}

TEST_CASE("a ustar prefix is joined to the name") {
    auto tar = encode_tar({{"file", "x"}});
    const std::string prefix = "some/dir";
    std::copy(prefix.begin(), prefix.end(), tar.begin() + 345);
    unsigned sum = 0;
    for (int i = 0; i < 512; ++i)
        sum += (i >= 148 && i < 156) ? ' ' : tar[i];
    const std::string field = [&] {
        char b[8];
        std::snprintf(b, sizeof b, "%06o", sum);
        return std::string(b);
    }();
    std::copy(field.begin(), field.end(), tar.begin() + 148);
    auto files = parse_tar(tar, "t.tar");
    REQUIRE(files.ok());
    CHECK(files->count("some/dir/file") == 1);
}

TEST_CASE("damaged archives are errors that name the archive and the entry") {
    auto tar = encode_tar({{"package/ca01", "abc"}});
    SUBCASE("bad checksum") {
        tar[10] ^= 1;
        auto r = parse_tar(tar, "x.tgz");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("x.tgz") != std::string::npos);
        CHECK(r.error().message.find("checksum") != std::string::npos);
    }
    SUBCASE("truncated data") {
        tar.resize(512 + 2);
        auto r = parse_tar(tar, "x.tgz");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("package/ca01") != std::string::npos);
    }
    SUBCASE("no end-of-archive blocks") {
        tar.resize(1024);
        CHECK_FALSE(parse_tar(tar, "x.tgz").ok());
    }
    SUBCASE("not gzip") {
        auto r = gunzip(tar, "x.tgz");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("no gzip header") != std::string::npos);
    }
    SUBCASE("truncated gzip") {
        auto gz = gzip(tar);
        gz.resize(gz.size() / 2);
        CHECK_FALSE(gunzip(gz, "x.tgz").ok());
    }
    SUBCASE("gzip bomb") {
        const std::vector<uint8_t> zeros(1 << 20, 0);
        auto r = gunzip(gzip(zeros), "x.tgz", 1000);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("beyond 1000 bytes") != std::string::npos);
    }
}

TEST_CASE("read_tgz names a missing file") {
    auto r = read_tgz("/nonexistent/dir/x.tgz");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("/nonexistent/dir/x.tgz") != std::string::npos);
}
