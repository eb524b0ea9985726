"""Recipe values that used to pass validation and fail (or worse, succeed) later, and the
error paths that printed "unexpected error": each is now a one-paragraph exit 2."""

from __future__ import annotations

import pytest

from tests.helpers import QUICKSTART, gongmu
from toolkit.errors import RecipeError
from toolkit.recipe import load_recipe


@pytest.mark.parametrize("override, key", [
    ("train.learning_rate=.inf", "train.learning_rate"),
    ("train.learning_rate=.nan", "train.learning_rate"),
    ("train.learning_rate=5", "train.learning_rate"),
    ("seed=-1", "seed"),
    (f"seed={2**32}", "seed"),
    ("train.batch_size=99999999999999999999", "train.batch_size"),
    ("train.epochs=1e308", "train.epochs"),
    ("corpus.workers=100000", "corpus.workers"),
    ("eval.max_new_tokens=0", "eval.max_new_tokens"),
])
def test_numbers_out_of_range_or_not_finite_are_refused(override, key):
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        load_recipe(QUICKSTART, [override])


def test_seed_bounds_are_inclusive():
    assert load_recipe(QUICKSTART, ["seed=0"]).seed == 0
    assert load_recipe(QUICKSTART, [f"seed={2**32 - 1}"]).seed == 2**32 - 1


def _one_paragraph_exit_2(proc, *needles):
    text = (proc.stdout + proc.stderr).replace("\n", " ")
    assert proc.returncode == 2, text
    assert "unexpected error" not in text and "Traceback" not in text
    for needle in needles:
        assert needle in text, text


def test_a_recipe_that_is_not_utf8_is_a_recipe_error(tmp_path):
    path = tmp_path / "euc.yaml"
    path.write_bytes("name: 공무\n".encode("euc-kr"))
    _one_paragraph_exit_2(gongmu("recipe", "validate", str(path)), str(path), "not UTF-8")


def test_output_dir_on_a_file_or_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    proc = gongmu("corpus", "build", str(QUICKSTART), f"output_dir={blocker}",
                  "tracking.enabled=false")
    _one_paragraph_exit_2(proc, str(blocker))
    proc = gongmu("corpus", "build", str(QUICKSTART), "output_dir=/proc/nope",
                  "tracking.enabled=false")
    _one_paragraph_exit_2(proc, "/proc/nope")


def test_gongmu_run_on_a_folder_says_it_is_a_folder(tmp_path):
    _one_paragraph_exit_2(gongmu("run", str(tmp_path)), str(tmp_path), "is a folder")


def test_a_recipe_alias_bomb_is_refused_quickly(tmp_path):
    """Aliases are allowed in recipes, but a chain that expands without bound is refused
    before its keys are walked (it took 4 GB and never finished)."""
    lines = ["name: bomb", "description: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"x{level}: &a{level} [{', '.join(['*a' + str(level - 1)] * 10)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = gongmu("recipe", "validate", str(path))
    _one_paragraph_exit_2(proc, str(path))
