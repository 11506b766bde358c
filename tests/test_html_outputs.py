"""The html page in a batch: a format added later is written alone, the index follows every file."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RECORDINGS, run_cli
from transcriber.discovery import plan_stems
from transcriber.errors import EXIT_FILES_FAILED, EXIT_OK
from transcriber.state import STATE_DIR

pytestmark = pytest.mark.usefixtures("tiny_en")
STEMS = ("meeting", "interviews/interview with Ana", "notes/note café")


def _run(inp: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("run", "--input", str(inp), "--output", str(out), "--model", "tiny.en", *extra)


def _stamps(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.suffix != ".html"}


def _manifest(out: Path) -> dict:
    return json.loads((out / STATE_DIR / "manifest.json").read_text(encoding="utf-8"))


def test_a_format_added_later_is_written_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _run(RECORDINGS, out, "--formats", "txt,json")
    assert first.returncode == EXIT_OK, first.stderr
    assert not list(out.rglob("meeting.html"))
    before = {p: t for p, t in _stamps(out).items() if STATE_DIR not in p.parts}

    added = _run(RECORDINGS, out, "--formats", "txt,json,html")
    assert added.returncode == EXIT_OK, added.stderr
    assert "3 done, 0 skipped" in added.stderr
    assert "] transcribing" not in added.stderr
    assert {p: t for p, t in _stamps(out).items() if STATE_DIR not in p.parts} == before, "only the pages are new"
    for stem in STEMS:
        assert 'src="data:audio/webm;base64,' in (out / f"{stem}.html").read_text(encoding="utf-8")
    assert all(any(o.endswith(".html") for o in e["outputs"]) for e in _manifest(out)["files"].values())

    again = _run(RECORDINGS, out, "--formats", "txt,json,html")
    assert "0 done, 3 skipped" in again.stderr, again.stderr


def test_outputs_of_a_version_that_hashed_the_formats_get_just_their_page(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run(RECORDINGS, out, "--formats", "txt,json,md").returncode == EXIT_OK
    manifest = _manifest(out)
    for entry in manifest["files"].values():  # as written before the html page: formats in the hash
        stem = entry["outputs"][0].removesuffix(".json")
        settings = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))["settings"]
        settings.pop("html_audio")
        old_key = {**settings, "formats": ["json", "md", "txt"]}
        entry["settings_hash"] = hashlib.sha256(json.dumps(old_key, sort_keys=True).encode()).hexdigest()[:16]
        entry["outputs"] = [f"{stem}.{fmt}" for fmt in ("json", "md", "txt", "verbatim.txt")]
    (out / STATE_DIR / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = {p: t for p, t in _stamps(out).items() if STATE_DIR not in p.parts}

    upgraded = _run(RECORDINGS, out)  # the default formats: html, json, md, srt, txt, vtt
    assert upgraded.returncode == EXIT_OK, upgraded.stderr
    assert "3 done" in upgraded.stderr and "] transcribing" not in upgraded.stderr
    after = _stamps(out)
    assert all(after[p] == t for p, t in before.items()), "existing outputs are kept as they are"
    assert {p.suffix for p in after if p not in before and STATE_DIR not in p.parts} == {".srt", ".vtt"}
    assert len(list(out.rglob("*.html"))) == 4  # three pages and the index


def test_the_index_follows_every_file_and_a_rerun_keeps_it(recordings_copy: Path, tmp_path: Path) -> None:
    (recordings_copy / "broken.wav").write_bytes(b"RIFF" + bytes(64))
    out = tmp_path / "out"
    result = _run(recordings_copy, out, "--html-audio", "none")
    assert result.returncode == EXIT_FILES_FAILED, result.stderr
    rows = {r["name"]: r for r in json.loads((out / STATE_DIR / "index.json").read_text(encoding="utf-8"))["rows"]}
    assert set(rows) == {"broken.wav", "meeting.flac", "interviews/interview with Ana.mp3", "notes/note café.ogg"}
    assert rows["broken.wav"]["status"] == "failed" and "broken.wav" in rows["broken.wav"]["reason"]
    meeting = rows["meeting.flac"]
    assert (meeting["status"], meeting["page"], meeting["speakers"]) == ("done", "meeting.html", 0)
    page = json.loads((out / "meeting.json").read_text(encoding="utf-8"))
    assert meeting["flags"] == len(page["flags"]) and meeting["duration"] == round(page["duration"], 1)
    assert rows["notes/note café.ogg"]["page"] == "notes/note%20caf%C3%A9.html"
    assert "<audio" in (out / "meeting.html").read_text(encoding="utf-8")
    assert 'src="data:' not in (out / "meeting.html").read_text(encoding="utf-8")

    index = out / "index.html"
    stamp = index.stat().st_mtime_ns
    (recordings_copy / "broken.wav").unlink()
    rerun = _run(recordings_copy, out, "--html-audio", "none")
    assert "0 done, 3 skipped" in rerun.stderr, rerun.stderr
    assert index.stat().st_mtime_ns == stamp, "a rerun that changes nothing leaves the index alone"


def test_a_recording_called_index_does_not_take_the_index_name() -> None:
    stems = plan_stems([Path("index.wav"), Path("talks/index.wav")])
    assert [s.as_posix() for s in stems] == ["index.wav", "talks/index"]
