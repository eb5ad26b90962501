// bpe.cpp — byte-level BPE: table checks, training with incremental pair counts, encoding by
// merge rank with a heap per piece, decoding.
#include "bpe.h"

#include "pretokenize.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <queue>

namespace px {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
    return uint64_t(uint32_t(left)) << 32 | uint32_t(right);
}

std::string hex_byte(unsigned b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", b & 0xFF);
    return buf;
}

Error invalid(std::string message) {
    return make_error(ErrorCode::Invalid, std::move(message));
}

} // namespace

Status finalize_bpe(Bpe& bpe, const BpeWhere& where_in) {
    const BpeWhere where = where_in ? where_in : [](std::string_view kind, uint64_t i) {
        return std::string(kind) + " " + std::to_string(i);
    };
    bpe.merge_rank.clear();
    bpe.byte_token.fill(-1);
    const uint64_t vocab_size = bpe.vocab.size();
    if (vocab_size > uint64_t(INT32_MAX)) return invalid("the vocabulary has more than 2^31 - 1 tokens");
    if (bpe.pretokenizer != PreTokenizer::Gpt2Style)
        return invalid("unknown pre-tokenizer " + std::to_string(int32_t(bpe.pretokenizer)));
    for (uint64_t id = 0; id < vocab_size; ++id)
        if (bpe.vocab[id].empty())
            return invalid(where("token", id) + ": token " + std::to_string(id) + " is empty");
    // Which merge makes each token (-1: none), with the ids' ranges checked first.
    std::vector<int64_t> made_by(vocab_size, -1);
    const auto range_error = [&](uint64_t r, const char* what, int32_t id) {
        return invalid(where("merge", r) + ": " + what + " id " + std::to_string(id) +
                       " is outside the vocabulary (0.." + std::to_string(int64_t(vocab_size) - 1) + ")");
    };
    for (uint64_t r = 0; r < bpe.merges.size(); ++r) {
        const BpeMerge& m = bpe.merges[r];
        if (m.left < 0 || uint64_t(m.left) >= vocab_size) return range_error(r, "left", m.left);
        if (m.right < 0 || uint64_t(m.right) >= vocab_size) return range_error(r, "right", m.right);
        if (m.result < 0 || uint64_t(m.result) >= vocab_size) return range_error(r, "result", m.result);
        if (made_by[m.result] >= 0)
            return invalid(where("merge", r) + ": token " + std::to_string(m.result) +
                           " is made twice, by merges " + std::to_string(made_by[m.result]) + " and " +
                           std::to_string(r));
        made_by[m.result] = int64_t(r);
    }
    // Byte tokens: one byte, made by no merge; exactly one per byte value.
    for (uint64_t id = 0; id < vocab_size; ++id) {
        if (made_by[id] >= 0 || bpe.vocab[id].size() != 1) continue;
        const uint8_t b = uint8_t(bpe.vocab[id][0]);
        if (bpe.byte_token[b] >= 0)
            return invalid(where("token", id) + ": byte " + hex_byte(b) + " has two byte tokens, ids " +
                           std::to_string(bpe.byte_token[b]) + " and " + std::to_string(id));
        bpe.byte_token[b] = int32_t(id);
    }
    for (unsigned b = 0; b < 256; ++b)
        if (bpe.byte_token[b] < 0)
            return invalid(where("byte", b) + ": byte " + hex_byte(b) +
                           " has no byte token, so text containing it could not be encoded");
    for (uint64_t r = 0; r < bpe.merges.size(); ++r) {
        const BpeMerge& m = bpe.merges[r];
        for (const int32_t part : {m.left, m.right}) {
            const int64_t maker = made_by[part];
            if (maker >= int64_t(r))
                return invalid(where("merge", r) + ": token " + std::to_string(part) + " is made by merge " +
                               std::to_string(maker) + ", not before rank " + std::to_string(r) +
                               " (a merge may only use tokens made by earlier ranks)");
            if (maker < 0 &&
                (bpe.vocab[part].size() != 1 || bpe.byte_token[uint8_t(bpe.vocab[part][0])] != part))
                return invalid(where("merge", r) + ": token " + std::to_string(part) +
                               " is a special token (neither a byte token nor made by a merge)");
        }
        const std::string& l = bpe.vocab[m.left];
        const std::string& rt = bpe.vocab[m.right];
        const std::string& res = bpe.vocab[m.result];
        if (res.size() != l.size() + rt.size() || res.compare(0, l.size(), l) != 0 ||
            res.compare(l.size(), rt.size(), rt) != 0)
            return invalid(where("merge", r) + ": token " + std::to_string(m.result) +
                           "'s bytes are not those of tokens " + std::to_string(m.left) + " and " +
                           std::to_string(m.right) + " joined");
        const auto [it, fresh] = bpe.merge_rank.emplace(pair_key(m.left, m.right), uint32_t(r));
        if (!fresh)
            return invalid(where("merge", r) + ": the pair (" + std::to_string(m.left) + ", " +
                           std::to_string(m.right) + ") is merged twice, by ranks " +
                           std::to_string(it->second) + " and " + std::to_string(r));
    }
    return Ok{};
}

