"""A stage folder is on disk before it is published: every file in it and every folder's
entries are fsynced before the rename that moves it into place, and the run folder's entry
for it after. (A kill -9 cannot show this; a power cut would. Here the order of the real
fsync and rename calls is recorded and checked.)"""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import write_recipe
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage


def test_every_file_and_folder_is_fsynced_before_the_rename_that_publishes_it(
        tiny_model, tmp_path, monkeypatch):
    recipe = load_recipe(write_recipe(tmp_path, tiny_model), ["tracking.enabled=false"])
    run_stage(recipe, "corpus")  # a first folder, so the second run also swaps out an old one
    events: list[tuple] = []
    real_fsync, real_rename = os.fsync, Path.rename

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", (st.st_dev, st.st_ino)))
        return real_fsync(fd)

    def rename(self, target):
        events.append(("rename", Path(target)))
        return real_rename(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "rename", rename)
    run_stage(recipe, "corpus")

    final = recipe.stage_dir("corpus")
    published = events.index(("rename", final))
    before = {key for kind, key in events[:published] if kind == "fsync"}
    after = {key for kind, key in events[published:] if kind == "fsync"}
    inside = [final, *final.rglob("*")]
    assert len(inside) > 5
    for path in inside:
        st = path.stat()
        assert (st.st_dev, st.st_ino) in before, f"{path.relative_to(final.parent)} not fsynced"
    parent = final.parent.stat()
    assert (parent.st_dev, parent.st_ino) in after  # the rename itself
