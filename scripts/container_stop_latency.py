#!/usr/bin/env python3
"""Benchmark: how long after a signal to `invoke transcribe` its container is gone from the engine.

For each way of stopping it (term: SIGTERM, int: SIGINT, hup: SIGHUP, hangup: a real closed terminal,
the pty master of an invoke that leads its own session closed), starts `invoke transcribe` on a batch
of distinct copies of a recording, waits for its first transcript, stops it, and polls the engine until
no container labelled with that output is left. Prints the seconds, invoke's exit code, the files done
and the run's summary line. Uses the tasks' settings from the environment (an image built, a model in
the cache: `invoke setup`); asserts nothing.

    python scripts/container_stop_latency.py --recording examples/recordings/meeting.flac term int hup hangup
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import signal
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import docker
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transcriber.audio import SAMPLE_RATE, decode  # noqa: E402

SIGNALS = {"term": signal.SIGTERM, "int": signal.SIGINT, "hup": signal.SIGHUP}


def copies(recording: Path, folder: Path, count: int) -> None:
    """`count` WAVs of the recording, each led by different silence, so none comes from the raw cache."""
    pcm = (decode(recording).samples * 32767).astype(np.int16)
    folder.mkdir(parents=True)
    for i in range(count):
        with wave.open(str(folder / f"take-{i:02}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(np.zeros(160 * (i + 1), np.int16).tobytes() + pcm.tobytes())


def measure(how: str, source: Path, client: docker.DockerClient) -> str:
    target = source.parent / f"{source.name}-transcripts"
    command = [sys.executable, "-m", "invoke", "transcribe", "--input", str(source), "--formats", "txt"]
    master = -1
    if how == "hangup":
        pid, master = pty.fork()
        if pid == 0:
            os.chdir(ROOT)
            os.execv(sys.executable, command)
        process = None
    else:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        pid = process.pid
    while not list(target.glob("*.txt")):
        if master >= 0:
            with contextlib.suppress(OSError):
                os.read(master, 65536)  # keep the terminal drained, as a user's would be
        ended = process.poll() is not None if process is not None else os.waitpid(pid, os.WNOHANG)[0] != 0
        if ended:
            return f"{how}: invoke ended before its first transcript (is the image built? invoke setup)"
        time.sleep(0.1)
    started = time.monotonic()
    if master >= 0:
        os.close(master)
    else:
        os.kill(pid, SIGNALS[how])
    label = {"label": f"transcriber.run.output={target}"}
    while client.containers.list(all=True, filters=label, ignore_removed=True):
        time.sleep(0.05)
    gone = time.monotonic() - started
    if process is None:
        code, text = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), ""
    else:
        text, code = process.communicate()[0], process.returncode
    summary = next((line for line in text.splitlines() if line.startswith("interrupted: ") and "done" in line), "-")
    done = len([p for p in target.glob("*.txt") if not p.name.endswith(".verbatim.txt")])
    return f"{how}: container gone {gone:.2f} s after the signal; invoke exit {code}; {done} files done; {summary}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ways", nargs="+", choices=[*SIGNALS, "hangup"])
    parser.add_argument("--recording", type=Path, default=ROOT / "examples/recordings/meeting.flac")
    parser.add_argument("--files", type=int, default=30)
    args = parser.parse_args()
    client = docker.from_env()
    with tempfile.TemporaryDirectory() as scratch:
        for how in args.ways:
            source = Path(scratch) / how
            copies(args.recording, source, args.files)
            print(measure(how, source, client), flush=True)


if __name__ == "__main__":
    main()
