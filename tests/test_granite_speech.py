"""Granite Speech through the transformers engine: a tiny random-weight model of the real classes
(`GraniteSpeechForConditionalGeneration`, `GraniteSpeechProcessor`, Granite's tokenizer with a chat template) run
through `transcriber run` and compared window by window with the model called directly, and the log-mel features
(computed in torch, as the extractor's torchaudio cannot be installed) checked against librosa's."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.support.runs import RECORDINGS, load_transcripts, run_cli, write_joined_examples
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.errors import EXIT_USAGE
from transcriber.text_guards import collapse_loops

pytest.importorskip("transformers", reason="these recognisers need transformers (pip install -e '.[multimodal]')")
WINDOW_SECONDS = 30.0  # the engine's window for a model folder outside the catalog


@pytest.fixture(scope="module")
def granite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_asr_models import build_granite_speech

    return build_granite_speech(tmp_path_factory.mktemp("granite"))


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three examples joined with pauses: about 45 s, two VAD windows."""
    folder = tmp_path_factory.mktemp("in")
    write_joined_examples(folder)
    return folder


def test_features_match_librosa() -> None:
    """The torch log-mel equals librosa's STFT and HTK mel filters (an implementation of its own) on a recording."""
    librosa = pytest.importorskip("librosa", reason="the diarize extra brings librosa (pip install -e '.[diarize]')")
    from transcriber.engines.granite import TorchGraniteFeatures

    samples = decode(RECORDINGS / "meeting.flac").samples
    ours = TorchGraniteFeatures()(samples)["input_features"][0].numpy()
    power = np.abs(librosa.stft(samples, n_fft=512, hop_length=160, win_length=400, window="hann", center=True,
                                pad_mode="reflect")) ** 2  # fmt: skip
    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=512, n_mels=80, htk=True, norm=None) @ power
    logmel = np.log10(np.maximum(mel.T, 1e-10))
    logmel = np.maximum(logmel, logmel.max() - 8.0) / 4 + 1
    expected = logmel[: len(logmel) // 2 * 2].reshape(-1, 160)  # frames stacked in pairs
    assert ours.shape == expected.shape and ours.shape[0] > 500
    assert np.abs(ours - expected).max() < 1e-4


def _audio_tokens(samples: int) -> int:
    """Projector outputs for a recording, from the model card's arithmetic: 10 ms mel frames, stacked in pairs,
    blocks of 15 encoder frames, 3 queries per block."""
    return math.ceil((samples // 160 + 1) // 2 / 15) * 3


def _direct_segments(folder: Path, samples: np.ndarray, language: str) -> list[tuple[float, float, str]]:
    """What the model writes for each VAD window, called directly: the chat template filled by hand, <|audio|>
    repeated once per projector output, one window per generate call, greedy, within the engine's budget."""
    import torch
    import transformers

    from transcriber.engines.granite import TorchGraniteFeatures
    from transcriber.engines.windows import plan_windows

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.GraniteSpeechForConditionalGeneration.from_pretrained(str(folder)).eval()
    extractor = TorchGraniteFeatures.from_pretrained(str(folder))
    named = {"en": "English ", "auto": ""}[language]
    request = f"<|audio|>transcribe the {named}speech with proper punctuation and capitalization."
    segments = []
    for window in plan_windows(samples, WINDOW_SECONDS):
        piece = samples[window.start : window.end]
        count = _audio_tokens(len(piece))
        text = tokenizer.apply_chat_template([{"role": "user", "content": request}], tokenize=False,
                                             add_generation_prompt=True)  # fmt: skip
        ids = tokenizer(text.replace("<|audio|>", "<|audio|>" * count), return_tensors="pt")
        features = extractor(piece)["input_features"]
        budget = int(len(piece) / SAMPLE_RATE * 8) + 16
        with torch.inference_mode():
            output = model.generate(**ids, input_features=features, input_features_mask=torch.ones(1, count,
                                    dtype=torch.bool), max_new_tokens=budget, do_sample=False)  # fmt: skip
        words = tokenizer.decode(output[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        segments.append((round(window.seconds[0], 2), round(window.seconds[1], 2), collapse_loops(words.strip())))
    return [s for s in segments if s[2]]


@pytest.mark.parametrize(("language", "batch_size"), [("en", "1"), ("auto", "2")])
def test_granite_writes_a_segment_per_window(
    language: str, batch_size: str, granite: Path, long_recording: Path, tmp_path: Path
) -> None:
    result = run_cli("run", "--input", str(long_recording), "--output", str(tmp_path), "--model", str(granite),
                     "--language", language, "--batch-size", batch_size, "--cleanup", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = load_transcripts(tmp_path)["long.wav"]
    assert data["engine"] == "transformers:granite"
    assert data["language"] == ("en" if language == "en" else "")
    got = [(round(s["start"], 2), round(s["end"], 2), s["text"]) for s in data["segments"]]
    expected = _direct_segments(granite, decode(long_recording / "long.wav").samples, language)
    assert got == expected and len(got) >= 2
    assert all(not s["words"] for s in data["segments"])
    assert (tmp_path / "long.srt").read_text().count(" --> ") >= len(got)


def test_a_granite_model_with_a_lora_adapter_needs_peft(granite: Path, long_recording: Path, tmp_path: Path) -> None:
    """A 3.3 model's config asks for its LoRA adapter; without peft it would transcribe wrongly, so it is refused."""
    import shutil

    lora = tmp_path / "granite-lora"
    shutil.copytree(granite, lora)
    config = (lora / "config.json").read_text().replace('"has_lora_adapter": false', '"has_lora_adapter": true')
    (lora / "config.json").write_text(config)
    result = run_cli("run", "--input", str(long_recording), "--output", str(tmp_path / "out"), "--model", str(lora),
                     "--language", "en")  # fmt: skip
    assert result.returncode != 0
    assert f"{lora}: this Granite Speech model needs its LoRA adapter" in result.stderr
    assert "pip install peft" in result.stderr


def test_granite_refuses_a_language_it_does_not_transcribe(long_recording: Path, tmp_path: Path) -> None:
    result = run_cli("run", "--input", str(long_recording), "--output", str(tmp_path), "--model",
                     "granite-speech-4.1-2b", "--language", "it")  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "--language it: granite-speech-4.1-2b does not transcribe it; use one of de, en, es, fr, ja, pt" in (
        result.stderr
    )
