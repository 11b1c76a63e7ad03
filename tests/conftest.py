"""Shared fixtures: scenario paths and small, fast scenario variants."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def calm_path() -> Path:
    """Path of the shipped calm scenario."""
    return SCENARIOS / "calm.yaml"
