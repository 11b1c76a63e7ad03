"""Tests for model.sentiment: graphs, influence matrix, news and the update."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.exchange.native import sentiment_native
from agents.traders import NoiseTrader
from model.market import MarketModel
from model.mood import Mood
from model.scenario import load_scenario
from model.sentiment import (
    SentimentCoefficients,
    acted_on,
    build_graph,
    decay_factor,
    influence_matrix,
    news_vector,
    pick_hubs,
    update_sentiment,
)
from tests.conftest import SCENARIOS
from tests.reference.sentiment_loop import reference_update

KIND_PARAMS = {
    "barabasi_albert": lambda n, d: {"m": int(d.draw(st.integers(1, n - 1)))},
    "watts_strogatz": lambda n, d: {"k": int(d.draw(st.integers(0, n))),
                                    "p": d.draw(st.floats(0, 1))},
    "erdos_renyi": lambda n, d: {"p": d.draw(st.floats(0, 1))},
    "complete": lambda n, d: {},
}


def random_coefficients(n: int, rng: np.random.Generator) -> SentimentCoefficients:
    """Heterogeneous coefficients spanning every term (some values push into the clip)."""
    return SentimentCoefficients(
        conformity=rng.uniform(0, 1, n),
        momentum=rng.uniform(-0.5, 0.5, n),
        pain=rng.uniform(0, 2, n),
        noise=rng.uniform(0, 0.3, n),
        persistence=rng.uniform(0.5, 1, n),
    )


def write_edges(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------ equivalence
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(sorted(KIND_PARAMS)), n=st.integers(2, 60),
       seed=st.integers(0, 2**32 - 1))
def test_vectorised_matches_reference_loop(data, kind, n, seed):
    rng = np.random.default_rng(seed)
    graph = build_graph(kind, n, KIND_PARAMS[kind](n, data), rng)
    n_hubs = data.draw(st.integers(0, min(n, 5)))
    hub_weight = data.draw(st.sampled_from([0.0, 0.5, 1.0, 3.0, 25.0]))
    hubs = pick_hubs(graph, n_hubs)
    W = influence_matrix(graph, n, hubs, hub_weight)
    coef = random_coefficients(n, rng)
    return_scale = data.draw(st.sampled_from([0.01, 0.05, 1.0]))
    s = rng.uniform(-1, 1, n)
    for _ in range(4):
        recent = float(rng.normal(0, 0.02)) if rng.random() < 0.5 else rng.normal(0, 0.02, n)
        pain_signal = rng.uniform(-0.5, 0.5, n) * (rng.random(n) < 0.5)
        news = rng.normal(0, 0.3, n)
        z = rng.standard_normal(n)
        fast = update_sentiment(s, W, coef, recent, pain_signal, news, None,
                                return_scale=return_scale, noise_draw=z)
        slow = np.array(reference_update(graph, s.tolist(), coef, recent, pain_signal, news,
                                         z.tolist(), hubs, hub_weight, return_scale))
        assert np.max(np.abs(fast - slow)) <= 1e-12
        assert np.all(np.abs(fast) <= 1.0)
        s = fast


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_weighted_edge_list_matches_reference(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = 25
    lines = ["source,target,weight"]
    for _ in range(60):
        u, v = rng.integers(n, size=2)
        lines.append(f"{u},{v},{rng.uniform(0, 3):.6f}")
    graph = build_graph("edge_list", n, {}, rng, write_edges(tmp_path / "e.csv", lines))
    hubs = pick_hubs(graph, 3)
    W = influence_matrix(graph, n, hubs, 4.0)
    coef = random_coefficients(n, rng)
    s = rng.uniform(-1, 1, n)
    for _ in range(5):
        z = rng.standard_normal(n)
        args = (0.013, rng.uniform(-0.3, 0.3, n), rng.normal(0, 0.2, n))
        fast = update_sentiment(s, W, coef, *args, None, noise_draw=z)
        slow = reference_update(graph, list(s), coef, *args, list(z), hubs, 4.0)
        assert np.max(np.abs(fast - np.array(slow))) <= 1e-12
        s = fast


# ------------------------------------------------------------------ dynamics
@pytest.mark.parametrize("n,c", [(3, 1.0), (30, 0.5), (60, 0.2)])
def test_complete_graph_conformity_converges_to_initial_mean(n, c):
    rng = np.random.default_rng(n)
    W = influence_matrix(build_graph("complete", n, {}, rng), n)
    coef = SentimentCoefficients.uniform(n, conformity=c)  # persistence 1, rest 0
    s = rng.uniform(-1, 1, n)
    mean0 = s.mean()
    for _ in range(400):
        s = update_sentiment(s, W, coef, 0.0, 0.0, 0.0, rng)
    assert np.max(np.abs(s - mean0)) < 1e-6
    assert abs(s.mean() - mean0) < 1e-12


def test_isolated_nodes_keep_sentiment_under_conformity():
    n = 6
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edge(0, 1)
    W = influence_matrix(graph, n)
    s = np.array([0.8, -0.4, 0.3, -0.9, 0.1, 0.55])
    coef = SentimentCoefficients.uniform(n, conformity=0.7)
    new = update_sentiment(s, W, coef, 0.0, 0.0, 0.0, np.random.default_rng(0))
    assert np.array_equal(new[2:], s[2:])
    assert new[0] < s[0] and new[1] > s[1]


def _two_components(tmp_path, via: str) -> tuple[nx.Graph, np.ndarray, np.ndarray]:
    a, b = np.arange(0, 6), np.arange(6, 11)
    if via == "file":
        lines = [f"{u} {v}" for grp in (a, b) for i, u in enumerate(grp) for v in grp[i + 1:]]
        graph = build_graph("edge_list", 11, {}, np.random.default_rng(0),
                            write_edges(tmp_path / "two.txt", ["# two cliques"] + lines))
    else:
        graph = nx.disjoint_union(nx.complete_graph(6), nx.complete_graph(5))
    return graph, a, b


@pytest.mark.parametrize("via", ["file", "union"])
def test_news_in_one_component_never_reaches_the_other(tmp_path, via):
    graph, a, b = _two_components(tmp_path, via)
    n = graph.number_of_nodes()
    rng = np.random.default_rng(3)
    W = influence_matrix(graph, n, pick_hubs(graph, 2), 5.0)
    coef = random_coefficients(n, rng)
    coef.noise[:] = 0.0
    coef.persistence[b] = 1.0
    news = np.zeros(n)
    news[a] = 0.4
    pain = np.zeros(n)
    pain[a] = 0.2
    # B at neutral consensus: it must stay exactly there while A moves.
    s = np.where(np.isin(np.arange(n), a), rng.uniform(-1, 1, n), 0.0)
    for _ in range(10):
        new = update_sentiment(s, W, coef, 0.0, pain, news, rng)
        assert np.array_equal(new[b], s[b])
        s = new
    assert np.all(s[a] > 0.0)
    # Heterogeneous B: its trajectory is identical with or without A's news.
    s0 = rng.uniform(-1, 1, n)
    s1, s2 = s0.copy(), s0.copy()
    for _ in range(10):
        s1 = update_sentiment(s1, W, coef, 0.0, pain, news, rng)
        s2 = update_sentiment(s2, W, coef, 0.0, 0.0, 0.0, rng)
        assert np.array_equal(s1[b], s2[b])
    assert not np.array_equal(s1[a], s2[a])


@pytest.mark.parametrize("kind,params", [("barabasi_albert", {"m": 3}),
                                         ("watts_strogatz", {"k": 4, "p": 0.3}),
                                         ("erdos_renyi", {"p": 0.1})])
def test_same_seed_same_graph_and_trajectory(kind, params):
    def run(seed):
        rng = np.random.default_rng(seed)
        graph = build_graph(kind, 50, params, rng)
        W = influence_matrix(graph, 50, pick_hubs(graph, 3), 2.0)
        coef = random_coefficients(50, rng)
        s = rng.uniform(-1, 1, 50)
        traj = []
        for _ in range(20):
            s = update_sentiment(s, W, coef, 0.01, 0.0, news_vector(50, "fraction", 0.1, rng,
                                                                    fraction=0.2), rng)
            traj.append(s.copy())
        return sorted(graph.edges()), np.array(traj)

    e1, t1 = run(42)
    e2, t2 = run(42)
    e3, t3 = run(43)
    assert e1 == e2 and np.array_equal(t1, t2)
    assert e1 != e3 and not np.array_equal(t1, t3)


def test_sentiment_stays_in_bounds_under_extreme_news():
    n = 40
    rng = np.random.default_rng(5)
    graph = build_graph("watts_strogatz", n, {"k": 4, "p": 0.2}, rng)
    W = influence_matrix(graph, n)
    coef = random_coefficients(n, rng)
    coef.persistence[:] = rng.uniform(0.5, 1.5, n)
    s = rng.uniform(-1, 1, n)
    for step in range(30):
        news = rng.choice([-1e9, 1e9, 50.0, -50.0], size=n)
        s = update_sentiment(s, W, coef, rng.normal(0, 5), rng.uniform(-1e6, 1e6, n), news,
                             rng, out=s)
        assert np.all(np.isfinite(s)) and np.all(s >= -1.0) and np.all(s <= 1.0)
    s = update_sentiment(s, W, coef, 0.0, 0.0, np.full(n, 1e12), rng)
    assert np.all(s == 1.0)


def test_out_and_noise_draw_semantics():
    n = 10
    W = influence_matrix(nx.complete_graph(n), n)
    coef = SentimentCoefficients.uniform(n, conformity=0.3, noise=0.1, persistence=0.9)
    s = np.linspace(-0.5, 0.5, n)
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    a = update_sentiment(s, W, coef, 0.0, 0.0, 0.0, r1)
    b = update_sentiment(s, W, coef, 0.0, 0.0, 0.0, None, noise_draw=r2.standard_normal(n))
    assert np.array_equal(a, b)
    inplace = s.copy()
    res = update_sentiment(inplace, W, coef, 0.0, 0.0, 0.0, None, out=inplace,
                           noise_draw=np.zeros(n))
    assert res is inplace
    assert np.allclose(inplace, 0.9 * (s + 0.3 * (s.mean() * n - s) / (n - 1) - 0.3 * s))
    with pytest.raises(ValueError, match="noise_draw"):
        update_sentiment(s, W, coef, 0.0, 0.0, 0.0, None, noise_draw=np.zeros(n + 1))


def test_pain_contract_losing_short_turns_bullish():
    n = 2
    W = influence_matrix(nx.empty_graph(n), n)
    coef = SentimentCoefficients.uniform(n, pain=1.0)
    s = np.array([-0.5, 0.5])  # trader 0 short & losing, trader 1 long & losing
    new = update_sentiment(s, W, coef, 0.0, np.array([0.2, -0.2]), 0.0, None,
                           noise_draw=np.zeros(n))
    assert new[0] > s[0] and new[1] < s[1]
    mom = SentimentCoefficients.uniform(n, momentum=np.array(1.0))
    up = update_sentiment(np.zeros(n), W, mom, 0.01, 0.0, 0.0, None, noise_draw=np.zeros(n))
    assert np.allclose(up, np.tanh(1.0))


# ------------------------------------------------------------------ graph building / IO
def test_edge_list_good_file(tmp_path):
    path = write_edges(tmp_path / "g.txt", ["# comment", "", "0 1", "1\t2 2.5",
                                           "3,0  # trailing", "2 2"])
    graph = build_graph("edge_list", 6, {}, np.random.default_rng(0), path)
    assert sorted(graph.nodes()) == list(range(6))
    assert graph.degree(4) == 0 and graph.degree(5) == 0
    assert graph[1][2]["weight"] == 2.5 and graph[0][1]["weight"] == 1.0
    W = influence_matrix(graph, 6)
    assert W[1, 2] == pytest.approx(2.5 / 3.5) and W[2, 2] == 0.0
    assert np.allclose(np.asarray(W.sum(axis=1)).ravel(), [1, 1, 1, 1, 0, 0])
    same = build_graph("edge_list", 6, {"path": str(path)}, np.random.default_rng(1))
    assert sorted(same.edges()) == sorted(graph.edges())


@pytest.mark.parametrize("lines,match", [(["0 1", "1 7"], "node id 7 out of range"),
                                         (["0 -1"], "node id -1 out of range"),
                                         (["0 x"], "integers"),
                                         (["0 1 2 3"], "2 or 3 columns"),
                                         (["0 1 -2"], "weight")])
def test_edge_list_bad_file(tmp_path, lines, match):
    path = write_edges(tmp_path / "bad.txt", lines)
    with pytest.raises(ValueError, match=match):
        build_graph("edge_list", 5, {}, np.random.default_rng(0), path)


@pytest.mark.parametrize("kind,params,match", [
    ("small_world", {}, "small_world"),
    ("barabasi_albert", {}, "'m'"),
    ("barabasi_albert", {"m": 10}, "'m'"),
    ("watts_strogatz", {"k": 2, "p": 1.5}, "'p'"),
    ("erdos_renyi", {"p": 0.1, "q": 1}, "'q'"),
    ("edge_list", {}, "edge_list"),
])
def test_bad_kind_or_params(kind, params, match):
    with pytest.raises(ValueError, match=match):
        build_graph(kind, 10, params, np.random.default_rng(0))


def test_pick_hubs_and_hub_weighting():
    star = nx.star_graph(4)           # node 0 degree 4, leaves degree 1
    star.add_edge(3, 4)               # nodes 3, 4 now degree 2
    assert pick_hubs(star, 3).tolist() == [0, 3, 4]
    assert pick_hubs(star, 0).size == 0
    with pytest.raises(ValueError):
        pick_hubs(star, 6)
    W = influence_matrix(star, 5, hubs=np.array([0]), hub_weight=3.0)
    assert W[3, 0] == pytest.approx(0.75) and W[3, 4] == pytest.approx(0.25)
    assert W[0, 1] == pytest.approx(0.25)   # hub's own row: plain neighbours


def test_news_vector_and_decay():
    rng = np.random.default_rng(0)
    assert np.array_equal(news_vector(5, "all", 0.2, rng), np.full(5, 0.2))
    v = news_vector(100, "fraction", -0.3, rng, fraction=0.25)
    assert np.count_nonzero(v) == 25 and set(np.unique(v)) == {0.0, -0.3}
    h = news_vector(6, "hubs", 1.0, rng, hubs=np.array([4, 1]))
    assert h.tolist() == [0, 1, 0, 0, 1, 0]
    for bad in [("everyone", {}), ("fraction", {}), ("hubs", {})]:
        with pytest.raises(ValueError):
            news_vector(6, bad[0], 1.0, rng, **bad[1])
    assert decay_factor(0, 60) == 1.0 and decay_factor(60, 60) == pytest.approx(0.5)
    assert decay_factor(180, 60) == pytest.approx(0.125) and decay_factor(5, float("inf")) == 1.0
    with pytest.raises(ValueError):
        decay_factor(1, 0)


# ------------------------------------------------------------------ conviction
@given(s=st.floats(-1, 1), c=st.floats(0, 0.99))
def test_conviction_threshold_shape(s, c):
    v = acted_on(s, c)
    assert acted_on(s, 0.0) == s
    assert acted_on(-s, c) == -v                      # odd: bulls and bears alike
    assert abs(v) <= abs(s) + 1e-12                   # never amplifies
    if abs(s) <= c:
        assert v == 0.0                               # weak sentiment moves nothing
    else:
        assert v == pytest.approx((abs(s) - c) / (1 - c) * np.sign(s))
    assert acted_on(1.0, c) == pytest.approx(1.0) and acted_on(-1.0, c) == pytest.approx(-1.0)


@given(a=st.floats(-1, 1), b=st.floats(-1, 1), c=st.floats(0, 0.99))
def test_conviction_is_monotone(a, b, c):
    lo, hi = sorted((a, b))
    assert acted_on(lo, c) <= acted_on(hi, c)


def _buy_share(conviction: float, mood: float, draws: int = 20_000) -> float:
    sc = load_scenario(SCENARIOS / "news_hubs.yaml", {"duration": "10m", "shocks": [], "population.noise.count": 50,
                                                      "population.speculators.count": 10,
                                                      "sentiment.conviction": conviction})
    m = MarketModel(sc, rng=3)
    m.sentiment[:] = mood
    trader = next(t for t in m.traders if isinstance(t, NoiseTrader))
    return sum(trader.choose_side() > 0 for _ in range(draws)) / draws


def test_mood_below_conviction_leaves_the_odds_alone():
    side_weight = 0.4  # news_hubs.yaml's
    # Without a threshold a mood of 0.25 tilts buying to 0.5 * (1 + 0.4 * 0.25) = 0.55 ...
    assert _buy_share(0.0, 0.25) == pytest.approx(0.5 * (1 + side_weight * 0.25), abs=0.012)
    # ... below a conviction of 0.3 it tilts nothing ...
    assert _buy_share(0.3, 0.25) == pytest.approx(0.5, abs=0.012)
    # ... and beyond it only the excess acts: (0.65 - 0.3) / 0.7 = 0.5.
    assert _buy_share(0.3, 0.65) == pytest.approx(0.5 * (1 + side_weight * 0.5), abs=0.012)


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([0.0, -0.0, 1.0, -1.0])


def assert_same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Equal to the last bit, signed zeros included; a NaN matches any NaN (numpy's vector loops and C's
    scalar ones may give a NaN different sign and payload bits, which mean nothing)."""
    both_nan = np.isnan(a) & np.isnan(b)
    assert np.array_equal(np.where(both_nan, 0.0, a).view(np.int64), np.where(both_nan, 0.0, b).view(np.int64))


