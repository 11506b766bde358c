"""Whole batches through the real CLI: bad files, resume, changed settings, kills, locks, silence, containers."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.runs import RECORDINGS, ffmpeg, load_transcripts, run_cli
from transcriber.audio import decode
from transcriber.errors import EXIT_FILES_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from transcriber.state import STATE_DIR, OutputLock
from transcriber.writers import TEMP_SUFFIX

pytestmark = pytest.mark.usefixtures("tiny_en")
MEETING = RECORDINGS / "meeting.flac"


def _run(inp: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("run", "--input", str(inp), "--output", str(out), "--model", "tiny.en", *extra)


def _visible_outputs(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and STATE_DIR not in p.parts}


def _add_bad_files(folder: Path) -> dict[str, str]:
    """Bad inputs beside the good ones; returns each name and a word its error line must contain."""
    (folder / "empty.wav").write_bytes(b"")
    # Fixed noise: about 1 in 200 draws of os.urandom opens as a container with no audio stream (another error).
    (folder / "corrupt.mp3").write_bytes(random.Random(0).randbytes(4096))
    (folder / "notes.txt.wav").write_text("this is a text file with an audio name\n" * 20)
    data = MEETING.read_bytes()
    (folder / "truncated.flac").write_bytes(data[:200])
    (folder / "folder.wav").mkdir()
    return {
        "empty.wav": "empty",
        "corrupt.mp3": "not decodable",
        "notes.txt.wav": "not decodable",
        "truncated.flac": "not decodable",  # 200 bytes: too little of the stream to decode any of it
        "folder.wav": "folder",
    }


def test_bad_files_are_reported_and_the_rest_completes(recordings_copy: Path, tmp_path: Path) -> None:
    bad = _add_bad_files(recordings_copy)
    out = tmp_path / "out"
    result = _run(recordings_copy, out)
    assert result.returncode == EXIT_FILES_FAILED, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == len(bad), result.stderr
    for name, reason in bad.items():
        line = next(line for line in error_lines if name in line)
        assert reason in line.split(name, 1)[1], line  # in the reason, not the file's own name
    assert "3 done, 0 skipped, 5 failed" in result.stderr
    assert set(load_transcripts(out)) == {
        "meeting.flac",
        "interviews/interview with Ana.mp3",
        "notes/note café.ogg",
    }
    assert not any(name.split(".")[0] in {"empty", "corrupt", "truncated"} for name in _visible_outputs(out))


def test_file_cut_short_mid_stream_is_transcribed_with_a_warning(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    data = MEETING.read_bytes()
    (inp / "cut.flac").write_bytes(data[: len(data) // 2])
    result = _run(inp, tmp_path / "out")
    assert result.returncode == EXIT_OK, result.stderr
    assert "looks truncated" in result.stderr
    transcript = load_transcripts(tmp_path / "out")["cut.flac"]
    assert "budget" in transcript["clean_text"]
    assert transcript["warnings"]


def _many_recordings(folder: Path, count: int) -> None:
    """`count` different encodings of the example meeting, so each needs its own ASR pass."""
    folder.mkdir()
    for n in range(count):
        ffmpeg("-i", str(MEETING), "-af", f"volume={0.5 + n / 10:.2f}", str(folder / f"take{n}.flac"))


def _wait_for_manifest_entries(out: Path, count: int, process: subprocess.Popen[str]) -> None:
    manifest = out / STATE_DIR / "manifest.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.is_file() and len(json.loads(manifest.read_text())["files"]) >= count:
            return
        time.sleep(0.05)
    pytest.fail("the batch never finished its first file")


def _start(inp: Path, out: Path) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "transcriber", "run", "--input", str(inp), "--output", str(out), "--model", "tiny.en"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _assert_outputs_whole(out: Path) -> None:
    for path in out.rglob("*.json"):
        if STATE_DIR not in path.parts:
            json.loads(path.read_text(encoding="utf-8"))  # a half-written JSON would not parse


@pytest.mark.parametrize("how", ["kill", "term"])
def test_interrupted_batch_leaves_no_partial_output_and_resumes(tmp_path: Path, how: str) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    _many_recordings(inp, 5)
    process = _start(inp, out)
    _wait_for_manifest_entries(out, 1, process)
    process.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    if how == "term":
        assert process.returncode == EXIT_INTERRUPTED, stderr
        assert "interrupted:" in stderr
    _assert_outputs_whole(out)
    finished = len(json.loads((out / STATE_DIR / "manifest.json").read_text())["files"])
    assert 1 <= finished < 5

    rerun = _run(inp, out)
    assert rerun.returncode == EXIT_OK, rerun.stderr
    assert f"{5 - finished} done, {finished} skipped" in rerun.stderr
    assert len(load_transcripts(out)) == 5
    assert not list(out.rglob(f"*{TEMP_SUFFIX}"))
    _assert_outputs_whole(out)


def test_a_second_run_on_the_same_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):
        result = _run(RECORDINGS, out)
    assert result.returncode == EXIT_USAGE
    assert "another transcriber run" in result.stderr
    assert not _visible_outputs(out)


def test_silence_gives_an_empty_transcript(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "20", str(inp / "silence.wav"))
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=r=16000:a=0.002:seed=7", "-t", "20", str(inp / "room tone.wav"))
    result = _run(inp, tmp_path / "out")
    assert result.returncode == EXIT_OK, result.stderr
    for data in load_transcripts(tmp_path / "out").values():
        assert data["segments"] == [], data
        assert data["verbatim_text"] == ""
    assert (tmp_path / "out" / "silence.txt").read_text() == ""


CONTAINERS = {
    "wav": ["-c:a", "pcm_s16le"],
    "mp3": ["-c:a", "libmp3lame"],
    "m4a": ["-c:a", "aac"],
    "aac": ["-c:a", "aac"],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus", "-ar", "48000"],
    "webm": ["-c:a", "libopus", "-ar", "48000"],
    "wma": ["-c:a", "wmav2"],
    "mkv": ["-c:a", "libvorbis"],
}
VIDEO = {"mp4": ["-c:v", "libx264", "-c:a", "aac"], "mov": ["-c:v", "libx264", "-c:a", "aac"]}


@pytest.fixture(scope="module")
def containers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("containers")
    for ext, codec in CONTAINERS.items():
        ffmpeg("-i", str(MEETING), "-ar", "44100", "-ac", "2", *codec, str(folder / f"meeting.{ext}"))
    for ext, codec in VIDEO.items():
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x64:r=5",
            "-i",
            str(MEETING),
            "-shortest",
            *codec,
            str(folder / f"video meeting.{ext}"),
        )
    return folder


@pytest.mark.parametrize("ext", [*CONTAINERS, *VIDEO])
def test_every_common_container_decodes(containers: Path, ext: str) -> None:
    path = next(containers.glob(f"*.{ext}"))
    audio = decode(path)
    reference = decode(MEETING)
    assert abs(audio.duration - reference.duration) < 0.2
    assert audio.samples.dtype.name == "float32"
    assert 0.01 < float(abs(audio.samples).max()) <= 1.0
    assert not audio.warnings


def test_video_files_transcribe_and_same_stems_do_not_collide(containers: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    for name in ("video meeting.mp4", "meeting.m4a", "meeting.mp3"):
        shutil.copy(containers / name, inp / name)
    out = tmp_path / "out"
    result = _run(inp, out, "--formats", "txt")
    assert result.returncode == EXIT_OK, result.stderr
    assert _visible_outputs(out) == {
        "video meeting.txt",
        "video meeting.verbatim.txt",
        "meeting.m4a.txt",
        "meeting.m4a.verbatim.txt",
        "meeting.mp3.txt",
        "meeting.mp3.verbatim.txt",
    }
    assert "Berlin" in (out / "video meeting.txt").read_text()


def test_batched_pipeline_transcribes_the_same_words(tmp_path: Path) -> None:
    result = _run(MEETING, tmp_path / "out", "--batch-size", "4", "--formats", "json")
    assert result.returncode == EXIT_OK, result.stderr
    data = load_transcripts(tmp_path / "out")["meeting.flac"]
    assert data["settings"]["batch_size"] == 4
    for word in ("budget", "Friday", "Berlin", "Sarah"):
        assert word in data["clean_text"]
    assert all(s["words"] for s in data["segments"]), "word timestamps in the batched path too"
