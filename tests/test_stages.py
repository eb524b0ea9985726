"""Stage folders under a hostile user and an unlucky operator: never replacing what is not
gongmu's, one run per folder at a time, recovering what a kill left behind, an audit
trail that shows edits, and manifests whose section cannot be edited unseen."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import DOCS, QUICKSTART, gongmu
from toolkit import audit
from toolkit.artifacts import MANIFEST, recover_stage_folder, run_lock, stage_folder, verify_folder
from toolkit.errors import ArtifactError
from toolkit.recipe import load_recipe
from toolkit.stages import section_data


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: r\ntracking: {{enabled: false}}\ncorpus:\n  sources:\n"
                    f"    - {{type: documents, path: {DOCS}}}\n", encoding="utf-8")
    return load_recipe(path)


def publish(recipe, stage="corpus", text="x"):
    with stage_folder(recipe, stage, section_data(recipe, stage)) as out:
        (out.path / "data.jsonl").write_text(text, encoding="utf-8")
    return out.path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_stage_refuses_to_replace_a_folder_gongmu_did_not_make(tmp_path):
    """The issue's repro: a user's own folder at <output_dir>/<name>/corpus survives."""
    theirs = tmp_path / "userdata" / "myproject" / "corpus"
    theirs.mkdir(parents=True)
    (theirs / "thesis.docx").write_text("x", encoding="utf-8")
    proc = gongmu("corpus", "build", str(QUICKSTART), f"output_dir={tmp_path / 'userdata'}",
                  "name=myproject", "tracking.enabled=false")
    assert proc.returncode == 2, proc.stderr
    assert "never replaces a folder it did not make" in proc.stdout + proc.stderr
    assert str(theirs) in (proc.stdout + proc.stderr).replace("\n", "")
    assert (theirs / "thesis.docx").read_text(encoding="utf-8") == "x"
    assert sorted(p.name for p in theirs.iterdir()) == ["thesis.docx"]
    warned = gongmu("recipe", "validate", str(QUICKSTART), f"output_dir={tmp_path / 'userdata'}",
                    "name=myproject", "--stage", "corpus")
    assert warned.returncode == 0 and "will refuse to replace it" in (warned.stdout + warned.stderr).replace("\n", " ")


def test_a_stage_folder_of_another_recipe_or_stage_is_refused_too(recipe, tmp_path):
    folder = publish(recipe)
    other = load_recipe(recipe.file, ["name=other"])
    other_dir = other.stage_dir("corpus")
    other_dir.parent.mkdir(parents=True)
    folder.rename(other_dir)  # recipe r's corpus folder now sits where 'other' writes
    with pytest.raises(ArtifactError, match="is not the corpus folder of recipe 'other'"):
        publish(other)
    assert (other_dir / "data.jsonl").read_text(encoding="utf-8") == "x"
    publish(recipe)  # its own folder it replaces: the normal re-run
    assert (publish(recipe, text="y") / "data.jsonl").read_text(encoding="utf-8") == "y"


def test_a_second_run_on_the_same_folder_fails_at_once_naming_the_holder(recipe):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from toolkit.recipe import load_recipe; "
         "from toolkit.artifacts import run_lock\n"
         "with run_lock(load_recipe(sys.argv[1])):\n"
         "    print('held', flush=True); time.sleep(60)", str(recipe.file)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.time()
        proc = gongmu("corpus", "build", str(recipe.file))
        assert proc.returncode == 2
        message = (proc.stdout + proc.stderr).replace("\n", " ")
        assert f"pid {holder.pid} on host" in message and "in use by another gongmu run" in message
        assert time.time() - started < 30  # at once, not after the other run ends
        assert not recipe.stage_dir("corpus").exists()
    finally:
        holder.kill()
        holder.wait()
    with run_lock(recipe):  # released when its holder dies: the next run goes ahead
        with run_lock(recipe):  # and re-entrant within one process (gongmu run)
            pass


def test_a_swap_cut_by_a_kill_is_undone_and_dead_temporaries_removed(recipe):
    folder = publish(recipe, text="previous")
    pid = dead_pid()
    hidden = folder.parent / f".corpus.old-{pid}-abcd1234"
    folder.rename(hidden)  # killed between the two renames: no corpus folder is visible
    partial = folder.parent / f".corpus.tmp-{pid}-deadbeef"
    partial.mkdir()
    (partial / "half.jsonl").write_text("half", encoding="utf-8")
    live = folder.parent / f".corpus.tmp-{os.getppid()}-live0000"  # a running process's
    live.mkdir()
    touched = recover_stage_folder(folder)
    assert set(touched) == {hidden, partial}
    assert (folder / "data.jsonl").read_text(encoding="utf-8") == "previous"
    assert verify_folder(folder) == []
    assert live.exists() and not partial.exists() and not hidden.exists()
    live.rmdir()


def test_a_killed_publish_leaves_no_temporaries_for_the_next_run(recipe):
    """kill -9 in the middle of writing a stage folder: nothing partial is visible, and
    the next run completes and leaves no temporaries behind."""
    code = ("import sys, os, time; from toolkit.recipe import load_recipe\n"
            "from toolkit.artifacts import stage_folder\nfrom toolkit.stages import section_data\n"
            "r = load_recipe(sys.argv[1])\n"
            "with stage_folder(r, 'corpus', section_data(r, 'corpus')) as out:\n"
            "    (out.path / 'big.jsonl').write_text('x' * 100000)\n"
            "    print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(recipe.file)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    run_dir = recipe.run_dir
    assert not recipe.stage_dir("corpus").exists()
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".corpus.tmp-")]
    publish(recipe)
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".corpus")) == []


def test_an_edited_manifest_section_fails_verification(recipe):
    folder = publish(recipe)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["section"]["seed"] = 7
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    problems = verify_folder(folder)
    assert any("does not match its 'section_hash'" in p for p in problems)
    assert gongmu("verify", str(folder)).returncode == 1


def test_an_unsigned_verify_says_it_cannot_tell_a_deliberate_edit(recipe):
    """section_hash is unkeyed: an edited section with its hash recomputed still verifies,
    and `gongmu verify` says plainly what an unsigned check proves, and how to sign."""
    from toolkit.recipe import content_hash

    folder = publish(recipe)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["section"]["seed"] = 7
    manifest["section_hash"] = content_hash(manifest["section"])
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    proc = gongmu("verify", str(folder))
    said = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 0, said
    assert "proves only that nothing was damaged by accident" in said
    assert "signing_key" in said and "--signature --public-key" in said


def _folder_with_a_model(recipe):
    with stage_folder(recipe, "corpus", section_data(recipe, "corpus")) as out:
        (out.path / "model").mkdir()
        (out.path / "model" / "config.json").write_text("{}", encoding="utf-8")
        (out.path / "model" / "left-empty").mkdir()  # removed before the manifest
    return out.path


@pytest.mark.parametrize("planted", ["symlinked folder", "fifo", "empty folder", "symlinked file"])
def test_verify_refuses_entries_that_are_not_regular_files(recipe, tmp_path, planted):
    folder = _folder_with_a_model(recipe)
    assert verify_folder(folder) == [] and not (folder / "model" / "left-empty").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "weights.bin").write_bytes(b"x")
    entry = folder / "model" / "extra"
    if planted == "symlinked folder":
        entry.symlink_to(elsewhere, target_is_directory=True)
    elif planted == "fifo":
        os.mkfifo(entry)
    elif planted == "empty folder":
        entry.mkdir()
    else:
        entry.symlink_to(folder / "model" / "config.json")
    problems = verify_folder(folder)
    assert any(str(entry) in p and ("symbolic link" in p or "regular file" in p
                                    or "empty folder" in p) for p in problems), problems
    assert gongmu("verify", str(folder)).returncode == 1


def test_every_stage_folder_can_be_signed_and_verified(recipe, tmp_path):
    from tests.helpers import ec_key_pair
    from toolkit.stages import stage_run

    private, public = ec_key_pair(tmp_path)
    signed = load_recipe(recipe.file, [f"signing_key={private}"])
    with stage_run(signed, "corpus") as stage:
        with stage.publish() as out:
            (out.path / "data.jsonl").write_text("x", encoding="utf-8")
    folder = signed.stage_dir("corpus")
    assert (folder / "manifest.sig").is_file()
    ok = gongmu("verify", str(folder), "--signature", "--public-key", str(public))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (folder / MANIFEST).write_text((folder / MANIFEST).read_text().replace('"r"', '"x"', 1))
    assert gongmu("verify", str(folder), "--signature", "--public-key", str(public)).returncode == 1


def _trail(recipe):
    from toolkit.stages import stage_run

    for text in ("one", "two", "three"):
        with stage_run(recipe, "corpus") as stage:
            with stage.publish() as out:
                (out.path / "data.jsonl").write_text(text, encoding="utf-8")
    path = recipe.output_dir / audit.AUDIT_FILE
    return path, path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_the_audit_trail_records_each_run_and_verifies(recipe):
    path, lines = _trail(recipe)
    entries = [json.loads(line) for line in lines]
    assert [e["outcome"] for e in entries] == ["started", "published"] * 3
    assert {"time", "user", "host", "command", "recipe_hash", "stage", "manifest_sha256",
            "previous"} <= set(entries[0])
    assert entries[0]["previous"] == audit.GENESIS
    # The manifest names its run's started entry; the published entry names the manifest.
    manifest = recipe.stage_dir("corpus") / MANIFEST
    started = hashlib.sha256(lines[4].rstrip("\n").encode()).hexdigest()
    assert json.loads(manifest.read_text(encoding="utf-8"))["audit_entry"] == started
    assert entries[5]["started"] == started
    assert entries[5]["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert audit.verify(recipe.output_dir) == (6, [])
    proc = gongmu("audit", "verify", str(recipe.output_dir))
    assert proc.returncode == 0 and "anchors it" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "manifest"])
def test_the_audit_trail_detects_tampering(recipe, tamper):
    path, lines = _trail(recipe)
    if tamper == "edit":
        lines[1] = lines[1].replace('"published"', '"failed"')
    elif tamper == "delete":
        del lines[1]
    elif tamper == "reorder":
        lines[0], lines[1] = lines[1], lines[0]
    if tamper == "manifest":
        manifest = recipe.stage_dir("corpus") / MANIFEST
        manifest.write_text(manifest.read_text(encoding="utf-8") + " ", encoding="utf-8")
    else:
        path.write_text("".join(lines), encoding="utf-8")
    n, problems = audit.verify(recipe.output_dir)
    assert problems, tamper
    proc = gongmu("audit", "verify", str(recipe.output_dir))
    assert proc.returncode == 1 and "FAIL" in proc.stdout + proc.stderr


def _three_recipes_trail(recipe):
    """Three recipes' corpus stages in one output_dir: r1, r2, r3, one after the other."""
    from toolkit.stages import stage_run

    for name in ("r1", "r2", "r3"):
        with stage_run(load_recipe(recipe.file, [f"name={name}"]), "corpus") as stage:
            with stage.publish() as out:
                (out.path / "data.jsonl").write_text(name, encoding="utf-8")
    path = recipe.output_dir / audit.AUDIT_FILE
    return path, path.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.mark.parametrize("dropped", [1, 3])
