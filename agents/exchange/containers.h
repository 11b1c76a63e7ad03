// The compiled book's and registry's containers: IdMap, a hash map from 64-bit ids
// to values, and IdQueue, a FIFO of ids.
//
// IdMap. std::unordered_map allocates a node per entry and reduces every hash modulo a
// prime; the books and registries insert and erase an entry for every order that
// rests, millions per run. This is open addressing with linear probing in one
// power-of-two array of slots (Fibonacci hashing spreads the sequential order ids)
// and backward-shift deletion (no tombstones), so a lookup is a multiply, a shift
// and, mostly, one probe, and an insert or erase allocates nothing except when the
// table grows.
//
// Pointers returned by find() and operator[] are valid until the next insert or
// erase on the same map (either may move entries). The iteration order of
// capacity()/used()/key_at()/value_at() is unspecified; callers sort.
//
// IdQueue. A price level's queue of order ids: std::deque allocates a map and a
// 512-byte block for every new level, and levels come and go all the time. This is
// a vector and the index of its front; the consumed front is dropped when it is at
// least half the vector, so the vector holds at most about twice the ids still queued.
#ifndef SQUEEZE_CONTAINERS_H
#define SQUEEZE_CONTAINERS_H

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

template <class V>
class IdMap {
  public:
    IdMap() : mask_(0), shift_(64), size_(0) {}

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::size_t capacity() const { return slots_.size(); }
    bool used(std::size_t i) const { return slots_[i].used; }
    long long key_at(std::size_t i) const { return slots_[i].key; }
    V& value_at(std::size_t i) { return slots_[i].value; }

    // The value stored under key, or nullptr.
    V* find(long long key) {
        if (size_ == 0) return nullptr;
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (!s.used) return nullptr;
            if (s.key == key) return &s.value;
        }
    }

    bool contains(long long key) { return find(key) != nullptr; }

    // The value stored under key, inserted as V() if absent.
    V& operator[](long long key) {
        if (V* v = find(key)) return *v;
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        std::size_t i = home(key);
        while (slots_[i].used) i = (i + 1) & mask_;
        Slot& s = slots_[i];
        s.used = true;
        s.key = key;
        s.value = V();
        ++size_;
        return s.value;
    }

    // Remove key; whether it was there.
    bool erase(long long key) {
        if (size_ == 0) return false;
        std::size_t i = home(key);
        for (;; i = (i + 1) & mask_) {
            if (!slots_[i].used) return false;
            if (slots_[i].key == key) break;
        }
        // Backward shift: pull later entries of the probe run into the hole when their home allows.
        for (std::size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
            std::size_t k = home(slots_[j].key);
            // Entry j may move to hole i unless its home lies cyclically in (i, j].
            bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
            if (!stays) {
                slots_[i].key = slots_[j].key;
                slots_[i].value = std::move(slots_[j].value);
                i = j;
            }
        }
        slots_[i].used = false;
        slots_[i].value = V();  // release what the value holds
        --size_;
        return true;
    }

  private:
    struct Slot {
        long long key = 0;
        bool used = false;
        V value = V();
    };

    std::size_t home(long long key) const {
        return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ull) >> shift_);
    }

    void grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        std::size_t n = old.empty() ? 8 : old.size() * 2;
        int bits = 0;
        while ((std::size_t(1) << bits) < n) ++bits;
        slots_.assign(n, Slot());
        mask_ = n - 1;
        shift_ = 64 - bits;
        for (Slot& s : old) {
            if (!s.used) continue;
            std::size_t i = home(s.key);
            while (slots_[i].used) i = (i + 1) & mask_;
            slots_[i].used = true;
            slots_[i].key = s.key;
            slots_[i].value = std::move(s.value);
        }
    }

    std::vector<Slot> slots_;
    std::size_t mask_;
    int shift_;
    std::size_t size_;
};

class IdQueue {
  public:
    IdQueue() : head_(0) {}

    bool empty() const { return head_ == ids_.size(); }
    std::size_t size() const { return ids_.size() - head_; }
    long long front() const { return ids_[head_]; }
    const long long* begin() const { return ids_.data() + head_; }
    const long long* end() const { return ids_.data() + ids_.size(); }

    void push_back(long long id) {
        if (head_ >= 32 && head_ * 2 >= ids_.size()) {
            ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
        ids_.push_back(id);
    }

    void pop_front() {
        if (++head_ == ids_.size()) {
            ids_.clear();
            head_ = 0;
        }
    }

  private:
    std::vector<long long> ids_;
    std::size_t head_;
};

#endif
