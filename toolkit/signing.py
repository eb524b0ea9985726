"""Signing a stage folder's manifest with a local elliptic-curve key (model_signing).

The manifest lists the sha256 of every file, so a valid signature over it, plus files
that match their hashes, means the folder is exactly what the key holder exported.
The signature goes beside the manifest as `manifest.sig`.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.artifacts import MANIFEST, SIGNATURE
from toolkit.errors import ArtifactError


def sign_manifest(folder: Path, private_key: Path) -> Path:
    from model_signing import signing

    if not Path(private_key).is_file():
        raise ArtifactError(
            f"export.signing_key {private_key} does not exist. Give a PEM elliptic-curve "
            f"private key (openssl ecparam -name prime256v1 -genkey -noout -out key.pem)."
        )
    out = Path(folder) / SIGNATURE
    signing.Config().use_elliptic_key_signer(private_key=private_key).sign(
        Path(folder) / MANIFEST, out
    )
    return out


def verify_signature(folder: Path, public_key: Path) -> list[str]:
    """Problems with the signature of `folder`'s manifest (empty when it verifies)."""
    from model_signing import verifying

    sig = Path(folder) / SIGNATURE
    if not sig.is_file():
        return [f"{sig} is missing: this folder was not signed"]
    if not Path(public_key).is_file():
        return [f"public key {public_key} does not exist"]
    try:
        verifying.Config().use_elliptic_key_verifier(public_key=public_key).verify(
            Path(folder) / MANIFEST, sig
        )
    except Exception as exc:  # model_signing raises several types for a bad signature
        return [f"the signature does not verify against {public_key}: {exc}"]
    return []
