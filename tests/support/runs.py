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
