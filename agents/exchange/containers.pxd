# The compiled book's and registry's C++ containers (containers.h): IdMap, a hash map from 64-bit ids
# to values (open addressing), and IdQueue, a FIFO of ids.

ctypedef long long i64

cdef extern from "containers.h" nogil:
    cdef cppclass IdMap[V]:
        IdMap()
        size_t size()
        bint empty()
        size_t capacity()
        bint used(size_t i)
        i64 key_at(size_t i)
        V& value_at(size_t i)
        V* find(i64 key)
        bint contains(i64 key)
        V& operator[](i64 key)
        bint erase(i64 key)

    cdef cppclass IdQueue:
        IdQueue()
        bint empty()
        size_t size()
        i64 front()
        const i64* begin()
        const i64* end()
        void push_back(i64 id)
        void pop_front()