// ---- training ----

namespace {

struct HeapEntry {
    int64_t count;
    uint64_t key;
};
// Max count first; among equal counts the smallest (left, right).
struct HeapLess {
    bool operator()(const HeapEntry& a, const HeapEntry& b) const {
        return a.count != b.count ? a.count < b.count : a.key > b.key;
    }
};

} // namespace

Result<Bpe> train_bpe(std::string_view text, const TrainOptions& options) {
    const uint64_t fixed = 256 + options.specials.size();
    if (options.vocab_size < fixed)
        return make_error(ErrorCode::Usage, "vocabulary size " + std::to_string(options.vocab_size) +
                                                " is below 256 byte tokens + " +
                                                std::to_string(options.specials.size()) + " special tokens");
    if (options.vocab_size > uint32_t(INT32_MAX))
        return make_error(ErrorCode::Usage, "vocabulary size above 2^31 - 1");
    for (const std::string& s : options.specials)
        if (s.empty()) return make_error(ErrorCode::Usage, "a special token is empty");
    Bpe bpe;
    for (int b = 0; b < 256; ++b)
        bpe.vocab.push_back(std::string(1, char(b)));

    // Unique words with their counts.
    std::unordered_map<std::string_view, uint64_t> word_counts;
    for_each_piece(text, [&](std::string_view piece) { ++word_counts[piece]; });
    std::vector<std::vector<int32_t>> words;
    std::vector<int64_t> counts;
    words.reserve(word_counts.size());
    for (const auto& [piece, count] : word_counts) {
        if (piece.size() < 2) continue; // no pairs
        std::vector<int32_t> syms(piece.size());
        for (size_t i = 0; i < piece.size(); ++i)
            syms[i] = uint8_t(piece[i]);
        words.push_back(std::move(syms));
        counts.push_back(int64_t(count));
    }
    word_counts.clear();

    std::unordered_map<uint64_t, int64_t> pair_count;
    std::unordered_map<uint64_t, std::vector<uint32_t>> where; // words that may hold the pair
    for (uint32_t w = 0; w < words.size(); ++w)
        for (size_t i = 0; i + 1 < words[w].size(); ++i) {
            const uint64_t k = pair_key(words[w][i], words[w][i + 1]);
            pair_count[k] += counts[w];
            where[k].push_back(w);
        }
    std::vector<HeapEntry> heap_store;
    heap_store.reserve(pair_count.size());
    for (const auto& [k, c] : pair_count)
        heap_store.push_back({c, k});
    std::priority_queue<HeapEntry, std::vector<HeapEntry>, HeapLess> heap(HeapLess{}, std::move(heap_store));

    const uint64_t merge_target = options.vocab_size - fixed;
    std::vector<std::pair<uint64_t, int>> delta;
    std::vector<int32_t> merged;
    while (bpe.merges.size() < merge_target && !heap.empty()) {
        const HeapEntry top = heap.top();
        heap.pop();
        const auto pc = pair_count.find(top.key);
        const int64_t current = pc == pair_count.end() ? 0 : pc->second;
        if (current != top.count) { // stale: a later change lowered it
            if (current > 0) heap.push({current, top.key});
            continue;
        }
        if (uint64_t(current) < std::max<uint64_t>(options.min_pair_count, 1)) break;
        const int32_t a = int32_t(top.key >> 32), b = int32_t(uint32_t(top.key));
        const int32_t id = int32_t(bpe.vocab.size());
        bpe.vocab.push_back(bpe.vocab[a] + bpe.vocab[b]);
        bpe.merges.push_back({a, b, id});

        std::vector<uint32_t> list = std::move(where[top.key]);
        where.erase(top.key);
        std::sort(list.begin(), list.end());
        list.erase(std::unique(list.begin(), list.end()), list.end());
        for (const uint32_t w : list) {
            std::vector<int32_t>& s = words[w];
            merged.clear();
            bool any = false;
            for (size_t i = 0; i < s.size();) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    merged.push_back(id), i += 2, any = true;
                } else {
                    merged.push_back(s[i]), ++i;
                }
            }
            if (!any) continue;
            // The word's pair multiset before and after; only the difference changes counts.
            delta.clear();
            for (size_t i = 0; i + 1 < s.size(); ++i)
                delta.push_back({pair_key(s[i], s[i + 1]), -1});
            for (size_t i = 0; i + 1 < merged.size(); ++i)
                delta.push_back({pair_key(merged[i], merged[i + 1]), +1});
            std::sort(delta.begin(), delta.end());
            for (size_t i = 0; i < delta.size();) {
                const uint64_t k = delta[i].first;
                int d = 0;
                for (; i < delta.size() && delta[i].first == k; ++i)
                    d += delta[i].second;
                if (d == 0) continue;
                int64_t& c = pair_count[k];
                c += d * counts[w];
                if (d > 0) {
                    where[k].push_back(w);
                    heap.push({c, k});
                }
                if (c == 0) pair_count.erase(k);
            }
            s.swap(merged);
        }
    }
    for (const std::string& s : options.specials)
        bpe.vocab.push_back(s);
    if (Status st = finalize_bpe(bpe); !st) return st.error();
    return bpe;
}