def test_dropping_the_last_entries_of_the_trail_is_detected(recipe, dropped):
    """The issue's repro: a trail cut at its end is still a valid chain; the manifest of
    the newest folder names its entry, which is gone."""
    path, lines = _three_recipes_trail(recipe)
    assert audit.verify(recipe.output_dir) == (6, [])
    path.write_text("".join(lines[:-dropped]), encoding="utf-8")
    n, problems = audit.verify(recipe.output_dir)
    assert n == 6 - dropped
    assert not any("chain is broken" in p for p in problems)  # the chain alone can't tell
    assert any("r3/corpus" in p and "cut" in p for p in problems), problems
    proc = gongmu("audit", "verify", str(recipe.output_dir))
    assert proc.returncode == 1 and "r3/corpus" in proc.stdout + proc.stderr


def test_a_rewritten_trail_with_every_hash_recomputed_is_detected(recipe):
    path, lines = _three_recipes_trail(recipe)
    entries = [json.loads(line) for line in lines]
    entries[0]["user"] = "someone-else"
    previous, rewritten = audit.GENESIS, []
    for entry in entries:  # a careful forger: the chain is made whole again
        entry["previous"] = previous
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        previous = hashlib.sha256(line.encode()).hexdigest()
        rewritten.append(line + "\n")
    path.write_text("".join(rewritten), encoding="utf-8")
    n, problems = audit.verify(recipe.output_dir)
    assert not any("chain is broken" in p for p in problems)
    assert {name for name in ("r1", "r2", "r3")
            if any(f"{name}/corpus" in p and "rewritten" in p for p in problems)} == {
        "r1", "r2", "r3"}, problems
    assert gongmu("audit", "verify", str(recipe.output_dir)).returncode == 1


