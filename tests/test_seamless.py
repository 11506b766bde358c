"""`--backend seamless`: a tiny random-weight SeamlessM4T v2 of the real class through `transcriber run`, in the
spoken language and translated, plus the VRAM plan and the language codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.runs import load_transcripts, run_cli, write_joined_examples
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.catalog import SEAMLESS_CATALOG
from transcriber.errors import EXIT_USAGE, ConfigError

pytest.importorskip("transformers", reason="the Seamless backend needs transformers (pip install -e '.[multimodal]')")


@pytest.fixture(scope="module")
def seamless_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_seamless import build_seamless

    return build_seamless(tmp_path_factory.mktemp("seamless"))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short recording, and the three examples joined (about 45 s, so several windows and one batch)."""
    import soundfile

    folder = tmp_path_factory.mktemp("in")
    paths = write_joined_examples(folder)
    soundfile.write(folder / "short.wav", decode(paths[0]).samples, SAMPLE_RATE)
    return folder


def _expected(model_dir: Path, samples: np.ndarray, tgt_lang: str) -> list[tuple[float, float, str]]:
    """What the model itself writes for the recording's VAD windows, called directly through transformers."""
    import torch
    from transformers import AutoProcessor, SeamlessM4Tv2ForSpeechToText

    from transcriber.engines.seamless import _TOKENS_PER_SECOND
    from transcriber.engines.windows import plan_windows
    from transcriber.text_guards import collapse_loops

    processor = AutoProcessor.from_pretrained(str(model_dir))
    model = SeamlessM4Tv2ForSpeechToText.from_pretrained(str(model_dir)).eval()
    windows = plan_windows(samples, SEAMLESS_CATALOG["seamless-m4t-v2-large"].window_seconds)
    pieces = [samples[w.start : w.end] for w in windows]
    inputs = processor(audio=pieces, sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True)
    budget = int(max(len(p) for p in pieces) / SAMPLE_RATE * _TOKENS_PER_SECOND) + 16
    with torch.inference_mode():
        output = model.generate(**inputs, tgt_lang=tgt_lang, num_beams=5, do_sample=False, max_new_tokens=budget)
    texts = [collapse_loops(t.strip()) for t in processor.batch_decode(output, skip_special_tokens=True)]
    return [(*w.seconds, t) for w, t in zip(windows, texts, strict=True)]


def _segments(data: dict) -> list[tuple[float, float, str]]:
    return [(round(s["start"], 2), round(s["end"], 2), s["text"]) for s in data["segments"]]


def _rounded(expected: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    return [(round(start, 2), round(end, 2), text) for start, end, text in expected]


def test_seamless_transcribes_in_the_spoken_language(seamless_model: Path, recordings: Path, tmp_path: Path) -> None:
    result = run_cli("run", "--input", str(recordings), "--output", str(tmp_path), "--backend", "seamless",
                     "--model", str(seamless_model), "--language", "en", "--cleanup", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    transcripts = load_transcripts(tmp_path)
    assert set(transcripts) == {"long.wav", "short.wav"}
    long = transcripts["long.wav"]
    assert (long["engine"], long["language"], long["settings"]["backend"]) == ("seamless", "en", "seamless")
    assert len(long["segments"]) >= 2, "the 45 s recording should span several windows"
    samples = decode(recordings / "long.wav").samples
    assert _segments(long) == _rounded(_expected(seamless_model, samples, "eng"))
    assert (tmp_path / "long.txt").read_text().strip()


def test_translate_to_writes_the_target_language(seamless_model: Path, recordings: Path, tmp_path: Path) -> None:
    result = run_cli("run", "--input", str(recordings / "short.wav"), "--output", str(tmp_path), "--backend",
                     "seamless", "--model", str(seamless_model), "--language", "en", "--translate-to", "de",
                     "--cleanup", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = load_transcripts(tmp_path)["short.wav"]
    assert (data["language"], data["settings"]["translate_to"]) == ("de", "de")
    samples = decode(recordings / "short.wav").samples
    german, english = _expected(seamless_model, samples, "deu"), _expected(seamless_model, samples, "eng")
    assert _segments(data) == _rounded(german)
    assert german != english, "the target language token must change what the decoder writes"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--backend", "seamless", "--translate-to", "ja"), "--translate-to ja: "),
        (("--translate-to", "de"), "--translate-to de needs --backend seamless"),
    ],
)
def test_unusable_target_language_is_a_usage_error(
    seamless_model: Path, recordings: Path, tmp_path: Path, flags: tuple[str, ...], message: str
) -> None:
    result = run_cli("run", "--input", str(recordings / "short.wav"), "--output", str(tmp_path), "--model",
                     str(seamless_model), "--language", "en", *flags)  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stderr
    assert message in result.stderr
    if "ja" in flags:
        assert "deu, eng, fra, spa" in result.stderr
    assert not list(tmp_path.glob("*.txt"))


@pytest.mark.parametrize(("vram", "expected"), [(12, "bfloat16"), (3, "8bit"), (2, "4bit")])
def test_vram_plan(vram: float, expected: str) -> None:
    from transcriber.engines.seamless import plan_precision

    assert plan_precision(SEAMLESS_CATALOG["seamless-m4t-v2-large"], True, vram) == expected
    assert plan_precision(SEAMLESS_CATALOG["seamless-m4t-v2-large"], False, vram) == "float32"


def test_a_card_too_small_is_told_so() -> None:
    from transcriber.engines.seamless import plan_precision

    with pytest.raises(ConfigError, match="4-bit"):
        plan_precision(SEAMLESS_CATALOG["seamless-m4t-v2-large"], True, 1.0)


def test_language_codes() -> None:
    from transcriber.engines.languages import from_seamless, to_seamless

    assert [to_seamless(c) for c in ("de", "EN", "zh", "deu", "cmn_Hant")] == ["deu", "eng", "cmn", "deu", "cmn_Hant"]
    assert [from_seamless(c) for c in ("deu", "arb", "cmn_Hant")] == ["de", "ar", "cmn_Hant"]
