"""`gongmu report verify DIR`: is this report folder the one the run produced?

Checks, in order: every file of the report folder against its manifest (report.pdf,
report.html, summary.json); the manifest's signature (with --public-key; a folder signed
without a key given is said to be unchecked); the lineage: each upstream manifest the
report's manifest names, found beside the report folder, must hash to the sha256 recorded,
verify itself, and so on upstream back to the corpus; and every upstream summary.json names
must be one the manifest's lineage records. Prints the hashes a reviewer compares with a
paper copy, and a verdict in Korean or English that says how far the lineage was checked:
back to the corpus, only to some stages (a recipe without a corpus), or not at all (a
manifest that names no upstream: nothing shows where such a report came from).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.artifacts import MANIFEST, SIGNATURE, sha256_file, verify_folder


@dataclass
class ReportCheck:
    folder: Path
    problems: list[str] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)  # (what, sha256)
    signature: str = "absent"  # absent | verified | unchecked | bad
    language: str = "ko"
    lineage: list[str] = field(default_factory=list)  # upstream stages whose folders checked

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        """The MESSAGES key of the closing line."""
        if self.problems:
            return "fail"
        if "corpus" in self.lineage:
            return "ok"
        return "ok_partial" if self.lineage else "ok_no_lineage"


def _manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _lineage(folder: Path, manifest: dict, check: ReportCheck, seen: set[str]) -> None:
    """Each upstream of `manifest`, found beside `folder`: its manifest's sha256 as
    recorded, its files as its manifest lists them; then its own upstreams."""
    for stage, recorded in sorted((manifest.get("lineage") or {}).items()):
        if stage in seen:
            continue
        seen.add(stage)
        upstream = folder.parent / stage
        path = upstream / MANIFEST
        if not path.is_file():
            check.problems.append(f"lineage: {path} is missing, so the {stage} folder the "
                                  f"report was built from cannot be checked")
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != recorded:
            check.problems.append(f"lineage: {path} has sha256 {actual[:16]}…, but the "
                                  f"{folder.name} manifest records {recorded[:16]}… (the {stage} "
                                  f"folder changed or was re-run after the report)")
            continue
        check.checked.append((f"{stage}/{MANIFEST}", actual))
        check.lineage.append(stage)
        check.problems += [f"{stage}: {p}" for p in verify_folder(upstream)]
        upstream_manifest = _manifest(upstream)
        if upstream_manifest:
            _lineage(upstream, upstream_manifest, check, seen)


def verify_report(folder: Path, public_key: Path | None = None) -> ReportCheck:
    """Everything `gongmu report verify` checks; `problems` empty when the folder is the
    one the run produced."""
    folder = Path(folder)
    check = ReportCheck(folder)
    check.problems += verify_folder(folder)
    manifest = _manifest(folder)
    if manifest is None:
        return check
    try:
        check.language = json.loads((folder / "summary.json").read_text(encoding="utf-8")).get(
            "language", "ko")
    except (OSError, ValueError, AttributeError):
        pass
    check.checked.append((f"{folder.name}/{MANIFEST}", sha256_file(folder / MANIFEST)))
    summary = _summary(folder)
    for name in ("summary.json", "report.html", "report.pdf"):
        if name not in manifest.get("files", {}):
            if name != "report.pdf" or (folder / name).exists():
                check.problems.append(f"{name} is not listed in {folder / MANIFEST}")
        elif (folder / name).is_file():
            check.checked.append((name, sha256_file(folder / name)))
    if public_key is not None:
        from toolkit.signing import verify_signature

        bad = verify_signature(folder, public_key)
        check.signature = "bad" if bad else "verified"
        check.problems += bad
    elif (folder / SIGNATURE).is_file():
        check.signature = "unchecked"
    _lineage(folder, manifest, check, set())
    _claimed_upstreams(summary, manifest, check)
    return check


def _summary(folder: Path) -> dict:
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _claimed_upstreams(summary: dict, manifest: dict, check: ReportCheck) -> None:
    """The stage folders summary.json says the report was built from (its lineage table)
    must be the ones the manifest's lineage records, which are those checked."""
    recorded = manifest.get("lineage") or {}
    stages = (summary.get("lineage") or {}).get("stages") if isinstance(
        summary.get("lineage"), dict) else None
    for claim in stages if isinstance(stages, list) else []:
        if not isinstance(claim, dict):
            continue
        stage, sha = claim.get("stage"), claim.get("manifest_sha256")
        if recorded.get(stage) != sha:
            check.problems.append(
                f"summary.json says the report was built from the {stage} folder with manifest "
                f"sha256 {str(sha)[:16]}…, but the report's manifest "
                + ("records no lineage at all" if not recorded else
                   f"records {str(recorded.get(stage))[:16]}… for {stage}" if stage in recorded
                   else f"records no {stage} folder")
                + ": the report claims an upstream it does not have, so it cannot be checked")


MESSAGES = {
    "ok": ("적합: 보고서 폴더의 모든 파일이 매니페스트의 해시와 일치하고, 원천 자료(코퍼스)까지의 이력이 확인되었습니다.",
           "PASS: every file of the report folder matches its manifest, and the lineage back to "
           "the corpus checks."),
    "ok_partial": ("적합: 보고서 폴더의 모든 파일이 매니페스트의 해시와 일치하고, {stages} 단계까지의 이력이 "
                   "확인되었습니다. 이 보고서의 이력에는 원천 자료(코퍼스)가 포함되어 있지 않습니다.",
                   "PASS: every file of the report folder matches its manifest, and the lineage "
                   "checks through {stages}; it does not reach a corpus."),
    "ok_no_lineage": ("이력 미확인: 보고서 폴더의 파일은 매니페스트의 해시와 일치하나, 매니페스트에 이전 단계의 "
                      "이력이 기록되어 있지 않아 이력은 확인하지 않았습니다. 이 보고서가 어떤 자료와 모델에서 "
                      "나왔는지는 확인되지 않았습니다.",
                      "NO LINEAGE CHECKED: the report folder's files match its manifest, but the "
                      "manifest records no upstream folder, so nothing shows which data and models "
                      "this report came from."),
    "fail": ("부적합: 보고서 폴더가 실행 결과와 일치하지 않습니다. 아래 문제를 확인하십시오.",
             "FAIL: the report folder is not the one the run produced; see the problems below."),
    "sig_verified": ("전자서명: 확인됨(제시한 공개키로 검증).", "Signature: verified against the public key given."),
    "sig_unchecked": ("전자서명: 있으나 확인하지 않음(--public-key로 서명자의 공개키를 지정하십시오).",
                      "Signature: present but not checked (give the signer's key with --public-key)."),
    "sig_absent": ("전자서명: 없음(서명되지 않은 폴더).", "Signature: none (the folder is not signed)."),
    "sig_bad": ("전자서명: 검증 실패.", "Signature: does not verify."),
    "hashes": ("종이 사본과 대조할 해시(SHA-256):", "Hashes to compare with a paper copy (sha256):"),
}


def message(key: str, language: str, **values: str) -> str:
    ko, en = MESSAGES[key]
    return (ko if language == "ko" else en).format(**values)