@pytest.mark.skipif(sentiment_native is None, reason="compiled kernels not built")
@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 40), scalars=st.booleans(), in_place=st.booleans())
def test_compiled_mix_is_numpys_to_the_last_bit(data, n, scalars, in_place):
    """The compiled mixing step against update_sentiment's numpy one, NaN, infinities and signed zeros included."""
    vec = st.lists(FLOATS, min_size=n, max_size=n).map(np.array)
    s = data.draw(st.lists(st.floats(-1, 1) | st.sampled_from([0.0, -0.0]), min_size=n, max_size=n).map(np.array))
    finite = st.lists(st.floats(-10, 10) | st.sampled_from([0.0, -0.0]), min_size=n, max_size=n).map(np.array)
    signless = st.lists(st.floats(0, 10), min_size=n, max_size=n).map(np.array)  # pain and noise are >= 0
    coef = SentimentCoefficients(conformity=data.draw(finite), momentum=data.draw(finite), pain=data.draw(signless),
                                 noise=data.draw(signless), persistence=data.draw(finite))
    z = data.draw(vec)
    recent, pain, news = ((data.draw(FLOATS) for _ in range(3)) if scalars else (data.draw(vec) for _ in range(3)))
    graph = nx.gnp_random_graph(n, 0.3, seed=data.draw(st.integers(0, 2**32 - 1)))
    W = influence_matrix(graph, n, np.zeros(0, dtype=np.int64), 1.0)
    results = []
    with np.errstate(all="ignore"):
        for native in (None, sentiment_native):
            start = s.copy()
            out = start if in_place else np.empty(n)
            update_sentiment(start, W, coef, recent, pain, news, None, out=out, noise_draw=z, native=native)
            results.append(out)
    assert_same_bits(*results)


