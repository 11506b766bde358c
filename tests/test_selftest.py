"""The GPU self-test, on the CPU: the real tiny.en stands in for both devices, and a faulty "GPU" engine (the
real engine, fed the reference with its tail cut off, or answering nothing) must make it fail loudly, and
make `transcriber run` stop before any file."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.support.runs import RECORDINGS, run_cli
from transcriber import cli, selftest
from transcriber.engines.base import Engine
from transcriber.errors import EXIT_OK, EXIT_USAGE
from transcriber.transcript import Transcript


class FaultyGpu:
    """The real engine with a GPU's known silent failures: `drop` of the audio's tail lost, or no text at all."""

    def __init__(self, inner: Engine, drop: float) -> None:
        self.inner, self.drop, self.name, self.device = inner, drop, inner.name, "cuda"

    def transcribe(self, samples: np.ndarray, source: str) -> Transcript:
        transcript = self.inner.transcribe(samples[: int(len(samples) * (1 - self.drop))], source)
        return replace(transcript, segments=[]) if self.drop >= 1 else transcript

    def close(self) -> None:
        self.inner.close()


REAL_FACTORY = selftest.whisper_factory


def factory(tiny_en: Path, drop: float | None, calls: list[str] | None = None) -> selftest.EngineFactory:
    real = REAL_FACTORY("tiny.en", tiny_en)

    def make(device: str) -> Engine:
        if calls is not None:
            calls.append(device)
        engine = real("cpu")
        return FaultyGpu(engine, drop) if device == "cuda" and drop is not None else engine

    return make


@pytest.mark.parametrize(
    ("drop", "problem"), [(1.0, "returned no text"), (0.6, "truncated"), (None, "")], ids=["empty", "cut", "good"]
)
def test_selftest_judges_the_gpu_against_the_cpu(tiny_en: Path, drop: float | None, problem: str) -> None:
    result = selftest.run_selftest(factory(tiny_en, drop))
    assert result.ok is (drop is None)
    assert len(selftest.words(result.cpu_text)) >= 30, "the CPU must read the whole reference recording"
    if problem:
        assert problem in result.detail and "CT2_CUDA_ALLOCATOR=cub_caching" in result.detail
        assert "--device cpu" in result.detail
    else:
        assert result.wer == 0.0


def test_a_different_text_fails_on_wer() -> None:
    reference = "the quick brown fox jumps over the lazy dog and then it runs far away"
    wrong = "the quick brown box jumps over a crazy frog and then it runs fast away"
    result = selftest.judge(wrong, reference)
    assert not result.ok and "differs" in result.detail and result.wer > selftest.MAX_WER
    assert selftest.judge(reference.replace("far", "for"), reference).ok


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A run that believes CTranslate2 sees a GPU, with the self-test cache in a private model cache."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "models"))
    monkeypatch.setattr(selftest, "pick_device", lambda requested: ("cuda", None))
    return tmp_path


def _run(out: Path) -> int:
    return cli.main(["run", "--input", str(RECORDINGS / "meeting.flac"), "--output", str(out), "--model", "tiny.en",
                     "--device", "auto", "--quiet"])  # fmt: skip


def test_run_stops_before_any_file_when_the_gpu_is_wrong(
    fake_gpu: Path, tiny_en: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(selftest, "whisper_factory", lambda name, path: factory(tiny_en, 0.6))
    assert _run(fake_gpu / "out") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "GPU self-test failed: the GPU text is truncated" in err and "--device cpu" in err
    assert not (fake_gpu / "out").exists()
    cached = list((fake_gpu / "models" / "transcriber-selftest").glob("*.json"))
    assert len(cached) == 1, "the failure is cached too, so the next run says so at once"


def test_a_passing_gpu_is_tested_once(fake_gpu: Path, tiny_en: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(selftest, "whisper_factory", lambda name, path: factory(tiny_en, None, calls))
    assert _run(fake_gpu / "out") == EXIT_OK
    assert calls == ["cuda", "cpu"]
    assert (fake_gpu / "out" / "meeting.txt").is_file()
    assert _run(fake_gpu / "again") == EXIT_OK
    assert calls == ["cuda", "cpu"], "the cached result is used for the same GPU, driver, image and model"
    monkeypatch.setenv("CT2_CUDA_ALLOCATOR", "cub_caching")
    assert _run(fake_gpu / "third") == EXIT_OK
    assert calls == ["cuda", "cpu"] * 2, "another allocator setting is another configuration, tested anew"


def test_selftest_command_passes_on_cpu(tiny_en: Path, tmp_path: Path) -> None:
    result = run_cli("selftest", "--model", "tiny.en", env={"HF_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PASS") and "CPU" in result.stdout


def test_the_cpu_selftest_fails_on_a_poor_reading(tiny_en: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(selftest, "pick_device", lambda requested: ("cpu", None))
    monkeypatch.setattr(
        selftest, "whisper_factory", lambda name, path: lambda device: FaultyGpu(REAL_FACTORY(name, path)("cpu"), 0.6)
    )
    assert selftest.selftest_command("tiny.en", "cpu", False) == 1
    assert capsys.readouterr().out.startswith("FAIL")
    monkeypatch.setattr(selftest, "whisper_factory", REAL_FACTORY)
    assert selftest.selftest_command("tiny.en", "cpu", False) == 0


def test_selftest_without_a_model_uses_one_on_this_machine(tiny_en: Path, tmp_path: Path) -> None:
    result = run_cli("selftest", "--device", "cpu", env={"HF_HOME": str(tmp_path)})  # offline, nothing cached
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PASS") and "tiny.en on the CPU reads" in result.stdout


def test_a_damaged_model_is_named_not_unexpected(tiny_en: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "tiny-damaged"
    shutil.copytree(tiny_en, damaged)
    with (damaged / "model.bin").open("r+b") as handle:
        handle.truncate(4096)
    result = run_cli("selftest", "--device", "cpu", "--model", str(damaged), env={"HF_HOME": str(tmp_path)})
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert (
        line.startswith(f"error: model {damaged} cannot be loaded (")
        and "cannot be loaded" in line
        and "unexpected" not in line
    )
