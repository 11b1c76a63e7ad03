"""Deliberately plain per-agent reference of the sentiment update.

Walks the networkx graph directly (nodes, neighbours, edge weights, hubs)
instead of using the sparse influence matrix, and uses a pre-drawn noise
vector.  Formula (same as ``model.sentiment``)::

    m_i = sum_j w_ij h_j s_j / sum_j w_ij h_j   over neighbours j != i, if total > 0
        = s_i                                   otherwise
    x_i = persistence_i * (s_i + conformity_i * (m_i - s_i))
        + momentum_i * tanh(recent_return_i / return_scale)
        + pain_i * pain_signal_i + news_i + noise_i * z_i
    s_i <- min(1, max(-1, x_i))
"""

from __future__ import annotations

import math
from typing import Sequence

import networkx as nx


def _at(value, i: int) -> float:
    """Scalar or per-trader sequence -> float for trader i."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value[i])
    except (TypeError, IndexError):
        return float(value)


def reference_update(graph: nx.Graph, s: Sequence[float], coef, recent_return,
                     pain_signal, news, noise_draw: Sequence[float],
                     hubs: Sequence[int] | None = None, hub_weight: float = 1.0,
                     return_scale: float = 0.01) -> list[float]:
    """One synchronous update computed trader by trader; returns a new list."""
    hub_set = set(int(h) for h in hubs) if hubs is not None else set()
    n = len(s)
    new = []
    for i in range(n):
        s_i = float(s[i])
        weighted_sum = 0.0
        total = 0.0
        for j in graph.neighbors(i):
            if j == i:
                continue
            w = float(graph[i][j].get("weight", 1.0))
            if j in hub_set:
                w = w * hub_weight
            weighted_sum += w * float(s[j])
            total += w
        if total > 0:
            m_i = weighted_sum / total
        else:
            m_i = s_i
        x = float(coef.persistence[i]) * (s_i + float(coef.conformity[i]) * (m_i - s_i))
        x += float(coef.momentum[i]) * math.tanh(_at(recent_return, i) / return_scale)
        x += float(coef.pain[i]) * _at(pain_signal, i)
        x += _at(news, i)
        x += float(coef.noise[i]) * float(noise_draw[i])
        new.append(min(1.0, max(-1.0, x)))
    return new