@pytest.mark.skipif(sentiment_native is None, reason="compiled kernels not built")
@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(0, 25), index=st.sampled_from([np.int32, np.int64]))
def test_compiled_neighbour_mean_is_scipys_to_the_last_bit(data, n, index):
    """The neighbours' mean compiled against ``np.where(has neighbours, W @ s, s)`` on arbitrary CSR matrices:
    repeated entries, empty rows, NaN, infinities and signed zeros in both the weights and the moods."""
    import scipy.sparse as sp

    nnz = data.draw(st.integers(0, 3 * n)) if n else 0
    entry = st.integers(0, max(n - 1, 0))
    rows = np.sort(np.array(data.draw(st.lists(entry, min_size=nnz, max_size=nnz)), dtype=np.int64))
    cols = np.array(data.draw(st.lists(entry, min_size=nnz, max_size=nnz)), dtype=index)
    weights = np.array(data.draw(st.lists(FLOATS, min_size=nnz, max_size=nnz)), dtype=np.float64)
    indptr = np.searchsorted(rows, np.arange(n + 1)).astype(index)  # duplicates stay apart, in the order drawn
    W = sp.csr_matrix((weights, cols, indptr), shape=(n, n))  # (scipy may narrow the indices to int32)
    assert W.nnz == nnz
    s = np.array(data.draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64)
    out = np.empty(n)
    with np.errstate(all="ignore"):
        expected = np.where(np.diff(W.indptr) > 0, W @ s, s)
        sentiment_native.neighbour_mean(out, s, indptr, cols, weights)
    assert_same_bits(out, expected)


