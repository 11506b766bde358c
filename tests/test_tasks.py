"""The invoke tasks as a new user meets them on a machine without Docker or a GPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RECORDINGS, load_transcripts

ROOT = Path(__file__).resolve().parent.parent


def _invoke(*args: str, tmp_path: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`invoke ARGS` from the repo root, with no Docker engine, no env files of the user, offline."""
    env_dir = tmp_path / "env"
    env_dir.mkdir(exist_ok=True)
    (env_dir / "defaults.env").write_text((ROOT / "env" / "defaults.env").read_text())
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{tmp_path / 'no-docker.sock'}",
        "TRANSCRIBER_ENV_DIR": str(env_dir),
        "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_list_reads_like_a_menu(tmp_path: Path) -> None:
    result = _invoke("--list", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("setup", "transcribe", "build", "models", "shell", "test", "lock", "doctor"):
        assert f"  {name} " in result.stdout
    help_text = _invoke("transcribe", "--help", tmp_path=tmp_path).stdout
    assert "--local" in help_text and "--input" in help_text and "--extra" in help_text


@pytest.mark.usefixtures("tiny_en")
def test_transcribe_local_runs_for_real(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(
        "transcribe", "--local", "--input", str(RECORDINGS), "--output", str(out),
        "--model", "tiny.en", "--formats", "txt,json", "--extra", "--language en",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    transcripts = load_transcripts(out)
    assert len(transcripts) == 3
    assert "Berlin" in transcripts["meeting.flac"]["clean_text"]
    assert transcripts["meeting.flac"]["settings"]["language"] == "en"
    assert not (out / "meeting.srt").exists()


def test_doctor_reports_the_missing_engine_and_gpu(tmp_path: Path) -> None:
    result = _invoke("doctor", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "FAIL  Docker engine: no Docker engine answers" in result.stdout
    assert "FAIL  GPU: no AMD" in result.stdout
    assert "FAIL  models: large-v3-turbo" in result.stdout or "FAIL  models: small" in result.stdout
    assert "Traceback" not in result.stderr


def test_setup_without_docker_says_what_is_missing(tmp_path: Path) -> None:
    result = _invoke("setup", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "no Docker engine answers" in result.stderr
    assert "--local" in result.stderr
    assert "Traceback" not in result.stderr
    assert "TRANSCRIBER_GPU=cpu" in (tmp_path / "env" / "local.env").read_text()


def test_transcribe_without_docker_offers_local(tmp_path: Path) -> None:
    result = _invoke("transcribe", "--input", str(RECORDINGS), "--output", str(tmp_path / "out"), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "no Docker engine answers" in result.stderr and "--local" in result.stderr
    assert "Traceback" not in result.stderr


def test_transcribe_missing_input_is_clear(tmp_path: Path) -> None:
    result = _invoke("transcribe", "--local", "--input", str(tmp_path / "nowhere"), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr


@pytest.mark.usefixtures("tiny_en")
def test_bench_local_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = _invoke(
        "bench", "--local", "--input", str(RECORDINGS), "--output", str(out), "--configs", "tiny.en",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"report.md", "results.json", "chart.png"}
    assert "faster-whisper plain tiny.en" in (out / "report.md").read_text()
