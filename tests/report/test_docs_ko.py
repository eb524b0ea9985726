"""README.ko.md and docs/ko/검토자_안내.md stay true: every `gongmu` command they quote in a
```sh block runs, in the order quoted, on a copy of the shared end-to-end run (the tiny
model). The quickstart's two commands are also the Makefile's; a `gongmu run` without
--from is run from the report stage on (the stages before it are the copied run's)."""

from __future__ import annotations

import re
import shlex
import shutil

import pytest

from tests.helpers import DOCS, REPO, ec_key_pair, gongmu

pytestmark = pytest.mark.slow

README_KO = REPO / "README.ko.md"
GUIDE = REPO / "docs" / "ko" / "검토자_안내.md"


def quoted_commands(path) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip().startswith("gongmu ")]


def test_the_quickstart_commands_are_the_makefiles():
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = (REPO / "recipes" / "quickstart.yaml").read_text(encoding="utf-8")
    for command in quoted_commands(README_KO)[:2]:
        assert f"$(BIN)/{command}" in make, command
        assert command in recipe, command


def test_every_command_the_korean_docs_quote_runs(pipeline_run, tmp_path):
    run_dir = tmp_path / "runs" / pipeline_run.name
    shutil.copytree(pipeline_run.run_dir, run_dir)
    private, public = ec_key_pair(tmp_path)
    recipe = tmp_path / "quickstart.yaml"
    recipe.write_text(f"extends: {pipeline_run.file}\noutput_dir: {tmp_path / 'runs'}\n"
                      f"tracking: {{enabled: false}}\nsigning_key: {private}\n", encoding="utf-8")
    swap = {"recipes/quickstart/documents": str(DOCS), "recipes/quickstart.yaml": str(recipe),
            "runs/models/tiny-ko": str(tmp_path / "tiny-ko"), "runs/quickstart": str(run_dir),
            "pub.pem": str(public)}
    commands = quoted_commands(README_KO) + quoted_commands(GUIDE)
    assert any(c.startswith("gongmu report verify") for c in quoted_commands(GUIDE))
    for command in commands:
        args = shlex.split(command)[1:]
        args = [next((v + a[len(k):] for k, v in swap.items() if a.startswith(k)), a) for a in args]
        if args[0] == "run" and "--from" not in args:  # the stages before: the copied run's
            args += ["--from", "report"]
        if args[0] == "model":
            args += ["--hidden-size", "64", "--layers", "1", "--vocab-size", "1024"]
        proc = gongmu(*args, cwd=tmp_path)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        if args[:2] == ["report", "verify"]:
            said = proc.stdout + proc.stderr
            assert "적합" in said and "부적합" not in said
    assert (run_dir / "report" / "report.pdf").is_file()
