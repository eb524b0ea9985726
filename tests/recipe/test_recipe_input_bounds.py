"""What a recipe is built from is bounded like any other untrusted input (issue 19 §6):
an override value is read with the same bounded YAML as a file, and `extends` has a depth
limit, a file limit, and reads each file once."""

from __future__ import annotations

import time

import pytest

from tests.helpers import QUICKSTART, gongmu
from toolkit.errors import RecipeError
from toolkit.recipe import load_recipe
from toolkit.recipe.load import MAX_EXTENDS_DEPTH


def flow_alias_bomb(levels: int = 9, width: int = 10) -> str:
    """A one-line YAML mapping of `levels` lists of aliases: under 400 bytes that expand
    to width**levels strings (10**9), as an override value."""
    parts = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        parts.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "{" + ", ".join(parts) + "}"


def _one_paragraph_exit_2(proc, *needles):
    text = (proc.stdout + proc.stderr).replace("\n", " ")
    assert proc.returncode == 2, text
    assert "unexpected error" not in text and "Traceback" not in text
    for needle in needles:
        assert needle in text, text


def test_an_alias_bomb_in_an_override_is_refused_quickly():
    bomb = flow_alias_bomb()
    assert len(bomb) < 1000
    started = time.monotonic()
    with pytest.raises(RecipeError, match=r"corpus\.sources\.0\.options.*expands to over"):
        load_recipe(QUICKSTART, [f"corpus.sources.0.options={bomb}"])
    assert time.monotonic() - started < 5


def test_an_alias_bomb_override_on_the_command_line_is_a_clean_exit_2():
    proc = gongmu("recipe", "validate", str(QUICKSTART),
                  f"corpus.sources.0.options={flow_alias_bomb()}")
    _one_paragraph_exit_2(proc, "corpus.sources.0.options", "aliases included")


def test_override_values_that_are_not_yaml_stay_text_and_small_aliases_still_work():
    recipe = load_recipe(QUICKSTART, ["description=: not yaml: [", "report.title=no"])
    assert recipe.description == ": not yaml: ["
    assert recipe.report.title == "no"
    recipe = load_recipe(QUICKSTART, ["corpus.families=[&f title, *f]"])
    assert recipe.corpus.families == ["title", "title"]


def _chain(folder, n: int, parents_per_file: int = 1) -> "Path":  # noqa: F821
    """Files r0 … r{n-1}; file i extends file i+1 (twice over two names when
    parents_per_file is 2: a_i and b_i both extend a_{i+1} and b_{i+1})."""
    last = n - 1
    for i in range(n):
        for side in ("a", "b")[:parents_per_file]:
            body = f"description: level {i}\nseed: {i}\n"
            if i < last:
                names = ", ".join(f"{s}{i + 1}.yaml" for s in ("a", "b")[:parents_per_file])
                body = f"extends: [{names}]\n" + body
            else:
                body = f"extends: {QUICKSTART}\nname: chain\n" + body
            (folder / f"{side}{i}.yaml").write_text(body, encoding="utf-8")
    return folder / "a0.yaml"


def test_a_chain_that_extends_two_files_per_level_is_read_once_per_file(tmp_path):
    """20 levels of two parents each: 2**20 paths through the chain, 40 files. Each file
    is read and merged once, so it loads at once (it grew exponentially)."""
    top = _chain(tmp_path, 20, parents_per_file=2)
    started = time.monotonic()
    recipe = load_recipe(top)
    assert time.monotonic() - started < 5
    assert (recipe.name, recipe.seed, recipe.description) == ("chain", 0, "level 0")
    assert recipe.corpus.sources[0].type == "documents"  # from the quickstart at the end


def test_a_linear_chain_of_1500_files_is_a_clean_error_not_a_recursion_error(tmp_path):
    top = _chain(tmp_path, 1500)
    with pytest.raises(RecipeError, match=f"more than {MAX_EXTENDS_DEPTH} files deep"):
        load_recipe(top)
    proc = gongmu("recipe", "validate", str(top))
    _one_paragraph_exit_2(proc, "files deep", "a0.yaml")


def test_a_chain_within_the_depth_limit_still_loads(tmp_path):
    top = _chain(tmp_path, MAX_EXTENDS_DEPTH - 1)
    assert load_recipe(top).description == "level 0"


def test_extends_counts_files_once_when_a_shared_base_is_named_by_many(tmp_path):
    (tmp_path / "base.yaml").write_text(f"extends: {QUICKSTART}\nseed: 7\n", encoding="utf-8")
    for i in range(50):
        (tmp_path / f"mid{i}.yaml").write_text("extends: base.yaml\n", encoding="utf-8")
    top = tmp_path / "top.yaml"
    top.write_text("extends: [" + ", ".join(f"mid{i}.yaml" for i in range(50)) + "]\n",
                   encoding="utf-8")
    assert load_recipe(top).seed == 7
