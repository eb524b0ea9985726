"""gongmu installed as a wheel, outside the checkout: everything it reads at run time ships
inside the package (launch configs, templates, the PII labelled set the data card scores)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import DOCS, REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding only the gongmu wheel; its dependencies come from the test
    environment's site-packages through a .pth file (which never activates the test
    environment's editable install of the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy: building in the checkout would leave build/ there
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "toolkit", source / "toolkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(source)], check=True, cwd=root)
    wheel = next(dist.glob("gongmu-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True)
    return venv


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([*args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def test_the_wheel_package_is_imported_not_the_checkout(installed, tmp_path):
    proc = run(installed, str(installed / "bin" / "python"), "-c",
               "import toolkit; print(toolkit.__file__)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert str(installed) in proc.stdout and str(REPO) not in proc.stdout


def test_recipe_schema_runs_from_any_folder(installed, tmp_path):
    proc = run(installed, str(installed / "bin" / "gongmu"), "recipe", "schema", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"corpus"' in proc.stdout


def test_a_small_corpus_builds_and_its_card_scores_the_pii_detector(installed, tmp_path):
    recipe = tmp_path / "small.yaml"
    recipe.write_text(f"name: small\ntracking: {{enabled: false}}\ncorpus:\n  sources:\n"
                      f"    - {{type: documents, path: {DOCS}}}\n", encoding="utf-8")
    proc = run(installed, str(installed / "bin" / "gongmu"), "corpus", "build", str(recipe),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    card = (tmp_path / "runs" / "small" / "corpus" / "data_card.md").read_text(encoding="utf-8")
    assert "Detector quality on gongmu's labelled test set" in card


def test_accelerate_launch_resolves_the_packaged_configs(installed, tmp_path):
    code = ("from toolkit.train.launch import accelerate_config_path, deepspeed_config_path\n"
            "import yaml\n"
            "for name in ('ddp', 'zero2', 'zero3', 'zero3_offload', 'fsdp'):\n"
            "    path = accelerate_config_path(name)\n"
            "    ds = (yaml.safe_load(path.read_text()).get('deepspeed_config') or {})"
            ".get('deepspeed_config_file')\n"
            "    assert not ds or (path.parent / ds).is_file(), (name, ds)\n"
            "    print(path)\n"
            "print(deepspeed_config_path('zero3'))\n")
    proc = run(installed, str(installed / "bin" / "python"), "-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    paths = proc.stdout.split()
    assert len(paths) == 6 and all(p.startswith(str(installed)) and Path(p).is_file() for p in paths)
