"""All or none at the moment of the renames: a rerun's new set of outputs (and the manifest naming it) replaces
the old set whole, whether a rename fails, a Ctrl-C or a kill -9 lands between any two of them.

Old set: a real tiny.en run with `--cleanup none`; new set: the same recording with the default cleanup
(its raw transcript is cached, so only cleanup and the writes run again), made once cleanly for reference.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import transcriber.journal
from tests.support.runs import RECORDINGS, run_cli
from transcriber.api import run
from transcriber.atomic import TEMP_SUFFIX
from transcriber.errors import EXIT_OK
from transcriber.journal import JOURNAL, recover
from transcriber.progress import Reporter
from transcriber.settings import load_settings
from transcriber.state import STATE_DIR
from transcriber.summary import Summary

pytestmark = pytest.mark.usefixtures("tiny_en")
NOTE = RECORDINGS / "notes" / "note café.ogg"
RENAMES = 8  # six formats, the verbatim text, the manifest
Sets = tuple[Path, dict[str, object], dict[str, object]]  # the old set's folder, the old and the new snapshot


def _flags(cleanup: str) -> dict[str, str]:
    return {"input": str(NOTE), "model": "tiny.en", "cleanup": cleanup}


def _snapshot(out: Path) -> dict[str, object]:
    """Every output and the manifest's entries, the JSON without its timings (they differ run to run)."""
    found: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        # index.html and its rows are a view written after the set (`transcriber.output_index`), not part of it
        if not path.is_file() or path.name in ("lock", "index.html", "index.json") or "raw" in path.parts:
            continue
        name = path.relative_to(out).as_posix()
        if name.endswith(".json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("timings", None)
            found[name] = data
        else:
            found[name] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> Sets:
    """An output folder holding the old set, the old set's snapshot, and the new set's snapshot."""
    base = tmp_path_factory.mktemp("journal")
    old = base / "old"
    assert run_cli("run", "-i", str(NOTE), "-o", str(old), "--model", "tiny.en", "--cleanup", "none").returncode == 0
    new = base / "new"
    shutil.copytree(old, new)
    assert run_cli("run", "-i", str(NOTE), "-o", str(new), "--model", "tiny.en").returncode == EXIT_OK
    before, after = _snapshot(old), _snapshot(new)
    changed = [name for name in after if after[name] != before.get(name)]
    assert len(after) - len(changed) == 1 and after["note café.verbatim.txt"] == before["note café.verbatim.txt"]
    assert len(changed) == RENAMES - 1, changed  # all but the verbatim text differ, so a mix would show
    return old, before, after


def _batch(out: Path, replace: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> tuple[Summary, str]:
    monkeypatch.setattr(transcriber.journal.os, "replace", replace)  # os.replace itself, for every module
    stream = io.StringIO()
    settings = load_settings({**_flags("rules"), "output": str(out)}, environ={})
    summary = run(settings, Reporter(stream))
    monkeypatch.undo()
    return summary, stream.getvalue()


def _leftovers(out: Path) -> list[Path]:
    return [*out.rglob(f"*{TEMP_SUFFIX}"), *out.rglob(JOURNAL)]


@pytest.mark.parametrize("at", range(1, RENAMES + 1))
def test_a_failed_rename_keeps_the_whole_old_set(
    sets: Sets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    old, before, _ = sets
    out = tmp_path / "out"
    shutil.copytree(old, out)
    real, calls = os.replace, []

    def replace(src: str, dst: str) -> None:
        calls.extend([] if str(dst).endswith(JOURNAL) else [dst])  # the journal's own write is not one of them
        if len(calls) == at and calls[-1] == dst:
            raise OSError(5, "Input/output error", str(dst))
        real(src, dst)

    summary, log = _batch(out, replace, monkeypatch)
    assert summary.failed and summary.done == 0, log
    assert "Input/output error" in log
    assert _snapshot(out) == before
    assert not _leftovers(out)


@pytest.mark.parametrize("at", range(1, RENAMES + 1))
def test_ctrl_c_between_renames_finishes_the_new_set(
    sets: Sets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    old, _, after = sets
    out = tmp_path / "out"
    shutil.copytree(old, out)
    real, calls = os.replace, []

    def replace(src: str, dst: str) -> None:
        calls.extend([] if str(dst).endswith(JOURNAL) else [dst])  # the journal's own write is not one of them
        if len(calls) == at and calls[-1] == dst:
            raise KeyboardInterrupt
        real(src, dst)

    summary, log = _batch(out, replace, monkeypatch)
    assert summary.interrupted, log
    assert _snapshot(out) == after
    assert not _leftovers(out)


_KILLER = """
import os, signal, sys
from pathlib import Path
import transcriber.journal
from transcriber.api import run
from transcriber.progress import Reporter
from transcriber.settings import load_settings

at, calls, real = int(sys.argv[1]), [], os.replace
def replace(src, dst):
    calls.extend([] if str(dst).endswith("journal.json") else [dst])
    if len(calls) == at and calls[-1] == dst:
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
transcriber.journal.os.replace = replace
flags = {"input": sys.argv[2], "output": sys.argv[3], "model": "tiny.en", "cleanup": "rules"}
run(load_settings(flags, environ={}), Reporter(sys.stderr))
"""


@pytest.mark.parametrize("at", range(1, RENAMES + 1))
def test_kill_9_between_renames_is_rolled_forward_at_the_next_start(sets: Sets, tmp_path: Path, at: int) -> None:
    old, _, after = sets
    out = tmp_path / "out"
    shutil.copytree(old, out)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = subprocess.run([sys.executable, "-c", _KILLER, str(at), str(NOTE), str(out)], env=env, timeout=300,
                            check=False, capture_output=True, text=True)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / STATE_DIR / JOURNAL).is_file()
    notes: list[str] = []
    recover(out, notes.append)  # what the next run does first, under its lock
    assert notes and f"finished the switch of {RENAMES} output files" in notes[0]
    for leftover in out.rglob(f"*{TEMP_SUFFIX}"):
        leftover.unlink()  # the next run's sweep
    assert _snapshot(out) == after
    rerun = run_cli("run", "-i", str(NOTE), "-o", str(out), "--model", "tiny.en")
    assert rerun.returncode == EXIT_OK and "0 done, 1 skipped" in rerun.stderr, rerun.stderr


def test_kill_9_before_the_journal_keeps_the_old_set(sets: Sets, tmp_path: Path) -> None:
    old, before, _ = sets
    out = tmp_path / "out"
    shutil.copytree(old, out)
    script = _KILLER.replace(
        "transcriber.journal.os.replace = replace", "transcriber.journal.write_atomic = lambda *a: replace('', '')"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = subprocess.run([sys.executable, "-c", script, "1", str(NOTE), str(out)], env=env, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL
    assert not (out / STATE_DIR / JOURNAL).exists() and list(out.rglob(f"*{TEMP_SUFFIX}"))
    rerun = run_cli("run", "-i", str(NOTE), "-o", str(out), "--model", "tiny.en", "--cleanup", "none")
    assert rerun.returncode == EXIT_OK and "0 done, 1 skipped" in rerun.stderr, rerun.stderr
    assert _snapshot(out) == before
    assert not _leftovers(out)
