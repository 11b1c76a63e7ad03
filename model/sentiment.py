"""Trader sentiment on a social graph: graph building and the vectorised update.

Plain Python + numpy + scipy.sparse + networkx (no mesa, no project imports).
Traders are nodes ``0..n-1``; sentiment is one float64 array ``s`` of length
``n`` with values in ``[-1, 1]`` (``-1`` fully bearish, ``+1`` fully bullish).

Influence matrix
----------------
``W = influence_matrix(graph, n, hubs, hub_weight)`` is built once::

    W[i, j] = w_ij * h_j / sum_k (w_ik * h_k)     for neighbours j != i of i
    h_j     = hub_weight if j is a hub else 1.0
    w_ij    = edge attribute "weight" (default 1.0, must be >= 0)

Self loops are ignored.  A row whose total weight is zero (isolated node, or
all its neighbours carry zero weight) is all zeros; such a node "has no
neighbours" for the update below.

Update formula (one call of :func:`update_sentiment`)
-----------------------------------------------------
For every trader ``i`` (all coefficients are per-trader arrays)::

    m_i = (W s)_i         if row i of W has weight        (neighbour mean)
        = s_i             otherwise                        (no neighbours)
    x_i = persistence_i * (s_i + conformity_i * (m_i - s_i))
        + momentum_i    * tanh(recent_return_i / return_scale)
        + pain_i        * pain_signal_i
        + news_i
        + noise_i       * z_i                              z ~ N(0, 1)
    s_i <- clip(x_i, -1, 1)                                (plain clip, no tanh)

* ``conformity`` in ``[0, 1]`` is a convex mixing toward the neighbours'
  weighted mean.  With uniform conformity and a doubly stochastic ``W`` (e.g.
  a complete graph) the mixing preserves the mean exactly, so "conformity
  only" converges to the initial mean; isolated nodes keep their sentiment.
* ``persistence`` is memory / inertia: ``1`` keeps the (mixed) previous
  sentiment in full, ``< 1`` lets sentiment relax toward neutral ``0`` when no
  stimulus arrives.  "Conformity only" therefore means ``persistence = 1``
  and momentum = pain = noise = news = 0.
* ``momentum`` is signed: ``> 0`` chases the recent return, ``< 0`` is
  contrarian.  ``recent_return`` is a scalar (market-wide) or per-trader
  array; ``return_scale`` (default ``0.01`` = 1 %) sets where tanh saturates.
* **pain contract**: ``pain >= 0`` and ``pain_signal`` is passed *already
  signed against the trader's position*: ``+loss`` for a losing short (pushes
  it bullish), ``-loss`` for a losing long (pushes it bearish), ``0`` when
  flat or in profit; ``loss`` is the unrealised loss as a fraction of equity.
* ``news`` is a length-n array (see :func:`news_vector`, :func:`decay_factor`);
  the caller applies any decay.
* ``z`` is drawn once per call as ``rng.standard_normal(n)`` (always drawn,
  even when every noise coefficient is 0, so the rng stream does not depend on
  the coefficients), unless ``noise_draw`` is supplied, in which case it is
  used verbatim and ``rng`` is not touched.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

__all__ = [
    "GRAPH_KINDS",
    "NEWS_TARGETS",
    "SentimentCoefficients",
    "build_graph",
    "decay_factor",
    "influence_matrix",
    "news_vector",
    "pick_hubs",
    "read_edge_list",
    "update_sentiment",
]

#: required parameter names per graph kind
GRAPH_KINDS: dict[str, tuple[str, ...]] = {
    "barabasi_albert": ("m",),
    "watts_strogatz": ("k", "p"),
    "erdos_renyi": ("p",),
    "complete": (),
    "edge_list": (),
}
NEWS_TARGETS: tuple[str, ...] = ("all", "fraction", "hubs")

_SPLIT = re.compile(r"[,\s;]+")


# --------------------------------------------------------------------------- graphs
def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return int(n)


def _int_param(kind: str, params: dict, name: str, lo: int, hi: int) -> int:
    v = params[name]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise ValueError(f"graph kind {kind!r}: param {name!r} must be an integer in "
                         f"[{lo}, {hi}], got {v!r}")
    return int(v)


def _prob_param(kind: str, params: dict, name: str) -> float:
    v = params[name]
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not 0.0 <= v <= 1.0:
        raise ValueError(f"graph kind {kind!r}: param {name!r} must be a probability in "
                         f"[0, 1], got {v!r}")
    return float(v)


def read_edge_list(path: str | Path, n: int) -> nx.Graph:
    """Read a two- or three-column edge list into a graph on nodes ``0..n-1``.

    Columns are separated by whitespace, commas or semicolons: ``u v [weight]``.
    Blank lines and ``#`` comments are skipped, as is a first line whose first
    two fields are not numbers (a CSV header).  Node ids must be integers in
    ``0..n-1``; weights must be finite and ``>= 0``.  Nodes that appear in no
    edge are isolated.  Raises ``ValueError`` (with file and line) otherwise.
    """
    n = _check_n(n)
    path = Path(path)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    seen_data = False
    with path.open() as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            tok = [t for t in _SPLIT.split(line) if t]
            where = f"{path}:{lineno}"
            if not seen_data and len(tok) >= 2 and not any(
                    re.fullmatch(r"[-+]?[\d.eE+-]+", t) for t in tok[:2]):
                seen_data = True  # header line
                continue
            seen_data = True
            if len(tok) not in (2, 3):
                raise ValueError(f"{where}: expected 2 or 3 columns, got {len(tok)}: {raw!r}")
            try:
                u, v = int(tok[0]), int(tok[1])
            except ValueError:
                raise ValueError(f"{where}: node ids must be integers, got {tok[:2]}") from None
            for node in (u, v):
                if not 0 <= node < n:
                    raise ValueError(f"{where}: node id {node} out of range 0..{n - 1}")
            w = 1.0
            if len(tok) == 3:
                try:
                    w = float(tok[2])
                except ValueError:
                    raise ValueError(f"{where}: weight must be a number, got {tok[2]!r}") from None
                if not math.isfinite(w) or w < 0:
                    raise ValueError(f"{where}: weight must be finite and >= 0, got {w}")
            graph.add_edge(u, v, weight=w)
    return graph


def build_graph(kind: str, n: int, params: dict, rng: np.random.Generator,
                edge_list: str | Path | None = None) -> nx.Graph:
    """Build the social graph on nodes ``0..n-1``.

    ``kind`` / required ``params``: ``barabasi_albert`` (``m``, 1 <= m < n),
    ``watts_strogatz`` (``k`` in 0..n, ``p`` in [0, 1]), ``erdos_renyi``
    (``p`` in [0, 1]), ``complete`` (none), ``edge_list`` (none; the file is
    ``edge_list`` or ``params["path"]``, see :func:`read_edge_list`).
    Random kinds draw exactly one seed ``int(rng.integers(2**31))`` for
    networkx, so the same rng state yields the same graph; deterministic kinds
    do not touch ``rng``.  Unknown kinds, missing or unexpected params and
    out-of-range values raise ``ValueError`` naming the kind / param.
    """
    if kind not in GRAPH_KINDS:
        raise ValueError(f"unknown graph kind {kind!r}; expected one of {sorted(GRAPH_KINDS)}")
    n = _check_n(n)
    params = dict(params or {})
    allowed = set(GRAPH_KINDS[kind]) | ({"path"} if kind == "edge_list" else set())
    missing = [p for p in GRAPH_KINDS[kind] if p not in params]
    if missing:
        raise ValueError(f"graph kind {kind!r}: missing param(s) {missing}")
    extra = sorted(set(params) - allowed)
    if extra:
        raise ValueError(f"graph kind {kind!r}: unexpected param(s) {extra}; "
                         f"allowed {sorted(allowed)}")

    if kind == "complete":
        return nx.complete_graph(n)
    if kind == "edge_list":
        path = edge_list if edge_list is not None else params.get("path")
        if path is None:
            raise ValueError("graph kind 'edge_list' needs an edge_list path")
        return read_edge_list(path, n)

    if kind == "barabasi_albert":
        if n < 2:
            raise ValueError(f"graph kind {kind!r}: needs n >= 2, got {n}")
        m = _int_param(kind, params, "m", 1, n - 1)
        graph = nx.barabasi_albert_graph(n, m, seed=int(rng.integers(2**31)))
    elif kind == "watts_strogatz":
        k = _int_param(kind, params, "k", 0, n)
        p = _prob_param(kind, params, "p")
        graph = nx.watts_strogatz_graph(n, k, p, seed=int(rng.integers(2**31)))
    else:  # erdos_renyi
        p = _prob_param(kind, params, "p")
        seed = int(rng.integers(2**31))
        # fast_gnp divides by log(1 - p), which is 0 for p below ~1e-16
        gen = nx.fast_gnp_random_graph if 1.0 - p != 1.0 else nx.gnp_random_graph
        graph = gen(n, p, seed=seed)
    graph.add_nodes_from(range(n))
    return graph


def pick_hubs(graph: nx.Graph, n_hubs: int) -> np.ndarray:
    """Return the ``n_hubs`` highest-degree nodes as an int64 array.

    Ordered by degree descending, ties broken by ascending node id (fully
    deterministic).  ``n_hubs`` must be in ``0..graph.number_of_nodes()``.
    """
    if isinstance(n_hubs, bool) or not isinstance(n_hubs, (int, np.integer)) \
            or not 0 <= n_hubs <= graph.number_of_nodes():
        raise ValueError(f"n_hubs must be an integer in 0..{graph.number_of_nodes()}, "
                         f"got {n_hubs!r}")
    ranked = sorted(graph.degree(), key=lambda nd: (-nd[1], nd[0]))
    return np.array([node for node, _ in ranked[:int(n_hubs)]], dtype=np.int64)


def influence_matrix(graph: nx.Graph, n: int, hubs: np.ndarray | None = None,
                     hub_weight: float = 1.0) -> sp.csr_matrix:
    """Row-normalised influence matrix ``W`` (n x n CSR, float64).

    ``W[i, j] = w_ij * h_j / sum_k w_ik * h_k`` over neighbours ``j != i``,
    with ``h_j = hub_weight`` for hubs and ``1`` otherwise, ``w_ij`` the edge
    ``"weight"`` (default 1).  Rows with zero total weight are all zero.
    Self loops are ignored; explicit zeros are removed.
    """
    n = _check_n(n)
    if not math.isfinite(hub_weight) or hub_weight < 0:
        raise ValueError(f"hub_weight must be finite and >= 0, got {hub_weight}")
    mult = np.ones(n)
    if hubs is not None:
        hubs = np.asarray(hubs, dtype=np.int64).ravel()
        if hubs.size and (hubs.min() < 0 or hubs.max() >= n):
            raise ValueError(f"hub ids must be in 0..{n - 1}")
        mult[hubs] = float(hub_weight)
    rows, cols, vals = [], [], []
    for u, v, w in graph.edges(data="weight", default=1.0):
        if not (0 <= u < n and 0 <= v < n):
            raise ValueError(f"graph node out of range 0..{n - 1}: edge ({u}, {v})")
        if u == v:
            continue
        w = float(w)
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"edge ({u}, {v}) weight must be finite and >= 0, got {w}")
        rows += [u, v]
        cols += [v, u]
        vals += [w, w]
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    data = np.asarray(vals, dtype=np.float64) * mult[c]
    total = np.bincount(r, weights=data, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        data = np.where(total[r] > 0, data / total[r], 0.0)
    W = sp.csr_matrix((data, (r, c)), shape=(n, n), dtype=np.float64)
    W.eliminate_zeros()
    W.sort_indices()
    return W


# --------------------------------------------------------------------------- news
def news_vector(n: int, target: str, amount: float, rng: np.random.Generator,
                fraction: float | None = None, hubs: np.ndarray | None = None) -> np.ndarray:
    """Per-trader news shift of length ``n``.

    ``target``: ``"all"`` (every trader gets ``amount``), ``"fraction"`` (a
    random subset of ``round(fraction * n)`` distinct traders drawn with
    ``rng.choice(n, k, replace=False)``), ``"hubs"`` (the given ``hubs`` only).
    Everyone else gets 0.  Only ``"fraction"`` consumes ``rng``.
    """
    n = _check_n(n)
    amount = float(amount)
    out = np.zeros(n)
    if target == "all":
        out[:] = amount
    elif target == "fraction":
        if fraction is None or not 0.0 <= fraction <= 1.0:
            raise ValueError(f"news target 'fraction' needs fraction in [0, 1], got {fraction!r}")
        k = int(round(fraction * n))
        out[rng.choice(n, size=k, replace=False)] = amount
    elif target == "hubs":
        if hubs is None:
            raise ValueError("news target 'hubs' needs a hubs array")
        hubs = np.asarray(hubs, dtype=np.int64).ravel()
        if hubs.size and (hubs.min() < 0 or hubs.max() >= n):
            raise ValueError(f"hub ids must be in 0..{n - 1}")
        out[hubs] = amount
    else:
        raise ValueError(f"unknown news target {target!r}; expected one of {NEWS_TARGETS}")
    return out


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    """Exponential decay multiplier ``0.5 ** (elapsed_s / half_life_s)``.

    ``half_life_s`` must be ``> 0`` (``math.inf`` means no decay);
    ``elapsed_s`` must be ``>= 0``.
    """
    if not half_life_s > 0:
        raise ValueError(f"half_life_s must be > 0, got {half_life_s}")
    if not elapsed_s >= 0:
        raise ValueError(f"elapsed_s must be >= 0, got {elapsed_s}")
    if math.isinf(half_life_s):
        return 1.0
    return float(0.5 ** (elapsed_s / half_life_s))


def acted_on(s: float, conviction: float) -> float:
    """The part of sentiment ``s`` that moves behaviour, with a conviction threshold.

    Sentiment weaker than ``conviction`` in magnitude moves nothing; beyond it
    the excess acts, rescaled so that ``±1`` still acts as ``±1``::

        acted_on(s, c) = sign(s) * max(0, |s| - c) / (1 - c)

    This is the threshold response of Ghoulmié, Cont & Nadal (2005): traders
    act on a signal only once it is strong enough. With ``conviction = 0`` it
    returns ``s`` unchanged.
    """
    if conviction == 0.0:
        return s
    excess = abs(s) - conviction
    return 0.0 if excess <= 0.0 else math.copysign(excess / (1.0 - conviction), s)


# --------------------------------------------------------------------------- update
@dataclass
class SentimentCoefficients:
    """Per-trader coefficient arrays (float64, all of length n); see module docstring."""

    conformity: np.ndarray   # weight on neighbours' weighted mean (convex mixing, [0, 1])
    momentum: np.ndarray     # signed: > 0 chase returns, < 0 contrarian
    pain: np.ndarray         # >= 0 weight on the signed pain signal
    noise: np.ndarray        # >= 0 std of Gaussian noise per update
    persistence: np.ndarray  # memory: 1 keeps sentiment, < 1 relaxes toward 0

    def __post_init__(self) -> None:
        n = None
        for f in fields(self):
            arr = np.ascontiguousarray(getattr(self, f.name), dtype=np.float64)
            if arr.ndim != 1:
                raise ValueError(f"coefficient {f.name!r} must be 1-D, got shape {arr.shape}")
            if n is None:
                n = arr.size
            elif arr.size != n:
                raise ValueError(f"coefficient {f.name!r} has length {arr.size}, expected {n}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"coefficient {f.name!r} must be finite")
            setattr(self, f.name, arr)
        for name in ("pain", "noise"):
            if np.any(getattr(self, name) < 0):
                raise ValueError(f"coefficient {name!r} must be >= 0")

    @property
    def n(self) -> int:
        """Number of traders."""
        return int(self.conformity.size)

    @classmethod
    def uniform(cls, n: int, conformity: float = 0.0, momentum: float = 0.0,
                pain: float = 0.0, noise: float = 0.0,
                persistence: float = 1.0) -> "SentimentCoefficients":
        """Homogeneous coefficients (same value for every trader)."""
        n = _check_n(n)
        return cls(np.full(n, conformity), np.full(n, momentum), np.full(n, pain),
                   np.full(n, noise), np.full(n, persistence))


def _full_length(v: float | np.ndarray, n: int) -> np.ndarray:
    """``v`` as float64 of length ``n`` (a scalar broadcast); a float64 array of that length as it is."""
    if type(v) is np.ndarray and v.dtype == np.float64 and v.shape == (n,):
        return v  # most inputs: skips broadcast_to, which costs microseconds a call
    return np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))


_CSR_INDEX = (np.dtype(np.int32), np.dtype(np.int64))


def _plain_csr(W, s: np.ndarray) -> bool:
    """Whether the compiled neighbours' mean takes ``W`` and ``s`` as they are: float64 and contiguous, with
    int32 or int64 indices (scipy's own, whatever their count)."""
    return (W.data.dtype == np.float64 and W.indices.dtype == W.indptr.dtype and W.indptr.dtype in _CSR_INDEX
            and W.data.flags.c_contiguous and W.indices.flags.c_contiguous and W.indptr.flags.c_contiguous
            and s.flags.c_contiguous)


def update_sentiment(s: np.ndarray, W: sp.csr_matrix, coef: SentimentCoefficients,
                     recent_return: float | np.ndarray, pain_signal: float | np.ndarray,
                     news: float | np.ndarray, rng: np.random.Generator | None,
                     out: np.ndarray | None = None, *, return_scale: float = 0.01,
                     noise_draw: np.ndarray | None = None, native=None) -> np.ndarray:
    """One synchronous sentiment update; returns the new array (``out`` if given).

    Implements the formula in the module docstring.  ``recent_return``,
    ``pain_signal`` and ``news`` may be scalars or length-n arrays.  The
    Gaussian draw ``z`` is ``rng.standard_normal(n)`` (one draw of n per call)
    unless ``noise_draw`` is given.  ``out`` may alias ``s`` (in-place update).
    ``native`` is the compiled kernels (``model.sentiment_native``), for the
    neighbours' mean and the mixing step, or None for numpy's and scipy's;
    both give the same values to the last bit (a NaN's payload bits aside).
    """
    s = np.asarray(s, dtype=np.float64)
    n = s.size
    if s.ndim != 1 or W.shape != (n, n) or coef.n != n:
        raise ValueError(f"shape mismatch: s {s.shape}, W {W.shape}, coefficients n={coef.n}")
    if not return_scale > 0:
        raise ValueError(f"return_scale must be > 0, got {return_scale}")
    if not sp.isspmatrix_csr(W) and not isinstance(W, sp.csr_array):
        W = sp.csr_matrix(W)
    if noise_draw is None:
        if rng is None:
            raise ValueError("rng is required when noise_draw is not given")
        z = rng.standard_normal(n)
    else:
        z = np.asarray(noise_draw, dtype=np.float64)
        if z.shape != (n,):
            raise ValueError(f"noise_draw must have shape ({n},), got {z.shape}")

    if native is not None and _plain_csr(W, s):
        m = np.empty(n)
        native.neighbour_mean(m, s, W.indptr, W.indices, W.data)
    else:
        m = np.where(np.diff(W.indptr) > 0, W @ s, s)
    tanh_return = np.tanh(np.asarray(recent_return, dtype=np.float64) / return_scale)
    if out is None:
        out = np.empty(n)
    if native is not None and out.dtype == np.float64 and out.flags.c_contiguous:
        c = coef
        native.mix(out, s, m, *(_full_length(v, n) for v in (
            c.conformity, c.persistence, c.momentum, tanh_return, c.pain, pain_signal, news, c.noise, z)))
        return out
    x = s + coef.conformity * (m - s)
    x *= coef.persistence
    x += coef.momentum * tanh_return
    x += coef.pain * np.asarray(pain_signal, dtype=np.float64)
    x += np.asarray(news, dtype=np.float64)
    x += coef.noise * z
    return np.clip(x, -1.0, 1.0, out=out)
