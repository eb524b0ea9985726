"""A seeded fuzz test of what gongmu reads from people it does not know (issue 19,
acceptance): generated hostile inputs go to the corpus readers (HWPX zips with odd
members, PDF bytes, JSONL lines, text in odd encodings, front matter), the recipe loader
(random YAML, extends, overrides) and the eval's result readers (`eval compare` and
`eval gate` on random results.json and outputs JSONL).

It must find no "unexpected error" (every failure a GongmuError, which the CLI turns into
exit 2, or a quarantined file), no peak RSS over 1 GB, and no file written outside the run
folder. The cases run in one fresh process under a time budget; a failure names the seed
and the case number: replay with GONGMU_FUZZ_SEED=<seed>."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import traceback
import zipfile
import zlib
from pathlib import Path

import pytest

SEED = int(os.environ.get("GONGMU_FUZZ_SEED", "19"))
BUDGET_S = float(os.environ.get("GONGMU_FUZZ_SECONDS", "30"))
CASE_LIMIT_S = 20  # one input taking longer than this is a finding too (a hang)
GB = 2**30
HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HS = "http://www.hancom.co.kr/hwpml/2011/section"
KOREAN = "제1조 목적 이 규칙은 민원 처리에 관한 사항을 정한다 홍길동 010-1234-5678 ①②"


# ---------------------------------------------------------------- generators

def odd_text(rng: random.Random) -> bytes:
    """Text in an odd encoding, or bytes that are no text at all."""
    text = "".join(rng.choice([KOREAN, "똠방각하 ", "漢字 ", "\u200b\u00ad\u2060", "\ufeff",
                               "\x00", "\r\n", "ｆｕｌｌ", "é", "\U0001f600", "---\n"])
                   for _ in range(rng.randint(1, 40)))
    encoding = rng.choice(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "cp949",
                           "euc-kr", "shift_jis", "gbk", "latin-1", "raw"])
    if encoding == "raw":
        return rng.randbytes(rng.randint(0, 3000))
    data = text.encode(encoding, "ignore")
    if rng.random() < 0.3 and data:
        at = rng.randrange(len(data))
        data = data[:at] + rng.randbytes(rng.randint(1, 8)) + data[at:]
    return data


def front_matter(rng: random.Random) -> bytes:
    heads = ["제목: 민원 처리 지침", "제목: &a [*a]", "a: &a [x, x]\nb: &b [*a, *a, *a]\n제목: *b",
             "!!python/object:os.system ls", "제목: !!binary aGVsbG8=", "- 목록", "제목: [",
             "? [a, b]\n: c", "제목: " + "[" * 500, "제목: 1e99999", "날짜: 2024-02-30"]
    head = "\n".join(rng.choice(heads) for _ in range(rng.randint(0, 3)))
    closing = "---\n" if rng.random() < 0.9 else ""
    return f"---\n{head}\n{closing}{KOREAN * rng.randint(1, 30)}\n".encode()


def jsonl_lines(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randint(0, 12)):
        kind = rng.randrange(11)
        if kind == 0:
            lines.append(json.dumps({"text": KOREAN * rng.randint(1, 20), "id": rng.random()},
                                    ensure_ascii=rng.random() < 0.5).encode())
        elif kind == 1:
            lines.append(b"[" * rng.randint(1000, 200_000))
        elif kind == 2:
            lines.append(b'{"text": ' + b"9" * rng.randint(4000, 6000) + b"}")
        elif kind == 3:
            lines.append(json.dumps({"text": KOREAN}).encode("utf-16"))
        elif kind == 4:
            lines.append(json.dumps({"text": KOREAN}, ensure_ascii=False).encode("cp949"))
        elif kind == 5:
            lines.append(rng.randbytes(rng.randint(1, 200)))
        elif kind == 6:
            lines.append(b'{"text": NaN, "id": Infinity}')
        elif kind == 7:
            lines.append(b'{"text": {"text": "x"}, "text": 3}')
        elif kind == 8:
            lines.append(b'"just a string"')
        elif kind == 9:
            lines.append(b'{"text": "\\ud800 lone surrogate"}')
        else:
            lines.append(b'{"text": "' + "가".encode() * rng.randint(1, 100_000) + b'"}')
    return b"\n".join(lines) + rng.choice([b"", b"\n", b"\r\n"])


def section_xml(rng: random.Random, depth: int = 0) -> str:
    tags = ["p", "run", "t", "tbl", "tr", "tc", "subList", "header", "footer", "tab",
            "lineBreak", "ctrl", "secPr"]
    if depth > 8 or rng.random() < 0.2:
        return rng.choice(["", KOREAN, "&amp;", "&#0;", "&#x110000;", "&undefined;", "]]>"])
    parts = []
    for _ in range(rng.randint(0, 4)):
        tag = rng.choice(tags)
        parts.append(f"<hp:{tag}>{section_xml(rng, depth + 1)}</hp:{tag}>")
    return "".join(parts)


def hwpx(rng: random.Random) -> bytes:
    members: list[tuple[str, bytes]] = []
    if rng.random() < 0.9:
        members.append(("mimetype", rng.choice([b"application/hwp+zip", b"text/plain",
                                                 rng.randbytes(20)])))
    if rng.random() < 0.5:
        path = rng.choice(["Contents/content.hpf", "../content.hpf", "x.hpf", "/etc/passwd.hpf"])
        members.append(("META-INF/container.xml",
                        f'<container><rootfiles><rootfile full-path="{path}"/></rootfiles>'
                        f"</container>".encode()))
    if rng.random() < 0.6:
        href = rng.choice(["Contents/section0.xml", "section0.xml", "../section0.xml",
                           "Contents/section9.xml", "Contents/section0.xml#x"])
        members.append(("Contents/content.hpf",
                        f'<package><metadata><title>{KOREAN}</title></metadata><manifest>'
                        f'<item id="s0" href="{href}"/></manifest><spine><itemref idref="s0"/>'
                        f'<itemref idref="nope"/></spine></package>'.encode()))
    body = section_xml(rng)
    if rng.random() < 0.1:
        body = "<hp:p>" * rng.randint(200, 5000) + body
    root = rng.choice(["hs:sec", "hs:sec", "hs:sec", "html", "hp:p"])
    section = f'<{root} xmlns:hp="{HP}" xmlns:hs="{HS}">{body}</{root}>'.encode()
    if rng.random() < 0.15:
        section = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + section
    if rng.random() < 0.15:
        section = section[: rng.randrange(len(section) + 1)]
    if rng.random() < 0.1:
        section = section.decode("utf-8", "ignore").encode(rng.choice(["utf-16", "cp949"]), "ignore")
    for name in rng.choice([["Contents/section0.xml"], ["Contents/section0.xml"] * 2,
                            ["Contents/section1.xml", "Contents/section0.xml"],
                            ["Contents/../section0.xml"], ["C:/section0.xml"],
                            ["Contents/section0.xml", "Contents/section10.xml"]]):
        members.append((name, section))
    for _ in range(rng.randint(0, 3)):
        members.append((rng.choice(["BinData/image1.png", "Preview/PrvText.txt", "a\\b",
                                    "x" * 300, "\u00e9.xml", "dir/"]), rng.randbytes(100)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf, warnings_off():
        for name, data in members:
            method = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                 zipfile.ZIP_LZMA])
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    data = bytearray(buffer.getvalue())
    for _ in range(rng.choice([0, 0, 1, 5, 30])):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.1:
        data = data[: rng.randrange(len(data) + 1)]
    return bytes(data)


def pdf(rng: random.Random) -> bytes:
    ops = [b"(ABC) Tj", "(\\354\\225\\210) Tj".encode(), b"[(A) 120 (B)] TJ", b"1 0 0 1 0 0 cm",
           b"/F1 12 Tf", b"T*", b"q Q", b"<FEFF0041> Tj", b"/X1 Do", b"BI /W 1 ID x EI",
           b"(" + b"\\" * 20, b"[" * 200, b"99999999999999999999 Tz"]
    content = b"BT /F1 12 Tf 72 720 Td\n" + b"\n".join(
        rng.choice(ops) for _ in range(rng.randint(1, 200))) + b"\nET"
    filt = rng.choice([b"/FlateDecode", b"[/FlateDecode /FlateDecode]", b"/LZWDecode",
                       b"/ASCIIHexDecode", b"/RunLengthDecode", b""])
    stream = zlib.compress(content) if filt == b"/FlateDecode" else content
    if filt == b"[/FlateDecode /FlateDecode]":
        stream = zlib.compress(zlib.compress(content))
    pages = rng.randint(1, 5)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            rng.choice([f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
                        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
                        b"<< /Type /Pages /Kids [1 0 R 2 0 R] /Count -1 >>"]),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    xobject = rng.choice([b"", b" /XObject << /X1 %d 0 R >>" % (4 + pages)])
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << "
             b"/F1 3 0 R >>" + xobject + b" >> /Contents %d 0 R >>" % (4 + pages)] * pages
    length = rng.choice([len(stream), len(stream), 0, 10**12, -5])
    extra = b" /Subtype /Form" if xobject else b""
    objs.append(b"<< /Length %d /Filter %s%s >>\nstream\n" % (length, filt or b"[]", extra)
                + stream + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1,
                                                                              xref)
    for _ in range(rng.choice([0, 0, 1, 5, 40])):
        out[rng.randrange(len(out))] = rng.randrange(256)
    if rng.random() < 0.15:
        out = out[: rng.randrange(len(out) + 1)]
    return bytes(out)


RECIPE_KEYS = ["name", "description", "seed", "output_dir", "extends", "corpus", "sources",
               "type", "path", "glob", "options", "field_map", "text", "train", "method",
               "lora", "r", "learning_rate", "eval", "suites", "candidates", "kind", "model",
               "export", "report", "title", "tracking", "enabled", "follow_symlinks",
               "families", "profiles", "workers", "max_new_tokens", "api_key_env"]


def yaml_value(rng: random.Random, depth: int = 0) -> str:
    """A random YAML flow value."""
    scalars = ["x", "0", "-1", "1e400", ".nan", "~", "true", "'a: b'", '"\\ud800"', "[",
               "*undefined", "!!python/name:os.system", "&a x", "2024-13-45", "0x1F", "١٢",
               "/etc/passwd", "../../x", "'" + "가" * 300 + "'", "{a: &b [x, x], c: [*b, *b]}",
               "!!binary AAAA", "? x"]
    if depth > 4 or rng.random() < 0.4:
        return rng.choice(scalars)
    if rng.random() < 0.5:
        return "[" + ", ".join(yaml_value(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
    return "{" + ", ".join(f"{rng.choice(RECIPE_KEYS)}: {yaml_value(rng, depth + 1)}"
                           for _ in range(rng.randint(0, 4))) + "}"


def recipe_text(rng: random.Random, others: list[str]) -> str:
    lines = []
    for _ in range(rng.randint(0, 8)):
        key = rng.choice(RECIPE_KEYS)
        value = rng.choice(others) if key == "extends" and others else yaml_value(rng)
        lines.append(f"{key}: {value}")
    if rng.random() < 0.1:
        lines.append("\t bad: indentation")
    if rng.random() < 0.1:
        lines.append("a: &x [" + ", ".join(["*x"] * 3) + "]")
    return "\n".join(lines) + "\n"


def override(rng: random.Random) -> str:
    keys = [".".join(rng.choice(RECIPE_KEYS + ["0", "1", "99", "٣", "-1", ""])
                     for _ in range(rng.randint(1, 5))) for _ in range(3)]
    keys += ["corpus.sources.0.options", "train.learning_rate", "seed", "name",
             "eval.candidates.0.kind", "corpus.sources.0.path"]
    return f"{rng.choice(keys)}={yaml_value(rng)}" if rng.random() < 0.95 else "no-equals"


def json_value(rng: random.Random, depth: int = 0):
    if depth > 4 or rng.random() < 0.35:
        return rng.choice([0, 1, -1, 0.5, 1e308, None, True, "", "x", "가", [], {},
                           "NaN", 10**30, "../x"])
    if rng.random() < 0.5:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["suites", "primary_metric", "gated_metrics", "higher_is_better", "clusters",
            "suite_hash", "candidates", "reference", "id", "scores", "suite", "failed",
            "exact_match", "citation_accuracy", "quickstart", "tuned", "base"]
    return {rng.choice(keys): json_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def eval_folder(rng: random.Random, folder: Path) -> None:
    """An eval folder (results.json and outputs/*.jsonl) of random, often broken, parts."""
    (folder / "outputs").mkdir(parents=True)
    suites = {"quickstart": {"primary_metric": rng.choice(["exact_match", "x", 3, None]),
                             "gated_metrics": rng.choice([["exact_match"], "x", [1], None]),
                             "higher_is_better": rng.choice([{"exact_match": True}, [], 1])}}
    results = rng.choice([{"suites": suites}, {"suites": json_value(rng)}, json_value(rng)])
    data = json.dumps(results).encode()
    if rng.random() < 0.2:
        data = rng.choice([b"[" * 100_000, data[: len(data) // 2], "가".encode("cp949"),
                           b'{"suites": ' + b"1" * 5000 + b"}"])
    (folder / "results.json").write_bytes(data)
    for side in rng.sample(["tuned", "base", "ep"], rng.randint(0, 3)):
        rows = []
        for n in range(rng.randint(0, 8)):
            row = {"id": rng.choice([f"q{n}", n, None, ""]), "suite": "quickstart",
                   "scores": rng.choice([{"exact_match": rng.random()},
                                         {"exact_match": rng.choice(["x", None, 1e309])},
                                         json_value(rng)])}
            if rng.random() < 0.2:
                row = json_value(rng)
            rows.append(json.dumps(row).encode())
        if rng.random() < 0.2:
            rows.append(rng.choice([b"\xff\xfe bad", b"[" * 100_000, b"9" * 5000, b"{"]))
        (folder / "outputs" / f"quickstart.{side}.jsonl").write_bytes(b"\n".join(rows))


# ---------------------------------------------------------------- the cases

@contextlib.contextmanager
def warnings_off():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def case_reader(rng: random.Random, work: Path) -> str:
    """One generated file through `read_source_file`: documents or quarantine, nothing
    else."""
    from toolkit.corpus.sources import Document, Quarantined, read_source_file
    from toolkit.recipe.schema import CorpusSource

    kind = rng.choice(["hwpx", "pdf", "jsonl", "text", "documents"])
    make = {"hwpx": hwpx, "pdf": pdf, "jsonl": jsonl_lines, "text": odd_text,
            "documents": lambda r: front_matter(r) if r.random() < 0.6 else odd_text(r)}[kind]
    folder = work / "src"
    folder.mkdir(exist_ok=True)
    path = folder / f"input.{ {'documents': 'md', 'text': 'txt'}.get(kind, kind) }"
    path.write_bytes(make(rng))
    source = CorpusSource(type=kind, path=folder)
    for item in read_source_file(source, path):
        assert isinstance(item, (Document, Quarantined)), type(item)
        if isinstance(item, Quarantined):
            assert item.reason and isinstance(item.reason, str)
    return kind


def case_recipe(rng: random.Random, work: Path) -> str:
    """Random recipe files (some extending each other or the quickstart) and overrides:
    a Recipe or a GongmuError."""
    from tests.helpers import QUICKSTART
    from toolkit.recipe import load_recipe

    folder = work / "recipes"
    folder.mkdir(exist_ok=True)
    names = [f"r{i}.yaml" for i in range(rng.randint(1, 4))]
    for name in names:
        text = recipe_text(rng, names + [str(QUICKSTART)])
        data = text.encode()
        if rng.random() < 0.05:
            data = text.encode("utf-16")
        (folder / name).write_bytes(data)
    top = folder / names[0]
    if rng.random() < 0.5:  # mostly valid: the quickstart plus hostile overrides
        top.write_text(f"extends: {QUICKSTART}\noutput_dir: {work / 'runs'}\n"
                       + ("" if rng.random() < 0.5 else recipe_text(rng, names[1:])),
                       encoding="utf-8")
    load_recipe(top, [override(rng) for _ in range(rng.randint(0, 3))])
    return "recipe"


def case_results(rng: random.Random, work: Path) -> str:
    """`eval compare` and `eval gate` over random eval folders: exit 0/1 or a GongmuError."""
    from toolkit.eval.gate import compare_command, gate_command

    a, b = work / "eval_a", work / "eval_b"
    eval_folder(rng, a)
    eval_folder(rng, b)
    with contextlib.redirect_stdout(io.StringIO()):
        if rng.random() < 0.5:
            compare_command(str(a), str(b) if rng.random() < 0.8 else None, json_out=True)
        else:
            gate_command(str(a), str(b), junit=work / "junit.xml")
    return "results"


CASES = [case_reader, case_reader, case_reader, case_recipe, case_results]


class _Hang(Exception):
    pass


def fuzz_main(seed: int, budget_s: float, run: Path) -> dict:
    """Run cases under the budget in `run`; the findings as a dict (printed as JSON)."""
    import shutil

    from toolkit.errors import GongmuError

    def on_alarm(signum, frame):
        raise _Hang()

    signal.signal(signal.SIGALRM, on_alarm)
    findings, counts = [], {}
    deadline = time.monotonic() + budget_s
    case = 0
    while time.monotonic() < deadline and len(findings) < 5:
        rng = random.Random(f"{seed}:{case}")
        work = run / f"case{case}"
        work.mkdir()
        kind = "?"
        started = time.monotonic()
        signal.alarm(CASE_LIMIT_S)
        try:
            fn = rng.choice(CASES)
            kind = fn.__name__
            with warnings_off():
                kind = fn(rng, work)
        except GongmuError:
            pass
        except _Hang:
            findings.append({"case": case, "kind": kind, "error": f"took over {CASE_LIMIT_S} s"})
        except BaseException as exc:  # noqa: BLE001 -- that is what is looked for
            findings.append({"case": case, "kind": kind, "error": repr(exc)[:300],
                             "traceback": traceback.format_exc()[-1500:]})
        finally:
            signal.alarm(0)
        counts[kind] = counts.get(kind, 0) + 1
        if time.monotonic() - started > 5:
            counts.setdefault("slow_cases", []).append(case)
        shutil.rmtree(work, ignore_errors=True)
        case += 1
    return {"seed": seed, "cases": case, "counts": counts, "findings": findings}


_CHILD = r"""
import json, os, sys
from pathlib import Path
sys.path.insert(0, os.environ["GONGMU_REPO"])
os.chdir(sys.argv[3])
from tests.test_fuzz_hostile_inputs import fuzz_main
print("FUZZ " + json.dumps(fuzz_main(int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3]))))
"""
_WRAPPER = r"""
import json, resource, subprocess, sys
proc = subprocess.run([sys.executable, "-c", *sys.argv[1:]], capture_output=True, text=True)
print(json.dumps({"rc": proc.returncode, "out": proc.stdout[-20000:], "err": proc.stderr[-4000:],
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.slow
def test_hostile_inputs_raise_no_unexpected_error_stay_under_1_gb_and_write_only_inside(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    run, home, tmp = tmp_path / "run", tmp_path / "home", tmp_path / "tmp"
    for folder in (run, home, tmp):
        folder.mkdir()
    # The generated recipes and results name `../../x`, `/etc/passwd`, `junit.xml`, `runs`:
    # none may appear above the run folder (other files there change under other tests).
    around = [tmp_path.parent, tmp_path.parent.parent, repo, Path.cwd()]
    hostile = {"x", "junit.xml", "runs", "c.yaml", "input.md"}
    before = {str(d / n) for d in around for n in hostile if (d / n).exists()}
    env = dict(os.environ, GONGMU_REPO=str(repo), HOME=str(home), TMPDIR=str(tmp),
               PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, _CHILD, str(SEED), str(BUDGET_S),
                           str(run)], capture_output=True, text=True, env=env, cwd=run,
                          timeout=BUDGET_S + 120)
    replay = f"(replay: GONGMU_FUZZ_SEED={SEED})"
    wrapper = json.loads(proc.stdout)
    lines = [ln for ln in wrapper["out"].splitlines() if ln.startswith("FUZZ ")]
    assert wrapper["rc"] == 0 and lines, f"fuzz process failed {replay}: {wrapper['err']}"
    report = json.loads(lines[-1][5:])
    assert not report["findings"], f"seed {SEED} {replay}: " + json.dumps(
        report["findings"], ensure_ascii=False, indent=1)
    assert report["cases"] >= 50, report
    peak = wrapper["maxrss_kb"] * 1024
    assert peak < 1 * GB, f"seed {SEED}: peak RSS {peak / 2**20:.0f} MiB {replay}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "run", "tmp"]
    assert not _files_under(home) and not _files_under(tmp), (
        f"seed {SEED} wrote outside the run folder: {_files_under(home) | _files_under(tmp)}")
    after = {str(d / n) for d in around for n in hostile if (d / n).exists()}
    assert after == before, f"seed {SEED} wrote outside the run folder: {after - before}"


# ---------------------------------------------------------------- what it found (fast)

@pytest.mark.parametrize("value", ["!!python/name:os.system x", "2024-13-45", "!!binary 가"])
def test_yaml_values_the_safe_loader_cannot_build_are_recipe_errors(tmp_path, value):
    """Found by the fuzz test: an unknown tag or an impossible date escaped as yaml's
    ConstructorError / ValueError, an "unexpected error"."""
    from tests.helpers import QUICKSTART
    from toolkit.errors import RecipeError
    from toolkit.recipe import load_recipe

    with pytest.raises(RecipeError, match="a value cannot be read"):
        load_recipe(QUICKSTART, [f"corpus.families=[{value}]"])
    path = tmp_path / "r.yaml"
    path.write_text(f"extends: {QUICKSTART}\ndescription: {value}\n", encoding="utf-8")
    with pytest.raises(RecipeError, match=f"{path}:2: a value cannot be read"):
        load_recipe(path)


def test_front_matter_with_an_unknown_tag_is_quarantined(tmp_path):
    from toolkit.corpus.sources import Quarantined, documents
    from toolkit.recipe.schema import CorpusSource

    (tmp_path / "a.md").write_text("---\n제목: !!python/object:os.system x\n---\n본문\n",
                                   encoding="utf-8")
    (item,) = documents(CorpusSource(type="documents", path=tmp_path))
    assert isinstance(item, Quarantined) and "a value cannot be read" in item.reason


def test_an_override_through_a_list_written_where_keys_belong_is_a_recipe_error(tmp_path):
    from tests.helpers import QUICKSTART
    from toolkit.errors import RecipeError
    from toolkit.recipe import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text(f"extends: {QUICKSTART}\ncorpus: []\n", encoding="utf-8")
    with pytest.raises(RecipeError, match="'corpus' is written as a list"):
        load_recipe(path, ["corpus.sources.0.path=x"])


def test_a_corrupt_lzma_member_in_an_hwpx_is_unreadable(tmp_path):
    from toolkit.corpus.formats import Unreadable, read_hwpx

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip")
        zf.writestr(zipfile.ZipInfo("Contents/section0.xml"), b"<hs:sec/>" * 100,
                    compress_type=zipfile.ZIP_LZMA)
    data = bytearray(buffer.getvalue())
    at = data.find(b"Contents/section0.xml") + len("Contents/section0.xml") + 12
    data[at:at + 8] = b"\xff" * 8
    path = tmp_path / "lzma.hwpx"
    path.write_bytes(bytes(data))
    with pytest.raises(Unreadable):
        read_hwpx(path)


@pytest.mark.parametrize("line, needle", [(b"\xff\xfe not utf-8", "not UTF-8"),
                                          (b"[" * 100_000, "nested too deeply")])
def test_compare_on_a_broken_outputs_jsonl_is_a_gongmu_error(tmp_path, line, needle):
    from toolkit.errors import GongmuError
    from toolkit.eval.gate import compare_command

    good = tmp_path / "a.jsonl"
    good.write_text('{"id": "q1", "scores": {"exact_match": 1}}\n', encoding="utf-8")
    bad = tmp_path / "b.jsonl"
    bad.write_bytes(b'{"id": "q1", "scores": {"exact_match": 1}}\n' + line + b"\n")
    with pytest.raises(GongmuError, match=needle):
        compare_command(str(good), str(bad), json_out=True)


def test_results_json_with_odd_suite_entries_names_no_candidates(tmp_path):
    from toolkit.eval.statistics import candidate_names

    (tmp_path / "results.json").write_text(
        json.dumps({"suites": {"a": 1.5, "b": {"models": 3}, "c": {"models": [{}, "ep"]}}}),
        encoding="utf-8")
    assert candidate_names(tmp_path) == ["ep"]
