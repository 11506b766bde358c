"""The batch's bookkeeping, in this process on canned stages: manifest, raw cache, names, damaged state, resume.

What a batch keeps does not depend on what recognises the audio, so these run `run_batch` on `CannedStages`
(tests/support/canned_stages.py) in milliseconds; the real model runs in test_batch and test_robustness.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.canned_stages import CannedStages, run_canned
from tests.support.runs import RECORDINGS
from transcriber.errors import EXIT_INTERRUPTED, EXIT_OK
from transcriber.state import STATE_DIR

MEETING = RECORDINGS / "meeting.flac"
NOTE = RECORDINGS / "notes" / "note café.ogg"


def _json(out: Path) -> dict[str, dict]:
    found = {p.relative_to(out).as_posix(): json.loads(p.read_text()) for p in out.rglob("*.json")
             if STATE_DIR not in p.parts}  # fmt: skip
    assert found, f"no transcript under {out}"
    return found


def test_a_rerun_skips_a_cleanup_change_reuses_the_raw_cache_and_force_redoes_all(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first, _, stages = run_canned(RECORDINGS, out)
    assert (first.done, first.skipped, first.exit_code) == (3, 0, EXIT_OK)
    assert len(stages.recognised) == 3 and stages.closed
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")}

    again, _, stages = run_canned(RECORDINGS, out)
    assert (again.done, again.skipped, stages.recognised) == (0, 3, [])
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")} == stamps

    changed, _, stages = run_canned(RECORDINGS, out, cleanup="none")
    assert (changed.done, stages.recognised) == (3, []), "a cleanup change reuses the cached raw transcript"
    meeting = _json(out)["meeting.json"]
    assert meeting["cleanup"] == "none" and meeting["clean_text"] == meeting["verbatim_text"]

    forced, _, stages = run_canned(RECORDINGS, out, cleanup="none", force=True)
    assert forced.done == 3 and len(stages.recognised) == 3


def test_rules_cleanup_and_the_manifest_follow_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_canned(NOTE, out, formats="json,txt")
    data = _json(out)["note café.json"]
    heard = data["verbatim_text"].split()[2]
    assert data["verbatim_text"] == f"Um, take {heard} uh." and data["clean_text"] == f"Take {heard}."
    [entry] = json.loads((out / STATE_DIR / "manifest.json").read_text())["files"].values()
    assert sorted(entry["outputs"]) == ["note café.json", "note café.txt", "note café.verbatim.txt"]
    assert data["settings"]["model"] == "canned" and data["settings"]["model_files"] == "canned-files"


def test_changed_audio_is_recognised_again(tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    shutil.copy(MEETING, inp / "talk.flac")
    before = run_canned(inp, out)[0]
    heard = _json(out)["talk.json"]["verbatim_text"]
    shutil.copy(NOTE, inp / "talk.flac")
    after, _, stages = run_canned(inp, out)
    assert (before.done, after.done, after.skipped, stages.recognised) == (1, 1, 0, ["talk.flac"])
    assert _json(out)["talk.json"]["verbatim_text"] != heard


def test_colliding_names_each_keep_their_own_transcript(tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for name, source in {"talk.wav": MEETING, "talk.mp3": NOTE, "talk.wav.mp3": MEETING, "memo.wav": NOTE,
                         "memo.verbatim.wav": MEETING}.items():  # fmt: skip
        shutil.copy(source, inp / name)
    assert run_canned(inp, out, formats="json")[0].done == 5
    assert {name: t["source"] for name, t in _json(out).items()} == {
        "talk.wav.json": "talk.wav", "talk.mp3.json": "talk.mp3", "talk.wav.mp3.json": "talk.wav.mp3",
        "memo.wav.json": "memo.wav", "memo.verbatim.wav.json": "memo.verbatim.wav",
    }  # fmt: skip
    transcripts = _json(out)
    assert transcripts["talk.wav.json"]["verbatim_text"] != transcripts["talk.mp3.json"]["verbatim_text"]
    assert (out / "memo.wav.verbatim.txt").read_text().strip() == transcripts["memo.wav.json"]["verbatim_text"]
    assert run_canned(inp, out, formats="json")[0].skipped == 5


def test_a_copy_and_a_rename_reuse_the_raw_transcript_under_their_own_names(tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    shutil.copy(NOTE, inp / "first.ogg")
    shutil.copy(NOTE, inp / "second copy.ogg")
    _, _, stages = run_canned(inp, out)
    assert stages.recognised == ["first.ogg"], "the copy's content is cached already"
    assert set(t["source"] for t in _json(out).values()) == {"first.ogg", "second copy.ogg"}
    assert (out / "second copy.md").read_text().startswith("# second copy\n")
    (inp / "first.ogg").rename(inp / "renamed.ogg")
    summary, _, stages = run_canned(inp, out)
    assert (summary.done, summary.skipped, stages.recognised) == (1, 1, [])
    assert json.loads((out / "renamed.json").read_text())["source"] == "renamed.ogg"


@pytest.mark.parametrize(
    ("damage", "warning", "done"),
    [
        ("manifest-bytes", "manifest.json: cannot be read", 1),
        ("manifest-shape", "manifest.json: cannot be read", 1),
        ("manifest-entry", None, 1),
        ("lock-folder", "lock: is not a lock file", 0),
        ("state-file", ".transcriber: is not a folder", 1),
        ("raw-entry", "is not a readable cached transcript", 1),
    ],
)
def test_damaged_state_is_set_aside_and_rebuilt(tmp_path: Path, damage: str, warning: str | None, done: int) -> None:
    out = tmp_path / "out"
    assert run_canned(NOTE, out, formats="json")[0].done == 1
    state = out / STATE_DIR
    if damage == "manifest-bytes":
        (state / "manifest.json").write_bytes(os.urandom(512))
    elif damage == "manifest-shape":
        (state / "manifest.json").write_text('{"files": []}')
    elif damage == "manifest-entry":
        (state / "manifest.json").write_text('{"files": {"note café.ogg": ["not", "a", "dict"]}}')
    elif damage == "lock-folder":
        (state / "lock").unlink()
        (state / "lock").mkdir()
    elif damage == "state-file":
        shutil.rmtree(state)
        state.write_text("not a folder")
    else:
        [entry] = (state / "raw").iterdir()
        data = json.loads(entry.read_text())
        data["segments"][0]["start"] = "soon"
        entry.write_text(json.dumps(data))
    flags: dict[str, Any] = {"formats": "json", **({"cleanup": "none"} if damage == "raw-entry" else {})}
    summary, stderr, stages = run_canned(NOTE, out, **flags)
    assert summary.exit_code == EXIT_OK and summary.done == done, stderr
    if warning:
        assert warning in stderr and "set aside as" in stderr
    assert stages.recognised == (["note café.ogg"] if damage in ("state-file", "raw-entry") else [])
    assert _json(out)["note café.json"]["clean_text"]
    assert run_canned(NOTE, out, formats="json")[0].exit_code == EXIT_OK


def test_an_interrupted_batch_keeps_what_it_finished_and_the_rerun_does_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stop = CannedStages(fail={"meeting.flac": KeyboardInterrupt()})
    summary, _, stages = run_canned(RECORDINGS, out, stages=stop)
    assert summary.interrupted and summary.exit_code == EXIT_INTERRUPTED and stages.closed
    finished = set(_json(out))
    assert finished and "meeting.json" not in finished
    rerun, _, stages = run_canned(RECORDINGS, out)
    assert rerun.skipped == len(finished) and "meeting.flac" in stages.recognised
    assert rerun.done + rerun.skipped == 3


def test_a_file_that_fails_is_named_and_the_batch_goes_on(tmp_path: Path) -> None:
    broken = CannedStages(fail={"meeting.flac": RuntimeError("canned engine refused")})
    summary, stderr, _ = run_canned(RECORDINGS, tmp_path / "out", stages=broken)
    assert summary.failed == ["meeting.flac"] and summary.done == 2
    [line] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert "meeting.flac: recognise: " in line and "canned engine refused" in line


def test_speech_with_no_words_is_counted_in_the_summary_and_the_exit_code_stays_0(tmp_path: Path) -> None:
    """The warning for each file goes by as it is written; the summary counts and names them at the end."""
    one, stderr, _ = run_canned(RECORDINGS, tmp_path / "one", stages=CannedStages(unheard={"meeting.flac"}))
    assert (one.exit_code, one.done) == (EXIT_OK, 3)
    assert "warning: meeting.flac: no words were recognised, yet the VAD hears" in stderr
    assert "1 warning: speech heard but no words in meeting.flac" in one.render().splitlines()
    both = CannedStages(unheard={"meeting.flac", "notes/note café.ogg"})
    two, _, _ = run_canned(RECORDINGS, tmp_path / "two", stages=both)
    assert "2 warnings: speech heard but no words in meeting.flac, notes/note café.ogg" in two.render()
    rerun, _, _ = run_canned(RECORDINGS, tmp_path / "one", stages=CannedStages(unheard={"meeting.flac"}))
    assert rerun.skipped == 3 and "warning" not in rerun.render()  # counted in the run that wrote it
