#include "huge_pages.h"

#include <algorithm>

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

// Under AddressSanitizer a free block is poisoned, so a use of a kept buffer after its release is
// reported as it would be for the heap.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define PX_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define PX_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define PX_POISON(p, n) ((void)(p), (void)(n))
#define PX_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace px {

void advise_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHugePageBytes - 1);
    if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)p, (void)bytes;
#endif
}

KeepArena::~KeepArena() {
    for (const Chunk& c : chunks_) {
        PX_UNPOISON(c.p, c.bytes);
        ::operator delete(c.p, std::align_val_t(kHugePageBytes));
    }
}

void* KeepArena::allocate(size_t bytes) {
    bytes = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    for (auto it = free_.begin(); it != free_.end(); ++it) { // first fit: lowest address
        if (it->second < bytes) continue;
        char* p = it->first;
        const size_t left = it->second - bytes;
        free_.erase(it);
        if (left) free_.emplace(p + bytes, left);
        PX_UNPOISON(p, bytes);
        return p;
    }
    const size_t chunk = std::max(kMinChunk, (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes);
    char* p = static_cast<char*>(::operator new(chunk, std::align_val_t(kHugePageBytes)));
    advise_huge_pages(p, chunk);
    chunks_.push_back({p, chunk});
    if (chunk > bytes) {
        free_.emplace(p + bytes, chunk - bytes);
        PX_POISON(p + bytes, chunk - bytes);
    }
    return p;
}

void KeepArena::deallocate(void* ptr, size_t bytes) {
    if (!ptr) return;
    bytes = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    char* p = static_cast<char*>(ptr);
    auto [it, added] = free_.emplace(p, bytes);
    if (!added) return; // freed twice: the block is already free
    PX_POISON(p, bytes);
    // Merge with the free block after it and the one before it, within one chunk only: two chunks
    // may happen to be adjacent in memory, but each goes back to the system whole.
    auto same_chunk = [&](const char* a, const char* b) {
        for (const Chunk& c : chunks_)
            if (a >= c.p && a < c.p + c.bytes) return b >= c.p && b < c.p + c.bytes;
        return false;
    };
    if (auto next = std::next(it);
        next != free_.end() && it->first + it->second == next->first && same_chunk(it->first, next->first)) {
        it->second += next->second;
        free_.erase(next);
    }
    if (it != free_.begin()) {
        auto prev = std::prev(it);
        if (prev->first + prev->second == it->first && same_chunk(prev->first, it->first)) {
            prev->second += it->second;
            free_.erase(it);
        }
    }
}

size_t KeepArena::chunk_bytes() const {
    size_t n = 0;
    for (const Chunk& c : chunks_)
        n += c.bytes;
    return n;
}

size_t KeepArena::free_bytes() const {
    size_t n = 0;
    for (const auto& [p, bytes] : free_)
        n += bytes;
    return n;
}

} // namespace px
