"""`invoke watch` on the real Docker engine: a detached, named watcher with the run's isolation, the
`unless-stopped` restart policy and a health check; ten recordings dropped at once are all done; a bad one
is reported once; a restart mid-file leaves no half output and redoes that file; --stop ends it cleanly.

Uses the engine tests' `host` (image built by `invoke setup --gpu cpu`, tiny.en imported) and skips, or
fails under TRANSCRIBER_REQUIRE_DOCKER=1, as they do.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.support.runs import RECORDINGS
from tests.test_docker_engine import IMAGE, _distinct_copies, _invoke, client, host  # noqa: F401 - the fixtures
from transcriber.host.watch import watcher_name

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


def test_invoke_watch_in_a_detached_container(host: dict[str, str], client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    source = tmp_path / "issue24-drop"  # the watcher's container is named after the output folder
    source.mkdir()
    target = tmp_path / "issue24-drop-transcripts"
    name = watcher_name(target)
    start = ("watch", "--input", str(source), "--formats", "txt,json", "--settle", "2",
             "--extra", "--language en --cleanup rules")  # fmt: skip
    try:
        started = _invoke(*start, env=host, timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"in {name}" in started.stdout
        info = client.api.inspect_container(name)
        assert info["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert info["HostConfig"]["NetworkMode"] == "none"
        assert info["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
        assert info["Config"]["Healthcheck"]["Test"][-4:] == ["watch", "--health", "--output", "/data/out"]
        mounts = {m["Destination"]: m for m in info["Mounts"]}
        assert mounts["/data/in"]["Source"] == str(source) and mounts["/data/in"]["RW"] is False
        second = _invoke(*start, env=host)
        assert second.returncode == 2 and f"is already watched by {name}" in second.stderr, second.stderr

        _distinct_copies(RECORDINGS / "meeting.flac", source / "ten", 10)  # ten at once, in a new folder
        (source / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
        _until(lambda: len(list((target / "ten").glob("*.json"))) == 10, "ten transcripts")
        transcripts = [json.loads(p.read_text()) for p in (target / "ten").glob("*.json")]
        assert all("Berlin" in t["clean_text"] for t in transcripts)
        assert all(p.stat().st_uid == os.getuid() for p in target.rglob("*"))

        _long_recording(source / "long.wav", repeats=8)
        container = client.containers.get(name)
        _until(lambda: b"transcribing long.wav" in container.logs(), "long.wav begun")
        assert "long.wav" not in _done(target) and not (target / "long.txt").exists(), "not mid-file any more"
        client.api.restart(name, timeout=0)  # killed mid-file, started again by the engine
        assert not (target / "long.txt").exists() and not list(target.rglob("*.transcriber-tmp"))
        _until(lambda: (target / "long.json").is_file(), "long.wav redone after the restart")
        assert _done(target) == {f"ten/meeting-{i:02}.wav" for i in range(10)} | {"long.wav"}
        assert json.loads((target / "long.json").read_text())["clean_text"].count("Berlin") >= 6
        logs = container.logs().decode()
        assert logs.count("transcribing long.wav") == 2, logs[-3000:]
        reports = [line for line in logs.splitlines() if line.startswith("error:") and "broken.wav" in line]
        assert len(reports) == 1, "a bad file is reported once, across the restart too"

        _until(lambda: client.api.inspect_container(name)["State"]["Health"]["Status"] == "healthy", "healthy")
        status = _invoke("watch", "--status", "--input", str(source), env=host)
        assert status.returncode == 0, status.stderr
        assert f"{name}: running (healthy), {source} -> {target}" in status.stdout
        assert "watching; 11 done, 1 failed since " in status.stdout, status.stdout
        assert ", restarts: 1;" in status.stdout and "last file: long.wav" in status.stdout, status.stdout
        assert f"last error: {source / 'broken.wav'}: decode: " in status.stdout, status.stdout
        logs_task = _invoke("watch", "--logs", "--output", str(target), env=host)
        assert f"error: {source / 'broken.wav'}" in logs_task.stdout and "/data/in" not in logs_task.stdout

        stopped = _invoke("watch", "--stop", "--input", str(source), env=host, timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert stopped.stdout.strip() == f"stopped {name} (exit 130)"
        assert not client.containers.list(all=True, filters={"name": name})
        assert not list(target.rglob("*.transcriber-tmp"))
        assert "no watcher is running" in _invoke("watch", "--status", env=host).stdout
    finally:
        for leftover in client.containers.list(all=True, filters={"name": name}):
            leftover.remove(force=True)


def test_a_full_disk_pauses_the_watcher_until_space_is_freed(host: dict[str, str], client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The watcher's output on a 16 MB tmpfs, filled up before a recording arrives: it pauses with one line,
    writes nothing half, and transcribes the recording once the filler is deleted."""
    from transcriber.host.container import ContainerSpec, GpuAccess
    from transcriber.host.watch import watch_command

    source = tmp_path / "in"
    source.mkdir()
    flags = ["--formats", "txt", "--settle", "1", "--language", "en", "--cleanup", "rules"]
    spec = ContainerSpec(
        image=f"{IMAGE}:cpu", command=watch_command(flags, "tiny.en"), input_dir=source, output_dir=None,
        model_cache=Path(host["TRANSCRIBER_MODEL_CACHE"]), gpu=GpuAccess(kind="cpu"),
        user=f"{os.getuid()}:{os.getgid()}", name="transcriber-watch-issue24-diskfull",
    )  # fmt: skip
    kwargs = spec.docker_kwargs() | {"tmpfs": {"/data/out": "size=16m,mode=1777"}}
    container = client.containers.run(**kwargs)
    try:

        def logs() -> str:
            return container.logs().decode()

        def shell(command: str) -> tuple[int, str]:
            ran = container.exec_run(["sh", "-c", command], user=spec.user)
            return ran.exit_code, ran.output.decode()

        _until(lambda: "watching /data/in" in logs(), "watching")
        shell("cat /dev/zero > /data/out/.filler")
        assert shell("df -k /data/out | tail -1")[1].split()[3] == "0"
        shutil.copy(RECORDINGS / "meeting.flac", source / "meeting.flac")
        _until(lambda: "paused: /data/out is full; free some space there and the watch resumes" in logs(), "paused")
        assert shell("ls /data/out/meeting.txt")[0] != 0
        assert shell("find /data/out -name '*.transcriber-tmp'")[1] == ""
        shell("rm /data/out/.filler")
        _until(lambda: shell("cat /data/out/meeting.txt")[0] == 0, "resumed and written")
        assert "Berlin" in shell("cat /data/out/meeting.txt")[1]
        assert logs().count("error:") == 1 and "No space left on device" in logs(), logs()
        assert "MiB free; resuming" in logs()
    finally:
        container.remove(force=True)
