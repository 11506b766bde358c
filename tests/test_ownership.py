"""One output per recording across runs: a second source into the same output folder gets its own names and
never another's files, and a file no run wrote is never overwritten. Real model (tiny.en), real audio."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RECORDINGS, ffmpeg, run_cli
from transcriber.batch import run_batch
from transcriber.errors import EXIT_OK, EXIT_USAGE
from transcriber.progress import Reporter
from transcriber.settings import load_settings
from transcriber.state import STATE_DIR

pytestmark = pytest.mark.usefixtures("tiny_en")
NOTE = RECORDINGS / "notes" / "note café.ogg"  # "... the appointment on Tuesday ..."
INTERVIEW = RECORDINGS / "interviews" / "interview with Ana.mp3"  # "... started the company ..."


def _run(inp: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("run", "--input", str(inp), "--output", str(out), "--model", "tiny.en", "--formats", "txt,json",
                   *extra)  # fmt: skip


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").lower()


def test_a_second_source_with_the_same_stem_gets_its_own_name(tmp_path: Path) -> None:
    coll, out = tmp_path / "coll", tmp_path / "out"
    coll.mkdir()
    ffmpeg("-i", str(NOTE), str(coll / "a.wav"))
    shutil.copy(INTERVIEW, coll / "a.mp3")
    assert _run(coll / "a.wav", out).returncode == EXIT_OK
    first = (out / "a.txt").read_bytes()
    assert "appointment" in _text(out / "a.txt")

    second = _run(coll / "a.mp3", out)
    assert second.returncode == EXIT_OK, second.stderr
    assert (out / "a.txt").read_bytes() == first, "a.mp3 must not replace a.wav's outputs"
    assert "company" in _text(out / "a.mp3.txt")
    assert json.loads((out / "a.mp3.json").read_text())["source"] == "a.mp3"

    again = _run(coll / "a.wav", out)
    assert again.returncode == EXIT_OK and "0 done, 1 skipped" in again.stderr, again.stderr
    assert (out / "a.txt").read_bytes() == first
    both = _run(coll, out)  # the folder: each finds its own outputs
    assert both.returncode == EXIT_OK and "0 done, 2 skipped" in both.stderr, both.stderr


def test_two_input_folders_with_one_name_keep_both_transcripts(tmp_path: Path) -> None:
    monday, tuesday, out = tmp_path / "monday", tmp_path / "tuesday", tmp_path / "out"
    for folder, source in ((monday, NOTE), (tuesday, INTERVIEW)):
        folder.mkdir()
        ffmpeg("-i", str(source), str(folder / "standup.wav"))
    assert _run(monday, out).returncode == EXIT_OK
    result = _run(tuesday, out)
    assert result.returncode == EXIT_OK, result.stderr
    assert "appointment" in _text(out / "standup.txt")
    assert "company" in _text(out / "standup.wav.txt")
    manifest = json.loads((out / STATE_DIR / "manifest.json").read_text())["files"]
    assert {stem: Path(e["source"]).parent.name for stem, e in manifest.items()} == {
        "standup": "monday",
        "standup.wav": "tuesday",
    }
    for folder in (monday, tuesday):
        rerun = _run(folder, out)
        assert rerun.returncode == EXIT_OK and "0 done, 1 skipped" in rerun.stderr, rerun.stderr
    assert "appointment" in _text(out / "standup.txt")


def test_a_moved_recording_keeps_its_outputs(tmp_path: Path) -> None:
    old, new, out = tmp_path / "old", tmp_path / "new", tmp_path / "out"
    old.mkdir()
    shutil.copy(NOTE, old / "memo.ogg")
    assert _run(old, out).returncode == EXIT_OK
    old.rename(new)  # same bytes, new path: the same recording, not a second source
    rerun = _run(new, out)
    assert rerun.returncode == EXIT_OK and "0 done, 1 skipped" in rerun.stderr, rerun.stderr
    assert not (out / "memo.ogg.txt").exists()


def test_files_the_manifest_did_not_write_are_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    shutil.copy(NOTE, folder / "call.ogg")
    (folder / "call.txt").write_text("my own notes about the call\n")
    result = _run(folder / "call.ogg", folder)  # --output: the recording's own folder
    assert result.returncode == EXIT_USAGE, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "call.txt is not a transcript this tool wrote" in line and "move it away" in line
    assert (folder / "call.txt").read_text() == "my own notes about the call\n"
    assert not (folder / "call.json").exists() and not (folder / "call.verbatim.txt").exists()
    (folder / "call.txt").rename(folder / "mine.txt")
    assert _run(folder / "call.ogg", folder).returncode == EXIT_OK
    rerun = _run(folder / "call.ogg", folder)  # its own outputs are its to rewrite
    assert rerun.returncode == EXIT_OK and "0 done, 1 skipped" in rerun.stderr, rerun.stderr
    assert _run(folder / "call.ogg", folder, "--force").returncode == EXIT_OK


def test_a_version_1_manifest_still_owns_its_outputs(tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    shutil.copy(NOTE, inp / "memo.ogg")
    assert _run(inp, out).returncode == EXIT_OK
    path = out / STATE_DIR / "manifest.json"
    [entry] = json.loads(path.read_text())["files"].values()
    old = {k: entry[k] for k in ("content_hash", "settings_hash", "outputs")}
    path.write_text(json.dumps({"version": 1, "files": {"memo.ogg": old}}))  # as an older release wrote it
    rerun = _run(inp, out)
    assert rerun.returncode == EXIT_OK and "0 done, 1 skipped" in rerun.stderr, rerun.stderr


def test_two_host_folders_mounted_in_turn_at_one_path_stay_two_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container sees every input at /data/in; the host names the folder it mounted (TRANSCRIBER_INPUT_ORIGIN)."""
    mount, out = tmp_path / "data-in", tmp_path / "out"
    mount.mkdir()
    for host_folder, source in (("/home/ana/monday", NOTE), ("/home/ana/tuesday", INTERVIEW)):
        shutil.copy(source, mount / "standup.ogg")  # what the mount shows this time
        monkeypatch.setenv("TRANSCRIBER_INPUT_ORIGIN", f"{mount}={host_folder}")
        settings = load_settings({"input": str(mount), "output": str(out), "model": "tiny.en", "formats": "txt"}, {})
        summary = run_batch(settings, Reporter(io.StringIO()))
        assert summary.done == 1 and not summary.failed
    assert "appointment" in _text(out / "standup.txt"), "Monday's transcript is kept"
    assert "company" in _text(out / "standup.ogg.txt")
    sources = sorted(e["source"] for e in json.loads((out / STATE_DIR / "manifest.json").read_text())["files"].values())
    assert sources == ["/home/ana/monday/standup.ogg", "/home/ana/tuesday/standup.ogg"]
