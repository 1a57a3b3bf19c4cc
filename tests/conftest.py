"""Shared fixtures: the bundled corpus, its ground truth, and datasets parsed once per session."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "corpus"
TRUTH = ROOT / "tests" / "fixtures" / "truth"


def load_truth(kind: str) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((TRUTH / kind).glob("*.json"))]


@pytest.fixture(scope="session")
def seeds_dataset(tmp_path_factory):
    """The bundled seeds parsed through the public API into a dataset folder."""
    from foi_research.validate.dataset import DatasetWriter, read_dataset
    from foi_research.pipeline import parse_paths

    out = tmp_path_factory.mktemp("seeds") / "ds"
    with DatasetWriter(out) as w:
        for p in parse_paths([DATA / "seeds"], workers=1):
            w.add(p)
    return read_dataset(out)


@pytest.fixture(scope="session")
def real_dataset(tmp_path_factory):
    from foi_research.validate.dataset import DatasetWriter, read_dataset
    from foi_research.pipeline import parse_paths

    out = tmp_path_factory.mktemp("real") / "ds"
    with DatasetWriter(out) as w:
        for p in parse_paths([DATA / "real"], workers=1):
            w.add(p)
    return read_dataset(out)
