"""report.pdf: the HTML printed by headless Chromium (A4, page numbers from the page's
@page rules, Korean fonts embedded by Chromium's PDF writer, charts kept as vectors)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from toolkit.errors import ArtifactError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-pdf-header-footer")
TIMEOUT_S = 180


INSTALL = ("scripts/setup/install_browser.sh installs them as root (Debian/Ubuntu: apt-get "
           "install chromium fonts-nanum fonts-noto-cjk poppler-utils)")


def browser() -> str | None:
    """The headless browser's path, or None."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def missing_for_pdf() -> list[str]:
    """What printing report.pdf needs and this machine lacks: headless Chromium, and the
    NanumGothic font the report's CSS names (checked with fc-list where fontconfig is)."""
    missing = [] if browser() else ["headless Chromium (chromium on PATH)"]
    fc_list = shutil.which("fc-list")
    if fc_list is not None:
        try:
            fonts = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True,
                                   timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            fonts = ""
        if "NanumGothic" not in fonts:
            missing.append("the NanumGothic font (fonts-nanum)")
    return missing


def print_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print `html_path` to `pdf_path` with headless Chromium, or raise ArtifactError
    saying how to install it (or to set report.pdf: false)."""
    exe = browser()
    if exe is None:
        raise ArtifactError(
            f"report.pdf needs headless Chromium, which is not installed: {INSTALL}. Or set "
            f"report.pdf: auto (or false) to write report.html alone.")
    with tempfile.TemporaryDirectory(prefix="gongmu-chromium-") as profile:
        proc = subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}",
             Path(html_path).resolve().as_uri()],
            capture_output=True, text=True, timeout=TIMEOUT_S)
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ArtifactError(
            f"Chromium ({exe}) did not print {pdf_path.name} (exit {proc.returncode}: "
            f"{' / '.join(tail) or 'no message'}). Check that it starts headless on this "
            f"machine, or set report.pdf: false.")
