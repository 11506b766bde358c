"""The command line as a user meets it: help, version, settings precedence and the errors for bad values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.runs import RECORDINGS, run_cli
from transcriber import __version__
from transcriber.errors import EXIT_USAGE, ConfigError
from transcriber.settings import load_settings

HEAVY = ("torch", "ctranslate2", "transformers", "faster_whisper")


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from transcriber.cli import main\n"
        "for argv in (['--help'], ['run', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "--cleanup" in result.stdout and "exit codes" in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"transcriber {__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--formats", "txt,docx"], "--formats='docx' is not one of"),
        (["--device", "tpu"], "--device='tpu' is not one of"),
        (["--cleanup", "magic"], "--cleanup='magic' is not one of"),
        (["--batch-size", "0"], "--batch-size='0' must be auto or a whole number"),
        (["--model", "huge-v9"], "unknown model 'huge-v9'"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("run", "--input", str(RECORDINGS), "--output", str(tmp_path / "out"), *args)
    assert result.returncode == EXIT_USAGE
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_input_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("run", "--input", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"))
    assert result.returncode == EXIT_USAGE
    assert "does not exist" in result.stderr


def test_missing_model_offline_says_how_to_fetch_it(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "--input",
        str(RECORDINGS),
        "--output",
        str(tmp_path / "out"),
        "--model",
        "small",
        env={"HF_HOME": str(tmp_path / "hf")},
    )
    assert result.returncode == EXIT_USAGE
    assert "not in the Hugging Face cache" in result.stderr
    assert "invoke models --download small" in result.stderr


def test_flags_beat_environment_beat_defaults() -> None:
    env = {"TRANSCRIBER_MODEL": "base", "TRANSCRIBER_FORMATS": "srt", "TRANSCRIBER_CLEANUP": "none"}
    settings = load_settings({"input": "in", "output": "out", "cleanup": "rules"}, env)
    assert (settings.model, settings.formats, settings.cleanup) == ("base", ("srt",), "rules")
    assert settings.device == "auto"


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TRANSCRIBER_BATCH_SIZE='many'"):
        load_settings({"input": "in", "output": "out"}, {"TRANSCRIBER_BATCH_SIZE": "many"})


def test_models_lists_the_catalog_and_the_bundled_model(tiny_en: Path, tmp_path: Path) -> None:
    result = run_cli("models", env={"HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 0
    kinds = {"asr", "cleanup-llm", "audio-llm", "seamless"}
    rows = {f[1]: line for line in result.stdout.splitlines() if (f := line.split()) and f[0] in kinds}
    assert "bundled" in rows["tiny.en"]
    assert "not cached" in rows["large-v3"]
    assert "Systran/faster-distil-whisper-large-v3" in rows["distil-large-v3"]
    assert rows["smollm2-135m-instruct"].split()[:2] == ["cleanup-llm", "smollm2-135m-instruct"]
    assert "bundled" in rows["smollm2-135m-instruct"]
    assert rows["qwen2-audio-7b-instruct"].split()[:6] == [
        "audio-llm",
        "qwen2-audio-7b-instruct",
        "8.4B",
        "16.9",
        "-",
        "5.8",
    ]
    assert (
        "not cached" in rows["seamless-m4t-v2-large"]
        and "facebook/seamless-m4t-v2-large" in rows["seamless-m4t-v2-large"]
    )
    assert {line.split()[0] for line in rows.values()} == kinds


def test_a_missing_optional_stage_names_its_install_command() -> None:
    from transcriber.extras import require

    with pytest.raises(ConfigError, match=r"--cleanup llm needs no_such_module_xyz, which is not installed: pip"):
        require("llm", "--cleanup llm", "json", "no_such_module_xyz")


def test_a_model_path_that_does_not_exist_is_named_as_a_path(tmp_path: Path) -> None:
    result = run_cli("run", "-i", str(RECORDINGS), "-o", str(tmp_path / "out"), "--model", "/nonexistent/model")
    assert result.returncode == EXIT_USAGE
    assert result.stderr.strip() == (
        "error: --model /nonexistent/model: no such model folder or file; check the path, or give a catalog name "
        "(`transcriber models`) or a repo id (org/name)"
    )
    from_env = run_cli(
        "run", "-i", str(RECORDINGS), "-o", str(tmp_path / "out"), env={"TRANSCRIBER_CLEANUP_MODEL": "~/no.gguf"}
    )
    assert from_env.returncode == EXIT_USAGE and from_env.stderr.startswith(
        "error: TRANSCRIBER_CLEANUP_MODEL ~/no.gguf: no such"
    )
