# The ladder's tick arithmetic, for the maker's compiled step (agents.market_maker_native).

ctypedef long long i64


cpdef double py_floordiv(double vx, double wx) except? -1.0
cdef i64 trunc_int(double x) except? -1
