"""Readers stay inside their source folder (issue 19 §7): a symbolic link out of it is
not read (unless the source says `follow_symlinks: true`), and dangling links, link loops
and FIFOs are accounted in accounting.jsonl with their reason instead of vanishing."""

from __future__ import annotations

import os
import shutil

from tests.helpers import DOCS
from toolkit.artifacts import read_jsonl
from toolkit.corpus.sources import Document, Quarantined, documents
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage

SECRET = "비밀문서 외부 파일에만 있는 문장입니다 제1조 이 문장은 학습 자료에 들어가면 안 된다"


def _outside_and_links(tmp_path):
    """A copy of the quickstart documents with, beside them, a link to a file outside the
    folder, a link into an outside folder, a dangling link, a link loop and a FIFO."""
    src = tmp_path / "docs"
    shutil.copytree(DOCS, src)
    outside = tmp_path / "outside"
    outside.mkdir()
    body = "\n".join([SECRET] * 30)
    (outside / "secret.md").write_text(f"---\n제목: 외부 문서\n---\n{body}\n", encoding="utf-8")
    (src / "linked.md").symlink_to(outside / "secret.md")
    (src / "sub").mkdir()
    (src / "sub" / "up").symlink_to(outside, target_is_directory=True)
    (src / "dangling.md").symlink_to(tmp_path / "gone.md")
    (src / "loop.md").symlink_to(src / "loop.md")
    os.mkfifo(src / "pipe.md")
    (src / "inside.md").symlink_to(src / sorted(p.name for p in DOCS.glob("*.md"))[0])
    return src


def _recipe(tmp_path, src, glob, extra=""):
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: c\noutput_dir: {tmp_path / 'runs'}\ntracking: {{enabled: false}}\n"
        f"corpus:\n  workers: 1\n  sources:\n    - path: {src}\n      glob: '{glob}'\n{extra}",
        encoding="utf-8")
    return load_recipe(path)


def test_links_out_of_the_folder_never_reach_train_and_each_says_why(tmp_path):
    src = _outside_and_links(tmp_path)
    out = run_stage(_recipe(tmp_path, src, "**/*.md"), "corpus")
    written = [r for s in ("train", "validation", "test")
               for r in read_jsonl(out.path / f"{s}.jsonl")]
    assert written and not any("비밀문서" in str(r) for r in written)
    rows = {os.path.basename(r["path"].split(":")[0]): r for r in read_jsonl(out.path / "accounting.jsonl")}
    assert rows["linked.md"]["status"] == "quarantined"
    assert "outside the source folder" in rows["linked.md"]["reason"]
    assert "follow_symlinks: true" in rows["linked.md"]["reason"]
    assert "dangling symbolic link" in rows["dangling.md"]["reason"]
    assert "symbolic link loop" in rows["loop.md"]["reason"]
    assert "not a regular file" in rows["pipe.md"]["reason"]
    assert rows["inside.md"]["status"] != "quarantined"  # a link inside the folder is read
    assert out.figures["per_source"]["docs"]["files"] == 30 + 5


def test_a_folder_link_out_of_the_source_is_refused_too(tmp_path):
    src = _outside_and_links(tmp_path)
    source = _recipe(tmp_path, src, "sub/*/*.md").corpus.sources[0]
    (item,) = documents(source)
    assert isinstance(item, Quarantined) and item.path.endswith("sub/up/secret.md")
    assert "outside the source folder" in item.reason


def test_follow_symlinks_reads_the_outside_file_when_the_source_asks(tmp_path):
    src = _outside_and_links(tmp_path)
    for glob in ("linked.md", "sub/*/*.md"):
        source = _recipe(tmp_path, src, glob, "      follow_symlinks: true\n").corpus.sources[0]
        (item,) = documents(source)
        assert isinstance(item, Document) and SECRET in item.text
