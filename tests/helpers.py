"""What the tests share: where things are, a short recipe over the tiny model, the real
`gongmu` command in a fresh process, and a signing key pair."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import toolkit  # noqa: F401  (sets the offline environment first)

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "recipes" / "quickstart" / "documents"
QUICKSTART = REPO / "recipes" / "quickstart.yaml"
# The real Korean public text beside the repository (../shared/data, see its README).
SHARED_DATA = Path(os.environ.get("GONGMU_SHARED_DATA", REPO.parent / "shared" / "data"))


def write_recipe(folder: Path, tiny_model: Path, body: str = "", name: str = "t") -> Path:
    """A recipe extending the quickstart, pointed at `folder` and the tiny model, short."""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"extends: {QUICKSTART}\n"
        f"name: {name}\n"
        f"output_dir: {folder / 'runs'}\n"
        f"model:\n  path: {tiny_model}\n"
        f"train:\n  max_steps: 24\n  logging_steps: 4\n"
        f"eval:\n  max_new_tokens: 16\n"
        f"export:\n  probes: 4\n  max_shard_size: 2MB\n"
        + body,
        encoding="utf-8",
    )
    return path


def gongmu(*args: str, cwd: Path | None = None, check: bool = False,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real `gongmu` console script in a fresh process."""
    exe = Path(sys.executable).parent / "gongmu"
    proc = subprocess.run(
        [str(exe), *args], capture_output=True, text=True, cwd=cwd, env=env or dict(os.environ),
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"gongmu {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def ec_key_pair(folder: Path) -> tuple[Path, Path]:
    """A fresh P-256 private key and its public key as PEM files in `folder`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "key.pem", folder / "pub.pem"
    private.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public
