"""Stage folders: atomic, hashed, verified, and refused when stale or tampered with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.artifacts import MANIFEST, stage_folder, verify_folder
from toolkit.errors import ArtifactError
from toolkit.recipe import load_recipe
from toolkit.stages import open_upstream, open_upstreams, section_data


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntracking: {enabled: false}\n", encoding="utf-8")
    return load_recipe(path)


def write_stage(recipe, stage="corpus", inputs=(), text="x"):
    with stage_folder(recipe, stage, section_data(recipe, stage), list(inputs)) as out:
        (out.path / "data.jsonl").write_text(text, encoding="utf-8")
        (out.path / "sub").mkdir()
        (out.path / "sub" / "b.bin").write_bytes(b"\x00\x01")
        out.figures["rows"] = 1
    return out


def test_manifest_records_hashes_section_lineage_and_times(recipe):
    write_stage(recipe)
    up = open_upstream(recipe, "corpus")
    m = up.manifest
    assert set(m["files"]) == {"data.jsonl", "sub/b.bin"}
    assert len(m["files"]["data.jsonl"]["sha256"]) == 64
    assert m["stage"] == "corpus" and m["recipe"]["hash"] == recipe.hash()
    assert set(m["section"]) == {"seed", "corpus"}
    assert m["figures"] == {"rows": 1}
    assert "torch" in m["packages"] and m["started_at"] <= m["finished_at"]
    write_stage(recipe, "train", [up])
    train = open_upstream(recipe, "train")
    assert train.manifest["lineage"] == {"corpus": up.manifest_sha256}


def test_failed_stage_leaves_no_folder_and_keeps_the_previous_one(recipe):
    write_stage(recipe, text="first")
    with pytest.raises(RuntimeError):
        with stage_folder(recipe, "corpus", section_data(recipe, "corpus")) as out:
            (out.path / "data.jsonl").write_text("half", encoding="utf-8")
            raise RuntimeError("crash mid-stage")
    folder = recipe.stage_dir("corpus")
    assert (folder / "data.jsonl").read_text(encoding="utf-8") == "first"
    assert [p.name for p in folder.parent.iterdir()] == ["corpus"]  # no temp leftovers
    assert verify_folder(folder) == []


def test_tampered_missing_or_extra_files_are_named(recipe):
    write_stage(recipe)
    folder = recipe.stage_dir("corpus")
    (folder / "data.jsonl").write_text("y", encoding="utf-8")
    with pytest.raises(ArtifactError, match="data.jsonl does not match its sha256"):
        open_upstream(recipe, "corpus")
    (folder / "data.jsonl").write_text("x", encoding="utf-8")
    (folder / "stray.txt").write_text("?", encoding="utf-8")
    assert any("stray.txt is not listed" in p for p in verify_folder(folder))
    (folder / "stray.txt").unlink()
    (folder / "sub" / "b.bin").unlink()
    assert any("b.bin is listed in the manifest but missing" in p for p in verify_folder(folder))
    (folder / MANIFEST).unlink()
    with pytest.raises(ArtifactError, match="missing or incomplete"):
        open_upstream(recipe, "corpus")


def test_upstream_built_from_other_recipe_values_is_refused(recipe, tmp_path):
    write_stage(recipe)
    changed = load_recipe(recipe.file, ["corpus.test_fraction=0.5"])
    with pytest.raises(ArtifactError, match="different recipe values.*corpus.test_fraction"):
        open_upstream(changed, "corpus")
    # Sections the stage does not consume do not matter.
    open_upstream(load_recipe(recipe.file, ["train.epochs=5"]), "corpus")


def test_downstream_of_a_rerun_stage_is_refused(recipe):
    corpus = write_stage(recipe)
    write_stage(recipe, "train", [open_upstream(recipe, "corpus")])
    write_stage(recipe, "corpus", text="rebuilt")
    with pytest.raises(ArtifactError, match="older corpus folder"):
        open_upstreams(recipe, ["corpus", "train"])
    assert corpus.path.is_dir()


def test_stage_files_are_readable_by_other_users(recipe):
    out = write_stage(recipe)
    for path in out.path.rglob("*"):
        assert path.stat().st_mode & 0o004, path
    assert json.loads((out.path / MANIFEST).read_text())["manifest_version"] == 1


def test_a_copy_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    """The data card is copied out of the corpus folder this way (issue 15, item 6)."""
    from toolkit.artifacts import copy_atomic

    src, dst = tmp_path / "card.md", tmp_path / "cards" / "card.md"
    src.write_text("새 데이터 카드\n" * 1000, encoding="utf-8")
    dst.parent.mkdir()
    dst.write_text("이전 데이터 카드\n", encoding="utf-8")

    def half_then_fail(a, b):
        Path(b).write_bytes(Path(a).read_bytes()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("toolkit.artifacts.shutil.copyfile", half_then_fail)
    with pytest.raises(OSError):
        copy_atomic(src, dst)
    assert dst.read_text(encoding="utf-8") == "이전 데이터 카드\n"
    assert [p.name for p in dst.parent.iterdir()] == ["card.md"]
    monkeypatch.undo()
    copy_atomic(src, dst)
    assert dst.read_bytes() == src.read_bytes() and len(list(dst.parent.iterdir())) == 1
