"""Fixtures: a tiny model built by gongmu itself, and one real end-to-end run shared by
the tests that inspect its folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import DOCS, write_recipe


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from toolkit.tiny_model import build_tiny_model

    out = tmp_path_factory.mktemp("models") / "tiny-ko"
    build_tiny_model(DOCS, out, hidden_size=128, layers=2, vocab_size=2048)
    return out


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, tiny_model):
    """All five stages of a short quickstart run, through the Python API."""
    from toolkit.recipe import load_recipe
    from toolkit.stages import ORDER, run_stage

    folder = tmp_path_factory.mktemp("pipeline")
    path = write_recipe(folder, tiny_model)
    recipe = load_recipe(path)
    for stage in ORDER:
        run_stage(recipe, stage)
    return recipe
