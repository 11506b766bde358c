"""`transcriber watch` for real (tiny.en, real recordings, real inotify), as a user runs it in a terminal:
a slowly copied file is read once, whole, after it settles; a bad file is reported once, across a restart
too; SIGTERM ends it with 130; a deleted input folder is waited for; a later `run` agrees on what is done."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support.runs import RECORDINGS, run_cli

pytestmark = pytest.mark.usefixtures("tiny_en")
FLAGS = ("--model", "tiny.en", "--language", "en", "--cleanup", "rules", "--formats", "txt,json", "--settle", "2")


class Watcher:
    """`python -m transcriber watch` in the background, its stderr collected line by line."""

    started: ClassVar[list[subprocess.Popen[str]]] = []

    def __init__(self, source: Path, target: Path, *extra: str) -> None:
        command = [sys.executable, "-m", "transcriber", "watch", "--input", str(source), "--output", str(target)]
        self.process = subprocess.Popen([*command, *FLAGS, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
        Watcher.started.append(self.process)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for("watching ")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, f"the watcher ended ({self.process.returncode}):\n{self.log}"
            assert time.monotonic() < deadline, f"no line with {text!r} within {timeout} s:\n{self.log}"
            time.sleep(0.1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return code


@pytest.fixture(autouse=True)
def _no_watcher_outlives_its_test() -> Iterator[None]:
    """A test that fails before `stop()` must not leave a watcher running (it would hold the suite's output)."""
    yield
    while Watcher.started:
        process = Watcher.started.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _manifest(target: Path) -> dict:
    """The manifest's entries by the recording's path under the input (the file keys them by output stem)."""
    path = target / ".transcriber" / "manifest.json"
    files = json.loads(path.read_text())["files"] if path.is_file() else {}
    return {entry["relative"]: entry for entry in files.values()}


def _wait_done(target: Path, name: str, watcher: Watcher, timeout: float = 120) -> None:
    """Until the manifest lists `name` (written after its outputs, so those are complete then)."""
    deadline = time.monotonic() + timeout
    while name not in _manifest(target):
        assert time.monotonic() < deadline, f"{name} was not done within {timeout} s:\n{watcher.log}"
        time.sleep(0.1)


def _status(target: Path) -> dict:
    return json.loads((target / ".transcriber" / "watch.json").read_text())


def _copy_slowly(source: Path, target: Path, parts: int, pause: float) -> float:
    """Write `source` to `target` in `parts` appends, `pause` seconds apart; the time of the last write."""
    data = source.read_bytes()
    step = -(-len(data) // parts)
    for start in range(0, len(data), step):
        with target.open("ab") as handle:
            handle.write(data[start : start + step])
        last = time.time()
        if start + step < len(data):
            time.sleep(pause)
    return last


def _healthy(target: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("watch", "--health", "--output", str(target))


def test_slow_copy_once_bad_file_once_and_sigterm(tmp_path: Path) -> None:
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    watcher = Watcher(source, target)
    # Parts 0.8 s apart with a 2 s settle time: read early, half the recording would be transcribed.
    last_write = _copy_slowly(RECORDINGS / "meeting.flac", source / "meeting.flac", parts=5, pause=0.8)
    _wait_done(target, "meeting.flac", watcher)
    transcript = json.loads((target / "meeting.json").read_text())
    assert "Berlin" in transcript["clean_text"]
    assert (target / "meeting.json").stat().st_mtime >= last_write + 2, "read before it settled"
    whole = hashlib.sha256((RECORDINGS / "meeting.flac").read_bytes()).hexdigest()
    assert _manifest(target)["meeting.flac"]["content_hash"] == whole
    assert sum("transcribing meeting.flac" in line for line in watcher.lines) == 1, watcher.log
    assert _healthy(target).returncode == 0

    (source / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    watcher.wait_for("broken.wav")
    shutil.copy(RECORDINGS / "notes" / "note café.ogg", source / "note.ogg")  # another group, another look
    _wait_done(target, "note.ogg", watcher)
    time.sleep(3)  # settle time and more: a watcher that retried bad files would have by now
    errors = [line for line in watcher.lines if line.startswith("error:")]
    assert len(errors) == 1 and str(source / "broken.wav") in errors[0], watcher.log
    status = _status(target)
    assert (status["files_done"], status["files_failed"], status["last_file"]) == (2, 1, "note.ogg")
    assert "broken.wav" in status["last_error"]

    assert watcher.stop() == 130, watcher.log
    assert watcher.lines[-1] == "watch stopped: 2 done, 1 failed"
    assert _status(target)["state"] == "stopped" and _healthy(target).returncode == 1
    assert not list(target.rglob("*.transcriber-tmp"))

    again = Watcher(source, target)  # a restart: the bad file is remembered, the finished ones skipped
    deadline = time.monotonic() + 30
    while (_status(target)["state"], _status(target)["detail"]) != ("watching", ""):
        assert time.monotonic() < deadline, again.log
        time.sleep(0.2)
    time.sleep(1)
    assert not any("broken.wav" in line or "] transcribing" in line for line in again.lines), again.log
    assert (_status(target)["files_done"], _status(target)["restarts"]) == (0, 0), "a stop, not a crash: counts anew"
    assert again.stop() == 130

    run = run_cli("run", "--input", str(source), "--output", str(target), *FLAGS[:-2])
    assert run.returncode == 1 and "2 skipped, 1 failed" in run.stderr, run.stderr


@pytest.mark.parametrize("feed", [(), ("--poll", "0.5")], ids=["inotify", "polling"])
def test_a_deleted_input_folder_is_waited_for(tmp_path: Path, feed: tuple[str, ...]) -> None:
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    watcher = Watcher(source, target, *feed)
    assert ("polling every 0.5 s" if feed else "(inotify,") in watcher.log
    shutil.rmtree(source)
    watcher.wait_for(f"input folder {source} is gone; waiting for it to come back")
    time.sleep(1)
    assert _status(target)["state"] == "waiting" and _healthy(target).returncode == 0
    source.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", source / "meeting.flac")
    watcher.wait_for(f"input folder {source} is back")
    _wait_done(target, "meeting.flac", watcher)
    assert watcher.stop() == 130


def test_watch_needs_a_folder_and_health_needs_an_output(tmp_path: Path) -> None:
    one_file = run_cli("watch", "--input", str(RECORDINGS / "meeting.flac"), "--output", str(tmp_path / "o"))
    assert one_file.returncode == 2
    assert one_file.stderr.strip().endswith("watch needs a folder to watch; give a folder of recordings")
    assert run_cli("watch", "--health").returncode == 2
    never = run_cli("watch", "--health", "--output", str(tmp_path))
    assert never.returncode == 1 and never.stdout.startswith("unhealthy: no watcher status")


def test_idle_models_are_freed_and_load_again(tmp_path: Path) -> None:
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", source / "first.flac")
    watcher = Watcher(source, target, "--idle-unload", "0.02")  # 1.2 s
    _wait_done(target, "first.flac", watcher)
    watcher.wait_for("idle for 0.02 min: models unloaded")
    assert _status(target)["models_loaded"] is False
    shutil.copy(RECORDINGS / "notes" / "note café.ogg", source / "second.ogg")
    _wait_done(target, "second.ogg", watcher)
    assert "Berlin" in (target / "first.txt").read_text() and (target / "second.txt").read_text().strip()
    assert watcher.stop() == 130


def test_with_llm_cleanup_the_recogniser_loads_once_across_groups(tmp_path: Path) -> None:
    """A watcher's recogniser stays beside the cleanup LLM (real SmolLM2) while both fit: three recordings
    arriving one after the other, each its own group with its own round of cleanup, load tiny.en once."""
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    llm = ("--cleanup", "llm", "--cleanup-model", "smollm2-135m-instruct")
    watcher = Watcher(source, target, *llm)
    arrivals = [RECORDINGS / "meeting.flac", RECORDINGS / "notes" / "note café.ogg",
                RECORDINGS / "interviews" / "interview with Ana.mp3"]  # fmt: skip
    for number, recording in enumerate(arrivals):
        name = f"{number}{recording.suffix}"
        shutil.copy(recording, source / name)
        _wait_done(target, name, watcher, timeout=300)
    assert "Berlin" in (target / "0.txt").read_text()
    assert all((target / f"{n}.json").is_file() for n in range(3))
    assert sum("loaded model tiny.en" in line for line in watcher.lines) == 1, watcher.log
    fits = [line for line in watcher.lines if "cleanup model smollm2-135m-instruct needs about" in line]
    assert len(fits) == 1 and fits[0].endswith("beside the recogniser: both stay loaded between recordings"), fits
    rounds = [line for line in watcher.lines if line.startswith("llm cleanup: ")]
    assert [line.split()[2] for line in rounds] == ["1", "1", "1"], "each round counts its own chunks"
    for number, recording in enumerate(arrivals):  # each its own group: transcribed once, then cleaned
        assert sum(f"] transcribing {number}{recording.suffix}" in line for line in watcher.lines) == 1, watcher.log
        assert sum(f"] cleaning {number}{recording.suffix}" in line for line in watcher.lines) == 1, watcher.log
    assert watcher.stop() == 130
