"""`--cleanup auto`: which stage it picks from what the machine has, and that `transcriber run` says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.runs import RECORDINGS, load_transcripts, run_cli
from transcriber.cleanup.auto import choose_cleanup

ALL = {"transformers", "accelerate", "bitsandbytes"}


@pytest.mark.parametrize(
    ("free_gb", "model", "extras", "local", "offline", "chosen", "why"),
    [
        (None, "qwen2.5-3b-instruct", ALL, True, False, "rules", "no GPU"),
        (None, "qwen2.5-3b-instruct", set(), True, False, "rules", "the LLM stage is not installed"),
        (12.0, "qwen2.5-3b-instruct", set(), True, False, "rules", "not installed"),
        (12.0, "qwen2.5-3b-instruct", ALL, True, False, "llm", "fits the GPU's 12.0 GB"),
        (2.0, "qwen2.5-3b-instruct", ALL, True, False, "rules", "needs 2.4 GB even in 4-bit"),
        (4.0, "qwen2.5-3b-instruct", ALL - {"bitsandbytes"}, True, False, "rules", "bitsandbytes is not installed"),
        (4.0, "qwen2.5-3b-instruct", ALL, True, False, "llm", "fits"),
        (12.0, "qwen2.5-3b-instruct", ALL, False, True, "rules", "HF_HUB_OFFLINE"),
        (12.0, "qwen2.5-3b-instruct", ALL, False, False, "llm", "fits"),
    ],
)
def test_choice(free_gb, model, extras, local, offline, chosen: str, why: str) -> None:  # type: ignore[no-untyped-def]
    got, reason = choose_cleanup(free_gb, model, extras, local, offline)
    assert got == chosen and why in reason


def test_run_says_which_cleanup_auto_chose(tiny_en: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("run", "--input", str(RECORDINGS / "meeting.flac"), "--output", str(out), "--model", "tiny.en",
                     "--device", "cpu")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--cleanup auto chose rules: no GPU; --cleanup llm runs the LLM on the CPU, slowly\n" in result.stderr
    data = load_transcripts(out)["meeting.flac"]
    assert data["cleanup"] == "rules" and data["settings"]["cleanup"] == "rules"


def test_auto_on_a_machine_without_gpu_nodes_does_not_import_torch() -> None:
    import subprocess
    import sys

    from transcriber.vram import gpu_device_nodes

    code = "import sys; from transcriber.vram import free_gb; print(free_gb(), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    if gpu_device_nodes():
        assert out[1] == "True"  # a GPU node: torch is asked
    else:
        assert out == ["None", "False"], "no GPU node: nothing to ask torch, so it is not imported"