@pytest.mark.skipif(sentiment_native is None, reason="compiled kernels not built")
def test_compiled_neighbour_mean_refuses_what_is_not_a_csr_matrix() -> None:
    s, out = np.zeros(3), np.empty(3)
    ok = np.array([0, 1, 1, 2], dtype=np.int32), np.array([1, 0], dtype=np.int32), np.ones(2)
    sentiment_native.neighbour_mean(out, s, *ok)
    for indptr, indices, weights, target in [
        (np.array([0, 1, 1], dtype=np.int32), ok[1], ok[2], out),  # too few rows
        (np.array([1, 1, 1, 2], dtype=np.int32), ok[1], ok[2], out),  # does not start at 0
        (np.array([0, 2, 1, 2], dtype=np.int32), ok[1], ok[2], out),  # descends
        (np.array([0, 1, 1, 3], dtype=np.int32), ok[1], ok[2], out),  # past the stored entries
        (ok[0], np.array([1, 3], dtype=np.int32), ok[2], out),  # a column out of range
        (ok[0], np.array([1, -1], dtype=np.int32), ok[2], out),
        (*ok, s),  # out aliases s
    ]:
        with pytest.raises(ValueError):
            sentiment_native.neighbour_mean(target, s, indptr, indices, weights)


@pytest.mark.skipif(sentiment_native is None, reason="compiled kernels not built")
@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 30), k=st.integers(1, 7))
def test_compiled_pain_signal_is_numpys_to_the_last_bit(data, n, k):
    """Mood.pain_signal compiled against its numpy original on random ledgers (NaN and signed zeros included)."""
    from agents.exchange.accounts import Ledger

    led = Ledger(n + 2, np.array(data.draw(st.lists(st.floats(1e-4, 10.0), min_size=k, max_size=k))))
    cols = st.lists(FLOATS, min_size=(n + 2) * k, max_size=(n + 2) * k).map(lambda v: np.array(v).reshape(n + 2, k))
    led.position[:] = np.array(data.draw(st.lists(st.integers(-10**6, 10**6), min_size=(n + 2) * k,
                                                  max_size=(n + 2) * k))).reshape(n + 2, k)
    led.entry[:], led.margin[:] = data.draw(cols), data.draw(cols)
    led.wallet[:] = data.draw(st.lists(FLOATS, min_size=n + 2, max_size=n + 2))
    mark = np.array(data.draw(st.lists(FLOATS, min_size=k, max_size=k)))
    mood = Mood.__new__(Mood)
    mood.model = SimpleNamespace(venue=SimpleNamespace(ledger=led, mark=SimpleNamespace(value=mark)),
                                 sentiment=np.zeros(n))
    results = []
    with np.errstate(all="ignore"):
        for native in (None, sentiment_native):
            mood._native = native
            results.append(mood.pain_signal())
    assert_same_bits(*results)
