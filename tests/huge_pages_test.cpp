// huge_pages_test.cpp — the huge-page advice (engine/vm/huge_pages.h) and the Image copies that use
// it: advice never changes contents, sizes or alignment, copies are whole and independent, and
// moves still move. Whether the kernel then backs a buffer with huge pages is its choice (THP in
// madvise or always mode, and free 2 MiB pages), so that part is reported, not required.
#include "huge_pages.h"
#include "image.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

using namespace px;

namespace {

// AnonHugePages of this process, in kB (0 where /proc does not say).
long anon_huge_kb() {
    std::ifstream in("/proc/self/smaps_rollup");
    std::string key;
    long value = 0;
    while (in >> key) {
        if (key == "AnonHugePages:") {
            in >> value;
            return value;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

Image pattern_image(uint32_t w, uint32_t h) {
    Image img = make_image(w, h);
    for (size_t i = 0; i < img.rgba.size(); ++i)
        img.rgba[i] = uint8_t(i * 131 + (i >> 12));
    set_text(img, "pxos.symbols", "a b c");
    return img;
}

} // namespace

// First, before other cases leave freed memory that malloc could hand back already backed.
TEST_CASE("a large advised buffer is backed by huge pages where the kernel offers them (reported)") {
    std::ifstream mode_file("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string mode((std::istreambuf_iterator<char>(mode_file)), std::istreambuf_iterator<char>());
    const long before = anon_huge_kb();
    std::vector<uint8_t> v;
    reserve_huge(v, size_t(32) << 20);
    v.assign(size_t(32) << 20, 1);
    const long after = anon_huge_kb();
    MESSAGE("THP mode: " << (mode.empty() ? "(not available)" : mode) << "AnonHugePages " << before
                         << " kB -> " << after << " kB after touching a 32 MiB advised buffer");
    CHECK(v[v.size() - 1] == 1);
    if (mode.find("[never]") == std::string::npos && !mode.empty())
        WARN_MESSAGE(after > before, "the kernel gave no huge page for an advised 32 MiB buffer");
}

TEST_CASE("reserve_huge reserves, keeps what the vector holds and leaves small vectors alone") {
    std::vector<uint8_t> small{1, 2, 3};
    reserve_huge(small, 100);
    CHECK(small.capacity() >= 100);
    CHECK(small == std::vector<uint8_t>{1, 2, 3});
    std::vector<uint32_t> big(5, 7u);
    reserve_huge(big, size_t(3) << 20); // 12 MiB of words
    CHECK(big.capacity() >= (size_t(3) << 20));
    CHECK(big == std::vector<uint32_t>(5, 7u));
    const size_t cap = big.capacity();
    reserve_huge(big, 10); // already there: nothing happens
    CHECK(big.capacity() == cap);
    advise_huge_pages(nullptr, 0); // nothing to advise: no call, no crash
    advise_huge_pages(big.data(), 100);
}

TEST_CASE("HugeAligned: 64-byte alignment below a huge page, huge-page alignment from one up") {
    std::vector<float, HugeAligned<float>> a(1000, 1.5f);
    CHECK(reinterpret_cast<uintptr_t>(a.data()) % 64 == 0);
    std::vector<float, HugeAligned<float>> b(kHugePageBytes / sizeof(float) + 3, -2.0f);
    CHECK(reinterpret_cast<uintptr_t>(b.data()) % kHugePageBytes == 0);
    CHECK(b.front() == -2.0f);
    CHECK(b.back() == -2.0f);
    b.assign(10, 3.0f); // reuses the large block; freed later with the alignment it was made with
    CHECK(b.size() == 10);
    b.shrink_to_fit();
    CHECK(reinterpret_cast<uintptr_t>(b.data()) % 64 == 0);
}

TEST_CASE("Image copies are whole and independent; moves move") {
    const Image src = pattern_image(1024, 1500); // 6 MB of pixels: the advised path
    Image copy = src;
    CHECK(copy.width == src.width);
    CHECK(copy.height == src.height);
    CHECK(copy.rgba == src.rgba);
    REQUIRE(copy.text.size() == 1);
    CHECK(copy.text[0].text == "a b c");
    copy.rgba[12345] ^= 0xFF;
    CHECK(copy.rgba != src.rgba); // no shared storage

    Image smaller = pattern_image(16, 4);
    smaller = src; // grows into a new buffer
    CHECK(smaller.rgba == src.rgba);
    Image larger = pattern_image(1024, 1600);
    const uint8_t* storage = larger.rgba.data();
    larger = src; // a copy into a buffer that holds it already: reused, not reallocated
    CHECK(larger.rgba == src.rgba);
    CHECK(larger.rgba.data() == storage);
    CHECK(larger.width == 1024);
    CHECK(larger.height == 1500);
    larger = pattern_image(8, 8); // a move assignment
    CHECK(larger.rgba.size() == 8 * 8 * 4);

    Image& self = copy;
    copy = self; // self-assignment keeps the image
    CHECK(copy.rgba.size() == src.rgba.size());

    Image moved = std::move(copy);
    CHECK(moved.rgba.size() == src.rgba.size());
    CHECK(copy.rgba.empty()); // NOLINT: moved-from vectors are empty for std::vector
}

TEST_CASE("KeepArena: aligned blocks, freed blocks reused and merged, one chunk for many small buffers") {
    KeepArena arena;
    CHECK(arena.chunk_bytes() == 0);
    std::vector<void*> blocks;
    for (size_t n : {1, 100, 4096, 300000, 65})
        blocks.push_back(arena.allocate(n));
    for (void* p : blocks)
        CHECK(reinterpret_cast<uintptr_t>(p) % KeepArena::kAlign == 0);
    CHECK(arena.chunk_bytes() == KeepArena::kMinChunk); // all in the first chunk
    // Blocks do not overlap: each written with its own byte, all read back.
    const size_t sizes[] = {1, 100, 4096, 300000, 65};
    for (size_t i = 0; i < blocks.size(); ++i)
        std::memset(blocks[i], int(i + 1), sizes[i]);
    for (size_t i = 0; i < blocks.size(); ++i)
        for (size_t j = 0; j < sizes[i]; j += 97)
            REQUIRE(static_cast<uint8_t*>(blocks[i])[j] == i + 1);
    // A freed block is handed out again for a request that fits it (first fit, lowest address).
    arena.deallocate(blocks[3], sizes[3]);
    CHECK(arena.allocate(200000) == blocks[3]);
    arena.deallocate(blocks[3], 200000);
    // Neighbours merge: with everything freed the chunk is one free block again, and a request of
    // the whole chunk fits without a second one.
    for (size_t i : {0, 1, 2, 4})
        arena.deallocate(blocks[i], sizes[i]);
    CHECK(arena.free_bytes() == KeepArena::kMinChunk);
    void* whole = arena.allocate(KeepArena::kMinChunk);
    CHECK(whole == blocks[0]);
    CHECK(arena.chunk_bytes() == KeepArena::kMinChunk);
    // Larger than a chunk: a chunk of its own, whole huge pages.
    void* big = arena.allocate(KeepArena::kMinChunk + 1);
    CHECK(arena.chunk_bytes() == 2 * KeepArena::kMinChunk + kHugePageBytes);
    arena.deallocate(big, KeepArena::kMinChunk + 1);
    arena.deallocate(whole, KeepArena::kMinChunk);
    CHECK(arena.free_bytes() == arena.chunk_bytes());
}

TEST_CASE("ArenaVector: grows, moves and releases within its arena; without one it uses the heap") {
    KeepArena arena;
    {
        ArenaVector<float> v{ArenaAllocator<float>(&arena)};
        for (int i = 0; i < 100000; ++i)
            v.push_back(float(i)); // growth: each reallocation frees the old block into the arena
        CHECK(v[99999] == 99999.0f);
        CHECK(arena.chunk_bytes() == KeepArena::kMinChunk);
        ArenaVector<float> moved = std::move(v);
        CHECK(moved.get_allocator().arena == &arena);
        ArenaVector<float> other{ArenaAllocator<float>(&arena)};
        other = std::move(moved); // propagates: still the arena
        CHECK(other.get_allocator().arena == &arena);
        CHECK(other.size() == 100000);
        other.clear();
        other.shrink_to_fit(); // what cpu_gemm's release() does: the storage goes, the arena stays
        CHECK(other.get_allocator().arena == &arena);
        CHECK(other.capacity() == 0);
    }
    CHECK(arena.free_bytes() == arena.chunk_bytes()); // everything given back
    ArenaVector<int16_t> heap(1000, int16_t(7));
    CHECK(heap.get_allocator().arena == nullptr);
    CHECK(reinterpret_cast<uintptr_t>(heap.data()) % 64 == 0);
    CHECK(heap[999] == 7);
}
