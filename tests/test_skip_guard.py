"""The skip guard: a skip for a reason not on the list fails on CI, and stays a skip elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.skip_guard import ALLOWED_SKIPS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = f"""
import pytest

def test_missing_package():
    pytest.skip("some_package is not installed")

def test_allowed():
    pytest.skip("{ALLOWED_SKIPS[0]} for this check")

def test_runs():
    pass
"""


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "TRANSCRIBER_STRICT_SKIPS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.skip_guard", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, env={**clean, **env}, check=False,
    )  # fmt: skip


def test_a_disallowed_skip_fails_on_ci(tmp_path: Path) -> None:
    result = _pytest(tmp_path, CI="true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 1 skipped" in result.stdout
    assert "without an allowed reason (see tests/skip_guard.py): Skipped: some_package is not installed" in (
        result.stdout
    )


def test_skips_stay_skips_off_ci(tmp_path: Path) -> None:
    result = _pytest(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped" in result.stdout
