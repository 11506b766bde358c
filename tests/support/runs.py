"""Helpers the tests share: where the examples are, running the CLI as a user would, reading what a run wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
RECORDINGS = ROOT / "examples" / "recordings"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m transcriber ARGS` in a fresh process, as a user would."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "transcriber", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def load_transcripts(out: Path) -> dict[str, dict]:
    """Every transcript JSON under `out`, keyed by its source path; fails if there is none, so a test that
    checks what it finds cannot pass on an empty output folder."""
    found = {}
    for path in out.rglob("*.json"):
        if ".transcriber" not in path.parts:
            data = json.loads(path.read_text(encoding="utf-8"))
            found[data["source"]] = data
    assert found, f"no transcript JSON under {out}: the run wrote nothing"
    return found


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def write_joined_examples(folder: Path) -> list[Path]:
    """Write `folder/long.wav`: the example recordings joined with 1.5 s pauses (about 45 s, so two 30 s
    windows and several VAD regions). Returns the examples' paths in the order they were joined."""
    import numpy as np
    import soundfile

    from transcriber.audio import SAMPLE_RATE, decode

    gap = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
    paths = sorted(p for p in RECORDINGS.rglob("*") if p.suffix in {".flac", ".mp3", ".ogg"})
    soundfile.write(folder / "long.wav", np.concatenate([x for p in paths for x in (decode(p).samples, gap)]),
                    SAMPLE_RATE)  # fmt: skip
    return paths
