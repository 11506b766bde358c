"""`invoke watch` on the real Docker engine: a detached, named watcher with the run's isolation, the
`unless-stopped` restart policy and a health check; ten recordings dropped at once are all done; a bad one
is reported once; a restart mid-file leaves no half output and redoes that file; a deleted input folder made
again is watched after the watcher's own restart; --stop ends it cleanly.

One watcher serves the tests that follow its life in order (`watched`), and one more, whose output is a
small tmpfs, the disk faults: starting a watcher (a container and its model) is the slow part.
Uses the engine tests' `host` (image built by `invoke setup --gpu cpu`, tiny.en imported) and skips, or
fails under TRANSCRIBER_REQUIRE_DOCKER=1, as they do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.runs import RECORDINGS
from tests.test_docker_engine import IMAGE, _distinct_copies, _invoke, client, host  # noqa: F401 - the fixtures
from transcriber.host.watch import watcher_name
from transcriber.watch.service import REMOUNT_AFTER_S
from transcriber.watch.status import read_status

pytestmark = pytest.mark.docker


def _until(check: Callable[[], object], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.5)


def _done(target: Path) -> set[str]:
    """The recordings the manifest lists as done, by their path under the input (it keys them by output stem)."""
    files = json.loads((target / ".transcriber" / "manifest.json").read_text())["files"]
    return {entry["relative"] for entry in files.values()}


def _long_recording(path: Path, repeats: int) -> None:
    """The meeting `repeats` times over, as one WAV: long enough to restart the container in the middle."""
    from transcriber.audio import SAMPLE_RATE, decode

    pcm = (decode(RECORDINGS / "meeting.flac").samples * 32767).astype(np.int16).tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm * repeats)


@dataclass
class Watched:
    """The watcher `invoke watch` started for the module's tests, and how it was started."""

    source: Path
    target: Path
    name: str
    start: tuple[str, ...]
    started: subprocess.CompletedProcess[str]
    #: The engine tests' user environment and Docker client.
    env: dict[str, str]
    engine: Any


