"""HWPX and PDF readers keep memory bounded for any input (issue 19 §6): a 150 MB section
inside a small HWPX, within the zip limits, took the reader to 1.6 GB as an element tree.
Each file is generated in a tmp folder and read in a fresh process whose peak RSS is
measured (RUSAGE_CHILDREN of a wrapper that runs only the reader)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from toolkit.corpus.formats import Unreadable, read_pdf

GB = 2**30
HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HS = "http://www.hancom.co.kr/hwpml/2011/section"

# The wrapper runs the reader as its only child and reports that child's peak RSS.
_WRAPPER = r"""
import json, resource, subprocess, sys
proc = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True,
                      text=True)
print(json.dumps({"rc": proc.returncode, "out": proc.stdout, "err": proc.stderr[-2000:],
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
_READER = r"""
import json, sys
from pathlib import Path
from toolkit.corpus.formats import Unreadable, read_hwpx, read_pdf
path = Path(sys.argv[1])
reader = read_hwpx if path.suffix == ".hwpx" else read_pdf
try:
    text, meta = reader(path)
    print(json.dumps({"chars": len(text), "meta": meta}))
except Unreadable as exc:
    print(json.dumps({"unreadable": str(exc)}))
"""


def read_in_child(path: Path) -> tuple[dict, int]:
    """(what the reader returned, its peak RSS in bytes), read in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, _READER, str(path)],
                          capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(proc.stdout)
    assert report["rc"] == 0, report["err"]
    return json.loads(report["out"]), report["maxrss_kb"] * 1024


def write_big_section_hwpx(path: Path, section_mb: int, text_every: int = 1,
                           random_bytes: int = 2) -> Path:
    """An HWPX whose one section is `section_mb` MB of paragraphs (a short Korean text
    in every `text_every`-th, markup only in the others), a little random in each so that
    it compresses about 30:1, well inside the zip bomb limits."""
    rng = random.Random(19)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip",
                    compress_type=zipfile.ZIP_STORED)
        with zf.open("Contents/section0.xml", "w", force_zip64=True) as f:
            f.write(f'<hs:sec xmlns:hp="{HP}" xmlns:hs="{HS}">'.encode())
            written, n = 0, 0
            while written < section_mb * 2**20:
                block = []
                for _ in range(2000):
                    n += 1
                    noise = rng.randbytes(random_bytes).hex()
                    if n % text_every == 0:
                        body = f"<hp:t>제{n}조 민원 처리 기준 {noise}</hp:t>"
                    else:
                        body = f'<hp:ctrl><hp:colPr id="{noise}"/></hp:ctrl>'
                    block.append(f'<hp:p id="{n}"><hp:run charPrIDRef="{n % 7}">{body}'
                                 f"</hp:run></hp:p>")
                data = "".join(block).encode()
                f.write(data)
                written += len(data)
            f.write(b"</hs:sec>")
    return path


def test_hwpx_with_a_150_mb_section_stays_under_1_gb_and_is_quarantined(tmp_path):
    path = write_big_section_hwpx(tmp_path / "big.hwpx", 150)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("Contents/section0.xml")
    assert info.file_size > 150 * 2**20 and info.file_size / info.compress_size < 100
    result, peak = read_in_child(path)
    assert peak < 1 * GB, f"peak RSS {peak / 2**20:.0f} MiB"
    assert "characters of text" in result.get("unreadable", ""), result


@pytest.mark.slow
def test_hwpx_with_100_mb_of_markup_and_little_text_is_read_within_bounds(tmp_path):
    """100 MB, mostly markup: the stream is read to the end (about 10 s) and the
    text comes out, still far under 1 GB."""
    path = write_big_section_hwpx(tmp_path / "markup.hwpx", 100, text_every=500)
    result, peak = read_in_child(path)
    assert peak < 1 * GB, f"peak RSS {peak / 2**20:.0f} MiB"
    assert result["meta"]["sections"] == 1 and result["chars"] > 30_000, result


def write_shared_stream_pdf(path: Path, pages: int, content_bytes: int) -> Path:
    """A PDF of `pages` pages that all draw one Flate stream decoding to `content_bytes`
    of text operators: a few KB on disk, pages x content_bytes of work."""
    op = b"(ABCDEFGHIJ KLMNOPQRST) Tj\n"
    content = zlib.compress(b"BT /F1 12 Tf 72 720 Td\n" + op * (content_bytes // len(op))
                            + b"ET\n", 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    objs += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
             f"<< /F1 3 0 R >> >> /Contents {4 + pages} 0 R >>".encode()] * pages
    objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
                + content + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1,
                                                                              xref)
    path.write_bytes(bytes(out))
    return path


def test_pdf_page_content_over_the_page_limit_is_quarantined_unread(tmp_path):
    """A page drawing 20 MB of text operators (60 KB on disk) is refused before pypdf
    spends minutes extracting it."""
    path = write_shared_stream_pdf(tmp_path / "heavy.pdf", 1, 20 * 2**20)
    assert path.stat().st_size < 200_000
    result, peak = read_in_child(path)
    assert peak < 1 * GB
    assert "of decoded page content, over the 8 MB limit for a page" in result["unreadable"]


def test_pdf_pages_sharing_one_stream_count_against_the_document_budget(tmp_path):
    path = write_shared_stream_pdf(tmp_path / "shared.pdf", 2000, 64 * 2**10)
    with pytest.raises(Unreadable, match=r"page 16: over 1 MB of decoded page content"):
        read_pdf(path, max_content_bytes=2**20)


def test_pdf_text_over_the_character_limit_is_quarantined(tmp_path):
    path = write_shared_stream_pdf(tmp_path / "long.pdf", 3, 64 * 2**10)
    with pytest.raises(Unreadable, match="more than 50,000 characters"):
        read_pdf(path, max_text_chars=50_000)


def test_a_pdf_file_over_the_size_limit_is_refused_unopened(tmp_path):
    path = tmp_path / "huge.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(2**20))
    with pytest.raises(Unreadable, match="over the 512 KB limit"):
        read_pdf(path, max_file_bytes=2**19)
