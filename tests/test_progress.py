"""Progress as a person sees it: a live bar on a terminal (a real pseudo-terminal here), plain lines otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.runs import RECORDINGS


def _run_on_a_terminal(args: list[str]) -> tuple[int, str]:
    primary, secondary = pty.openpty()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-m", "transcriber", *args], stdin=secondary, stdout=secondary,
                               stderr=secondary, env=env)  # fmt: skip
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closes when the program ends
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    return process.wait(timeout=300), output.decode(errors="replace")


@pytest.mark.usefixtures("tiny_en")
def test_terminal_gets_a_live_bar_with_files_and_audio(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.wav").write_bytes(b"not audio at all")
    for path in RECORDINGS.glob("*.flac"):
        (tmp_path / "in" / path.name).write_bytes(path.read_bytes())
    code, screen = _run_on_a_terminal(["run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                                       "--model", "tiny.en"])  # fmt: skip
    assert code == 1, screen
    assert "2/2" in screen and "s audio" in screen
    assert "error:" in screen and "broken.wav" in screen
    assert "1 done, 0 skipped, 1 failed" in screen
    assert "Traceback" not in screen