@pytest.fixture(scope="module")
def watched(host: dict[str, str], client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:  # type: ignore[no-untyped-def]  # noqa: F811
    base = tmp_path_factory.mktemp("watched")
    source = base / "issue24-drop"  # the watcher's container is named after the output folder
    source.mkdir()
    target = base / "issue24-drop-transcripts"
    name = watcher_name(target)
    start = ("watch", "--input", str(source), "--formats", "txt,json", "--settle", "2",
             "--extra", "--language en --cleanup rules")  # fmt: skip
    try:
        yield Watched(source, target, name, start, _invoke(*start, env=host, timeout=300), host, client)
    finally:
        for leftover in client.containers.list(all=True, filters={"name": name}):
            leftover.remove(force=True)


def test_invoke_watch_starts_a_detached_container_with_a_runs_isolation(watched: Watched) -> None:
    started, name, source, engine = watched.started, watched.name, watched.source, watched.engine
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"in {name}" in started.stdout
    info = engine.api.inspect_container(name)
    assert info["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert info["HostConfig"]["NetworkMode"] == "none"
    assert info["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
    assert info["Config"]["Healthcheck"]["Test"][-4:] == ["watch", "--health", "--output", "/data/out"]
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/data/in"]["Source"] == str(source) and mounts["/data/in"]["RW"] is False
    assert not info["HostConfig"]["Binds"], "mounts, not binds: Docker would make a deleted folder again, as root"
    second = _invoke(*watched.start, env=watched.env)
    assert second.returncode == 2 and f"is already watched by {name}" in second.stderr, second.stderr


def test_ten_recordings_at_once_are_all_done_and_a_bad_one_is_reported(watched: Watched) -> None:
    source, target = watched.source, watched.target
    _distinct_copies(RECORDINGS / "meeting.flac", source / "ten", 10)  # ten at once, in a new folder
    (source / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    _until(lambda: len(list((target / "ten").glob("*.json"))) == 10, "ten transcripts")
    transcripts = [json.loads(p.read_text()) for p in (target / "ten").glob("*.json")]
    assert all("Berlin" in t["clean_text"] for t in transcripts)
    assert all(p.stat().st_uid == os.getuid() for p in target.rglob("*"))


def test_a_restart_mid_file_leaves_no_half_output_and_redoes_that_file(watched: Watched) -> None:
    source, target, name, engine = watched.source, watched.target, watched.name, watched.engine
    _long_recording(source / "long.wav", repeats=8)
    container = engine.containers.get(name)
    _until(lambda: b"transcribing long.wav" in container.logs(), "long.wav begun")
    assert "long.wav" not in _done(target) and not (target / "long.txt").exists(), "not mid-file any more"
    engine.api.restart(name, timeout=0)  # killed mid-file, started again by the engine
    assert not (target / "long.txt").exists() and not list(target.rglob("*.transcriber-tmp"))
    _until(lambda: (target / "long.json").is_file(), "long.wav redone after the restart")
    assert _done(target) == {f"ten/meeting-{i:02}.wav" for i in range(10)} | {"long.wav"}
    assert json.loads((target / "long.json").read_text())["clean_text"].count("Berlin") >= 6
    logs = container.logs().decode()
    assert logs.count("transcribing long.wav") == 2, logs[-3000:]
    reports = [line for line in logs.splitlines() if line.startswith("error:") and "broken.wav" in line]
    assert len(reports) == 1, "a bad file is reported once, across the restart too"


def test_status_logs_and_health(watched: Watched) -> None:
    source, target, name, engine = watched.source, watched.target, watched.name, watched.engine
    _until(lambda: engine.api.inspect_container(name)["State"]["Health"]["Status"] == "healthy", "healthy")
    status = _invoke("watch", "--status", "--input", str(source), env=watched.env)
    assert status.returncode == 0, status.stderr
    assert f"{name}: running (healthy), {source} -> {target}" in status.stdout
    assert "watching; 11 done, 1 failed since " in status.stdout, status.stdout
    assert ", restarts: 1;" in status.stdout and "last file: long.wav" in status.stdout, status.stdout
    assert f"last error: {source / 'broken.wav'}: decode: " in status.stdout, status.stdout
    logs_task = _invoke("watch", "--logs", "--output", str(target), env=watched.env)
    assert f"error: {source / 'broken.wav'}" in logs_task.stdout and "/data/in" not in logs_task.stdout


def _state(target: Path) -> str:
    status = read_status(target)
    return f"{status.state} ({status.detail})" if status else "none"


def test_a_deleted_input_folder_made_again_is_watched_after_a_restart(watched: Watched) -> None:
    """The container keeps the deleted folder mounted: the watcher exits (75) for the restart policy to mount
    the one made again, and a recording dropped into it is transcribed."""
    source, target, name, engine = watched.source, watched.target, watched.name, watched.engine
    restarts = engine.api.inspect_container(name)["RestartCount"]
    shutil.rmtree(source)
    _until(lambda: _state(target).startswith("waiting (input folder /data/in is gone"), "waiting")
    source.mkdir()  # made again by its user while the watcher waits
    timeout = REMOUNT_AFTER_S + 120
    _until(lambda: engine.api.inspect_container(name)["RestartCount"] == restarts + 1, "restarted", timeout)
    _until(lambda: _state(target).startswith("watching"), "watching the new folder")
    logs = engine.containers.get(name).logs().decode()
    assert "input folder /data/in was deleted while mounted here: exiting (75)" in logs, logs[-2000:]
    shutil.copy(RECORDINGS / "meeting.flac", source / "after.flac")
    _until(lambda: (target / "after.json").is_file(), "a recording in the new folder transcribed")
    assert "Berlin" in json.loads((target / "after.json").read_text())["clean_text"]
    status = read_status(target)
    assert status is not None and status.restarts == 2 and status.files_done == 12, status


def test_a_folder_still_missing_at_the_restart_leaves_the_watcher_stopped_and_said(watched: Watched) -> None:
    """Docker does not retry a restart whose folder is missing, and the watcher's mounts keep it from
    making one as root: the container stays stopped, `--status` says what to do, and that works."""
    source, target, name, engine = watched.source, watched.target, watched.name, watched.engine
    shutil.rmtree(source)
    _until(lambda: engine.api.inspect_container(name)["State"]["Status"] == "exited", "stopped", REMOUNT_AFTER_S + 60)
    state = engine.api.inspect_container(name)["State"]
    assert state["ExitCode"] == 75 and "no such file or directory" in state["Error"], state
    assert not source.exists(), "Docker made no folder in its place"
    status = _invoke("watch", "--status", "--output", str(target), env=watched.env)
    assert f"{name}: exited, {source} -> {target}" in status.stdout, status.stdout
    assert f"its input folder {source} is gone: make it again, then invoke watch --input {source}" in status.stdout
    assert f"restarting (input folder {source} was deleted;" in status.stdout, status.stdout
    source.mkdir()
    again = _invoke(*watched.start, env=watched.env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    shutil.copy(RECORDINGS / "meeting.flac", source / "again.flac")
    _until(lambda: (target / "again.json").is_file(), "a recording after the watcher was started again")


def test_stop_ends_the_watcher_cleanly(watched: Watched) -> None:
    engine = watched.engine
    stopped = _invoke("watch", "--stop", "--input", str(watched.source), env=watched.env, timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert stopped.stdout.strip() == f"stopped {watched.name} (exit 130)"
    assert not engine.containers.list(all=True, filters={"name": watched.name})
    assert not list(watched.target.rglob("*.transcriber-tmp"))
    assert "no watcher is running" in _invoke("watch", "--status", env=watched.env).stdout


@dataclass
class OnTmpfs:
    """A watcher (plain container, `unless-stopped`) whose output is a 16 MB tmpfs, run as a user that is not
    root, so that taking the write permission away from the output folder stops its writes (a shell of the
    same user, the folder's owner, fills the output up or changes its permission)."""

    source: Path
    container: Any

    def logs(self) -> str:
        return str(self.container.logs().decode())

    def shell(self, command: str) -> tuple[int, str]:
        ran = self.container.exec_run(["sh", "-c", command], user="4242:4242")
        return int(ran.exit_code), str(ran.output.decode())

    def restarts(self) -> int:
        self.container.reload()
        return int(self.container.attrs["RestartCount"])


@pytest.fixture(scope="module")
def on_tmpfs(host: dict[str, str], client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnTmpfs]:  # type: ignore[no-untyped-def]  # noqa: F811
    from transcriber.host.container import ContainerSpec, GpuAccess
    from transcriber.host.watch import watch_command

    source = tmp_path_factory.mktemp("on-tmpfs") / "in"
    source.mkdir()
    flags = ["--formats", "txt", "--settle", "1", "--language", "en", "--cleanup", "rules"]
    spec = ContainerSpec(
        image=f"{IMAGE}:cpu", command=watch_command(flags, "tiny.en"), input_dir=source, output_dir=None,
        model_cache=Path(host["TRANSCRIBER_MODEL_CACHE"]), gpu=GpuAccess(kind="cpu"), user="4242:4242",
        name="transcriber-watch-issue24-tmpfs", restart="unless-stopped",
    )  # fmt: skip
    container = client.containers.run(**spec.docker_kwargs() | {"tmpfs": {"/data/out": "size=16m,uid=4242,gid=4242"}})
    try:
        watched = OnTmpfs(source, container)
        _until(lambda: "watching /data/in" in watched.logs(), "watching")
        yield watched
    finally:
        container.remove(force=True)


def test_a_full_disk_pauses_the_watcher_until_space_is_freed(on_tmpfs: OnTmpfs) -> None:
    """The output filled up before a recording arrives: the watcher pauses with one line, writes nothing
    half, and transcribes the recording once the filler is deleted."""
    shell = on_tmpfs.shell
    shell("cat /dev/zero > /data/out/.filler")
    assert shell("df -k /data/out | tail -1")[1].split()[3] == "0"
    shutil.copy(RECORDINGS / "meeting.flac", on_tmpfs.source / "meeting.flac")
    _until(
        lambda: "paused: /data/out is full; free some space there and the watch resumes" in on_tmpfs.logs(), "paused"
    )
    assert shell("ls /data/out/meeting.txt")[0] != 0
    assert shell("find /data/out -name '*.transcriber-tmp'")[1] == ""
    shell("rm /data/out/.filler")
    _until(lambda: shell("cat /data/out/meeting.txt")[0] == 0, "resumed and written")
    assert "Berlin" in shell("cat /data/out/meeting.txt")[1]
    logs = on_tmpfs.logs()
    assert logs.count("error:") == 1 and "No space left on device" in logs, logs
    assert "MiB free; resuming" in logs
    assert on_tmpfs.restarts() == 0


def test_an_output_that_cannot_be_written_pauses_the_watcher_which_never_exits(on_tmpfs: OnTmpfs) -> None:
    """The output's write permission taken away under the watcher: a restart would not heal that, so the
    watcher pauses, says so in its log and its health, and writes the recording once it may again."""
    shell, container = on_tmpfs.shell, on_tmpfs.container

    def since_the_last_test() -> str:
        return on_tmpfs.logs().split("MiB free; resuming")[-1]

    shell("chmod 0555 /data/out")
    try:
        shutil.copy(RECORDINGS / "meeting.flac", on_tmpfs.source / "second.flac")
        _until(lambda: "trying again\n" in since_the_last_test(), "paused, then tried again")  # past the first wait
        health = container.exec_run(["python", "-m", "transcriber", "watch", "--health", "--output", "/data/out"])
        assert health.exit_code == 1, health.output
        assert "paused: /data/out cannot be written (Permission denied)" in health.output.decode()
        assert on_tmpfs.restarts() == 0 and container.status == "running"
    finally:
        shell("chmod 0755 /data/out")
    _until(lambda: shell("cat /data/out/second.txt")[0] == 0, "written once the output may be written again")
    assert "Berlin" in shell("cat /data/out/second.txt")[1]
    logs = since_the_last_test()
    assert "paused: /data/in/second.flac: write: /data/out: Permission denied; make it writable" in logs, logs
    assert "/data/out can be written again; resuming" in logs, logs
    assert on_tmpfs.restarts() == 0
