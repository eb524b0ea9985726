"""YAML from files we do not control is bounded: an alias bomb in a document's front
matter or an eval suite is refused with the file and line, before it expands (issue 15,
item 2)."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from toolkit.errors import DataError, RecipeError
from toolkit.safe_yaml import load_yaml


def alias_bomb(levels: int = 7, width: int = 9, key: str = "제목") -> str:
    """`key` bound to a `levels`-deep chain of lists of aliases: a few hundred bytes that
    PyYAML's safe loader expands to width**(levels-1) strings (7 levels: 531,441)."""
    lines = ['a: &a ["공문서 공문서 공문서 공문서 공문서"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * width) + "]")
    lines.append(f"{key}: *{chr(ord('a') + levels - 1)}")
    return "\n".join(lines) + "\n"


def test_the_bomb_is_small_and_expands_enormously_without_bounds():
    import yaml

    bomb = alias_bomb(levels=5)
    assert len(bomb.encode()) < 400
    assert len(str(yaml.safe_load(bomb)["제목"])) > 100_000


def test_front_matter_alias_bomb_is_quarantined_with_its_line(tmp_path):
    from toolkit.corpus.sources import Quarantined, documents
    from toolkit.recipe import CorpusSource

    docs = tmp_path / "docs"
    docs.mkdir()
    bomb = "---\n" + alias_bomb() + "---\n" + "민원 처리 기간을 안내합니다. " * 5
    assert len(bomb.encode()) < 650
    (docs / "bomb.md").write_text(bomb, encoding="utf-8")
    (docs / "ok.md").write_text("---\n제목: 정상 문서\n---\n본문입니다.\n", encoding="utf-8")
    tracemalloc.start()
    started = time.perf_counter()
    out = {item.path.rsplit("/", 1)[1]: item for item in documents(CorpusSource(path=docs))}
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - started < 5 and peak < 20 * 2**20
    assert isinstance(out["bomb.md"], Quarantined)
    # Line 3 of the file: the first alias (`b: &b [*a, ...]`), front matter starting on line 2.
    assert out["bomb.md"].reason.startswith(
        "bad front matter: line 3: YAML aliases (*name) are not allowed here")
    assert out["ok.md"].meta["title"] == "정상 문서"


def test_suite_yaml_alias_bomb_is_refused_naming_the_file_and_line(tmp_path):
    from toolkit.eval.suite import load_suite

    suite = tmp_path / "bomb-suite"
    suite.mkdir()
    (suite / "suite.yaml").write_text(
        "name: bomb\ntask_type: generation\nitems: items.jsonl\n" + alias_bomb(key="description"),
        encoding="utf-8")
    (suite / "items.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_suite(suite)
    assert str(exc.value).startswith(
        f"{suite / 'suite.yaml'}:5: YAML aliases (*name) are not allowed here")


def test_recipes_may_use_aliases_within_an_expanded_bound():
    shared = "common: &c {lr: 1.0e-4, steps: 10}\na: *c\nb: *c\n"
    assert load_yaml(shared, "r.yaml", aliases=True) == {
        "common": {"lr": 1e-4, "steps": 10}, "a": {"lr": 1e-4, "steps": 10},
        "b": {"lr": 1e-4, "steps": 10}}
    with pytest.raises(RecipeError, match=r"^r\.yaml:\d+: YAML that expands to over 100,000"):
        load_yaml(alias_bomb(levels=9), "r.yaml", aliases=True, error=RecipeError)


def test_recursive_aliases_oversized_and_broken_yaml_are_refused():
    with pytest.raises(DataError, match=r"^s\.yaml:2: a YAML alias refers to a node that contains"):
        load_yaml("x: 1\na: &a [1, *a]\n", "s.yaml", aliases=True)
    with pytest.raises(DataError, match=r"^s\.yaml: 2,000,000 bytes of YAML, over the limit"):
        load_yaml("#" * 2_000_000, "s.yaml")
    with pytest.raises(DataError, match=r"^s\.yaml:2: not valid YAML \(mapping values"):
        load_yaml("a: 1\nb: c: d\n", "s.yaml")
    assert load_yaml("", "s.yaml") is None
