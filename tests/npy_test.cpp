// Tests of the .npy reader and writer on hand-made byte strings.
#include "npy.h"

#include <cstdio>
#include <doctest/doctest.h>
#include <string>

using namespace px;

namespace {

std::vector<uint8_t> npy_bytes(int major, const std::string& header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
    const size_t len = header.size();
    b.push_back(uint8_t(len));
    b.push_back(uint8_t(len >> 8));
    if (major >= 2) {
        b.push_back(uint8_t(len >> 16));
        b.push_back(uint8_t(len >> 24));
    }
    b.insert(b.end(), header.begin(), header.end());
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

} // namespace

TEST_CASE("reads uint8 2-D arrays in versions 1, 2 and 3") {
    for (int major : {1, 2, 3}) {
        auto bytes = npy_bytes(major, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }   \n",
                               {1, 2, 3, 4, 5, 250});
        auto a = parse_npy(bytes, "t.npy");
        REQUIRE(a.ok());
        CHECK(a->shape == std::vector<uint64_t>{2, 3});
        auto u8 = a->as_u8();
        REQUIRE(u8.ok());
        CHECK(*u8 == std::vector<uint8_t>{1, 2, 3, 4, 5, 250});
    }
}

TEST_CASE("reads i1, i4, f4, f8 and 1-D / 0-D shapes") {
    auto i1 =
        parse_npy(npy_bytes(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }\n", {0xFF, 5}));
    REQUIRE(i1.ok());
    CHECK(i1->as_double() == std::vector<double>{-1, 5});
    CHECK_FALSE(i1->as_u8().ok()); // -1 is outside 0..255
    auto i4 = parse_npy(npy_bytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n",
                                  {0x00, 0x01, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF}));
    REQUIRE(i4.ok());
    CHECK(i4->as_double() == std::vector<double>{256, -2});
    auto f4 = parse_npy(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n",
                                  {0x00, 0x00, 0xC0, 0x3F})); // 1.5f
    REQUIRE(f4.ok());
    CHECK(f4->shape.empty());
    CHECK(f4->as_double() == std::vector<double>{1.5});
    CHECK_FALSE(f4->as_u8().ok());
    auto f8 = parse_npy(npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n",
                                  {0, 0, 0, 0, 0, 0, 0xF0, 0xBF})); // -1.0
    REQUIRE(f8.ok());
    CHECK(f8->as_double() == std::vector<double>{-1.0});
}

TEST_CASE("refuses Fortran order, big-endian, unknown dtypes, bad magic and truncation, naming the file") {
    auto check_error = [](const std::vector<uint8_t>& bytes, const std::string& what) {
        auto a = parse_npy(bytes, "w.npy");
        REQUIRE_FALSE(a.ok());
        CHECK(a.error().message.find("w.npy") != std::string::npos);
        CHECK(a.error().message.find(what) != std::string::npos);
    };
    check_error(npy_bytes(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (1, 2), }\n", {1, 2}),
                "Fortran");
    check_error(npy_bytes(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }\n", {0, 0, 0, 1}),
                "big-endian");
    check_error(npy_bytes(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", {}), "dtype");
    check_error(npy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }\n", {1, 2}),
                "truncated");
    check_error(npy_bytes(4, "{}", {}), "version");
    check_error({'n', 'o', 't', ' ', 'n', 'p', 'y', 0, 0, 0, 0}, "magic");
    check_error(npy_bytes(1, "{'descr': '|u1', 'shape': (1,), }\n", {1}), "fortran_order");
}

TEST_CASE("the writer's output reads back, through a file too") {
    NpyArray a = make_npy_u8({3, 2}, {9, 8, 7, 6, 5, 4});
    auto bytes = encode_npy(a);
    CHECK((bytes.size() - a.data.size()) % 64 == 0); // header padded to 64 bytes as NumPy does
    auto back = parse_npy(bytes);
    REQUIRE(back.ok());
    CHECK(back->shape == a.shape);
    CHECK(back->data == a.data);

    NpyArray f = make_npy_f32({2}, {0.25f, -3.0f});
    const std::string path = std::string(PXOS_BINARY_DIR) + "/npy_test_tmp.npy";
    REQUIRE(write_npy(f, path).ok());
    auto fb = read_npy(path);
    REQUIRE(fb.ok());
    CHECK(fb->as_double() == std::vector<double>{0.25, -3.0});
    std::remove(path.c_str());
    CHECK_FALSE(read_npy(path).ok());
}