def test_a_stage_folder_the_trail_does_not_know_is_named(recipe):
    _three_recipes_trail(recipe)
    publish(load_recipe(recipe.file, ["name=r4"]))  # written outside a stage run
    n, problems = audit.verify(recipe.output_dir)
    assert [p for p in problems if "r4/corpus" in p and "names no audit entry" in p], problems


@pytest.mark.parametrize("moment", ["early", "during"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_are_audited_as_killed_with_the_stage_and_signal(recipe, signum,
                                                                            moment):
    """`gongmu corpus build` stopped by a signal: early (the run folder just locked, before
    the stage's own work) or during the stage (its started entry written). The trail ends
    in "killed" for corpus with the signal's name, the exit is 128 + the signal, no folder."""
    exe = os.path.join(os.path.dirname(sys.executable), "gongmu")
    proc = subprocess.Popen([exe, "corpus", "build", str(recipe.file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock, trail = recipe.run_dir / ".lock", recipe.output_dir / audit.AUDIT_FILE
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            ready = (f"pid {proc.pid} " in lock.read_text(encoding="utf-8") if moment == "early"
                     else '"started"' in trail.read_text(encoding="utf-8"))
        except OSError:
            ready = False
        if ready:
            break
        time.sleep(0.005)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, out + err
    lines = trail.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    last = entries[-1]
    assert (last["outcome"], last["stage"], last["signal"]) == ("killed", "corpus", signum.name)
    if moment == "during":
        assert entries[-2]["outcome"] == "started"
        assert last["started"] == hashlib.sha256(lines[-2].encode()).hexdigest()
    assert [e["outcome"] for e in entries].count("killed") == 1
    assert not recipe.stage_dir("corpus").exists()
    assert audit.verify(recipe.output_dir) == (len(entries), [])


def test_a_signal_while_the_started_entry_is_written_still_names_it(recipe, monkeypatch):
    """SIGTERM arriving while the started entry is being appended (held until the entry is
    whole) is raised only once the run knows that entry, so the killed entry names it."""
    from toolkit.stages import stage_run

    user, sent = audit._user, []

    def user_then_signal():
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGTERM)
        return user()

    monkeypatch.setattr(audit, "_user", user_then_signal)
    with pytest.raises(KeyboardInterrupt):
        with audit.audited_signals(), stage_run(recipe, "corpus"):
            pytest.fail("the body ran: the signal was not raised at the started entry")
    lines = (recipe.output_dir / audit.AUDIT_FILE).read_text(encoding="utf-8").splitlines()
    started, killed = (json.loads(line) for line in lines)
    assert (started["outcome"], killed["outcome"], killed["signal"]) == (
        "started", "killed", "SIGTERM")
    assert killed["started"] == hashlib.sha256(lines[0].encode()).hexdigest()


def test_a_failed_stage_is_audited_too(recipe):
    from toolkit.stages import stage_run

    with pytest.raises(RuntimeError):
        with stage_run(recipe, "corpus"):
            raise RuntimeError("crash")
    entry = json.loads((recipe.output_dir / audit.AUDIT_FILE).read_text().splitlines()[-1])
    assert entry["outcome"] == "failed: RuntimeError" and entry["manifest_sha256"] is None


@pytest.mark.slow
def test_corpus_workers_die_with_a_killed_gongmu(tmp_path):
    """kill -9 of `gongmu corpus build` while datatrove's workers run: no process of it
    (the Manager, the pool) outlives it, and the next build completes cleanly."""
    import psutil

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\ntracking: {{enabled: false}}\ncorpus:\n  workers: 2\n"
                      f"  sources:\n    - {{type: documents, path: {DOCS}}}\n", encoding="utf-8")
    import glob
    import tempfile

    pymp_before = set(glob.glob(os.path.join(tempfile.gettempdir(), "pymp-*")))
    exe = os.path.join(os.path.dirname(sys.executable), "gongmu")
    proc = subprocess.Popen([exe, "corpus", "build", str(recipe)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    me = psutil.Process(proc.pid)
    deadline = time.time() + 120
    while time.time() < deadline and len(me.children(recursive=True)) < 2:
        time.sleep(0.05)
    family = me.children(recursive=True)
    assert family, "datatrove started no worker processes"
    proc.kill()
    proc.wait()
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "pymp-*"))) <= pymp_before
    left = glob.glob(os.path.join(tempfile.gettempdir(), f"gongmu-corpus-{proc.pid}-*"))
    assert left, "the killed build's temporaries were not in its own folder"
    done = gongmu("corpus", "build", str(recipe))
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [p for p in left if os.path.exists(p)], "the next build left them in place"
    run_dir = tmp_path / "runs" / "r"
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".corpus")]