// ---- encoding ----

namespace {

struct PieceHeapEntry {
    uint32_t rank;
    uint32_t pos;
    bool operator>(const PieceHeapEntry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

struct Scratch {
    std::vector<int32_t> ids, next, prev;
    std::vector<PieceHeapEntry> heap;
};

// Merges by rank within one piece, appending its ids to out.
void encode_piece(const Bpe& bpe, std::string_view piece, Scratch& s, std::vector<int32_t>& out) {
    const uint32_t n = uint32_t(piece.size());
    s.ids.resize(n), s.next.resize(n), s.prev.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
        s.ids[i] = bpe.byte_token[uint8_t(piece[i])];
        s.next[i] = i + 1 < n ? int32_t(i + 1) : -1;
        s.prev[i] = int32_t(i) - 1;
    }
    const auto rank_of = [&](int32_t l, int32_t r) -> int64_t {
        const auto it = bpe.merge_rank.find(pair_key(l, r));
        return it == bpe.merge_rank.end() ? -1 : int64_t(it->second);
    };
    const auto greater = std::greater<PieceHeapEntry>();
    s.heap.clear();
    const auto push = [&](int32_t pos) {
        if (pos < 0 || s.next[pos] < 0) return;
        const int64_t r = rank_of(s.ids[pos], s.ids[s.next[pos]]);
        if (r < 0) return;
        s.heap.push_back({uint32_t(r), uint32_t(pos)});
        std::push_heap(s.heap.begin(), s.heap.end(), greater);
    };
    for (uint32_t i = 0; i + 1 < n; ++i)
        push(int32_t(i));
    while (!s.heap.empty()) {
        std::pop_heap(s.heap.begin(), s.heap.end(), greater);
        const PieceHeapEntry e = s.heap.back();
        s.heap.pop_back();
        const int32_t pos = int32_t(e.pos);
        if (s.ids[pos] < 0 || s.next[pos] < 0) continue;                          // merged away, or now last
        if (rank_of(s.ids[pos], s.ids[s.next[pos]]) != int64_t(e.rank)) continue; // stale
        const int32_t j = s.next[pos];
        s.ids[pos] = bpe.merges[e.rank].result;
        s.ids[j] = -1;
        s.next[pos] = s.next[j];
        if (s.next[j] >= 0) s.prev[s.next[j]] = pos;
        push(s.prev[pos]);
        push(pos);
    }
    for (int32_t i = 0; i >= 0; i = s.next[i])
        out.push_back(s.ids[i]);
}

} // namespace

std::vector<int32_t> encode(const Bpe& bpe, std::string_view text) {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 16);
    Scratch scratch;
    // Words repeat: a cache of short pieces' ids (bounded, so memory stays proportional).
    std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>>
        cache; // piece -> (offset, count) in cache_ids
    std::vector<int32_t> cache_ids;
    for_each_piece(text, [&](std::string_view piece) {
        if (piece.size() == 1) {
            out.push_back(bpe.byte_token[uint8_t(piece[0])]);
            return;
        }
        if (piece.size() > 64) {
            encode_piece(bpe, piece, scratch, out);
            return;
        }
        if (const auto it = cache.find(piece); it != cache.end()) {
            out.insert(out.end(), cache_ids.begin() + it->second.first,
                       cache_ids.begin() + it->second.first + it->second.second);
            return;
        }
        const size_t before = out.size();
        encode_piece(bpe, piece, scratch, out);
        if (cache.size() >= (1u << 20)) cache.clear(), cache_ids.clear();
        cache.emplace(
            piece, std::pair<uint32_t, uint32_t>(uint32_t(cache_ids.size()), uint32_t(out.size() - before)));
        cache_ids.insert(cache_ids.end(), out.begin() + before, out.end());
    });
    return out;
}

Result<std::string> decode(const Bpe& bpe, std::span<const int32_t> ids) {
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
        const int32_t id = ids[i];
        if (id < 0 || uint64_t(id) >= bpe.vocab.size())
            return make_error(ErrorCode::Usage, "token " + std::to_string(i) + ": id " + std::to_string(id) +
                                                    " is outside the vocabulary (0.." +
                                                    std::to_string(int64_t(bpe.vocab.size()) - 1) + ")");
        out += bpe.vocab[id];
    }
    return out;
}

BpeCounts bpe_counts(const Bpe& bpe) {
    BpeCounts c;
    c.byte_tokens = 256;
    c.merged = bpe.merges.size();
    c.special = bpe.vocab.size() >= 256 + bpe.merges.size() ? bpe.vocab.size() - 256 - bpe.merges.size() : 0;
    for (const std::string& t : bpe.vocab)
        c.vocab_bytes += t.size();
    return c;
}

} // namespace px
