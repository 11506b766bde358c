"""Transformers recognisers on the pipeline backend: tiny random-weight Parakeet TDT and CTC, Cohere Transcribe and
Qwen3-ASR models of the real classes through `transcriber run` (real processor, generate, token times, VAD windows,
batching), the language checks, `--model auto`'s rule, and word times through speakers and subtitles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.support.runs import RECORDINGS, load_transcripts, run_cli, write_joined_examples
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.catalog import TRANSFORMERS_ASR_CATALOG
from transcriber.errors import EXIT_USAGE
from transcriber.text_guards import collapse_loops

pytest.importorskip("transformers", reason="these recognisers need transformers (pip install -e '.[multimodal]')")
WINDOW_SECONDS = 30.0  # the engine's window for a model folder outside the catalog


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.support.tiny_asr_models import (
        build_canary,
        build_cohere_asr,
        build_parakeet_ctc,
        build_parakeet_tdt,
        build_qwen3_asr,
    )

    return {
        "tdt": build_parakeet_tdt(tmp_path_factory.mktemp("parakeet-tdt")),
        "ctc": build_parakeet_ctc(tmp_path_factory.mktemp("parakeet-ctc")),
        "cohere": build_cohere_asr(tmp_path_factory.mktemp("cohere")),
        "qwen3": build_qwen3_asr(tmp_path_factory.mktemp("qwen3-asr")),
        "canary": build_canary(tmp_path_factory.mktemp("canary")),
    }


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three examples joined with pauses (about 45 s: two windows), and the first one alone."""
    import soundfile

    folder = tmp_path_factory.mktemp("in")
    paths = write_joined_examples(folder)
    soundfile.write(folder / "short.wav", decode(paths[0]).samples, SAMPLE_RATE)
    return folder


def _direct_texts(folder: Path, kind: str, samples: np.ndarray) -> list[str]:
    """What the model writes for each VAD window, called straight through transformers, one window per call."""
    import torch
    import transformers

    from transcriber.engines.windows import plan_windows

    processor = transformers.AutoProcessor.from_pretrained(str(folder))
    model_class = transformers.ParakeetForTDT if kind == "tdt" else transformers.ParakeetForCTC
    model = model_class.from_pretrained(str(folder)).eval()
    texts = []
    for window in plan_windows(samples, WINDOW_SECONDS):
        inputs = processor(samples[window.start : window.end], sampling_rate=SAMPLE_RATE, return_tensors="pt")
        with torch.inference_mode():
            output = model.generate(**inputs)
        sequences = output.sequences if kind == "tdt" else output
        texts.append(processor.batch_decode(sequences, skip_special_tokens=True)[0])
    return texts


def _words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("kind", ["tdt", "ctc"])
def test_parakeet_runs_through_the_pipeline(
    kind: str, models: dict[str, Path], recordings: Path, tmp_path: Path
) -> None:
    result = run_cli("run", "--input", str(recordings), "--output", str(tmp_path), "--model", str(models[kind]),
                     "--batch-size", "1", "--cleanup", "rules", "--language", "en")  # fmt: skip
    assert result.returncode == 0, result.stderr
    transcripts = load_transcripts(tmp_path)
    assert set(transcripts) == {"long.wav", "short.wav"}
    long = transcripts["long.wav"]
    assert (long["engine"], long["language"], long["settings"]["compute_type"]) == (
        "transformers:parakeet",
        "en",
        "float32",
    )
    samples = decode(recordings / "long.wav").samples
    expected = _direct_texts(models[kind], kind, samples)
    assert len(expected) >= 2, "the 45 s recording should span two 30 s windows"
    assert _words(long["verbatim_text"]) == _words(" ".join(expected))
    # Word times: inside the recording, in order, and each segment's text is its words.
    words = [w for s in long["segments"] for w in s["words"]]
    assert len(words) == len(_words(long["verbatim_text"]))
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and starts[0] >= 0 and words[-1]["end"] <= long["duration"] + 0.1
    assert all(w["end"] >= w["start"] for w in words)
    for segment in long["segments"]:
        assert segment["text"] == "".join(w["text"] for w in segment["words"]).strip()
        assert segment["start"] == segment["words"][0]["start"] and segment["end"] == segment["words"][-1]["end"]
    assert len(long["segments"]) > len(expected), "windows are cut into sentences at pauses and sentence ends"
    srt = (tmp_path / "long.srt").read_text()
    assert srt.count(" --> ") >= len(long["segments"])  # the writer may cut a long segment into cues
    assert (tmp_path / "long.txt").read_text().strip()


def test_batched_windows_write_the_same_text(models: dict[str, Path], recordings: Path, tmp_path: Path) -> None:
    """Padding two windows into one call (with the attention mask) changes nothing a reader sees."""
    outputs = {}
    for size in ("1", "4"):
        out = tmp_path / size
        result = run_cli("run", "--input", str(recordings / "long.wav"), "--output", str(out), "--model",
                         str(models["ctc"]), "--batch-size", size, "--cleanup", "none")  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs[size] = load_transcripts(out)["long.wav"]
    assert outputs["1"]["verbatim_text"] == outputs["4"]["verbatim_text"]
    assert outputs["4"]["settings"]["batch_size"] == 4


def test_speakers_split_at_word_times(models: dict[str, Path], recordings: Path, tmp_path: Path) -> None:
    pytest.importorskip("resemblyzer", reason="the embedding diarizer needs resemblyzer (pip install -e '.[diarize]')")
    result = run_cli("run", "--input", str(recordings / "long.wav"), "--output", str(tmp_path), "--model",
                     str(models["tdt"]), "--speakers", "2", "--diarizer", "embedding", "--cleanup", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = load_transcripts(tmp_path)["long.wav"]
    assert {s["id"] for s in data["speakers"]} <= {"S1", "S2"}
    for segment in data["segments"]:
        assert segment["speaker"] and {w["speaker"] for w in segment["words"]} == {segment["speaker"]}


def test_cohere_writes_a_segment_per_window(models: dict[str, Path], recordings: Path, tmp_path: Path) -> None:
    """A generating decoder without token times: one segment per VAD window, with the window's times."""
    import torch
    import transformers

    from transcriber.engines.windows import plan_windows

    result = run_cli("run", "--input", str(recordings / "long.wav"), "--output", str(tmp_path), "--model",
                     str(models["cohere"]), "--language", "en", "--batch-size", "2", "--cleanup", "rules")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = load_transcripts(tmp_path)["long.wav"]
    assert (data["engine"], data["language"]) == ("transformers:cohere", "en")
    samples = decode(recordings / "long.wav").samples
    windows = plan_windows(samples, WINDOW_SECONDS)
    processor = transformers.AutoProcessor.from_pretrained(str(models["cohere"]))
    model = transformers.CohereAsrForConditionalGeneration.from_pretrained(str(models["cohere"])).eval()
    expected = []
    for window in windows:
        inputs = processor(samples[window.start : window.end], language="en", sampling_rate=SAMPLE_RATE,
                           return_tensors="pt")  # fmt: skip
        inputs.pop("audio_chunk_index", None)
        budget = int((window.end - window.start) / SAMPLE_RATE * 8) + 16
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=budget, do_sample=False)
        text = processor.batch_decode(output[:, inputs["decoder_input_ids"].shape[1] :], skip_special_tokens=True)[0]
        expected.append((round(window.seconds[0], 2), round(window.seconds[1], 2), collapse_loops(text.strip())))
    got = [(round(s["start"], 2), round(s["end"], 2), s["text"]) for s in data["segments"]]
    assert got == [e for e in expected if e[2]] and len(got) >= 2
    assert all(not s["words"] for s in data["segments"])
    assert (tmp_path / "long.srt").read_text().count(" --> ") >= len(got)


@pytest.mark.parametrize("language", ["en", "auto"])
def test_qwen3_asr_writes_a_segment_per_window(
    language: str, models: dict[str, Path], recordings: Path, tmp_path: Path
) -> None:
    """Qwen3-ASR's chat template (the language prefilled in the answer when given, else its own guess parsed off),
    one segment per VAD window."""
    import torch
    import transformers

    from transcriber.engines.windows import plan_windows

    result = run_cli("run", "--input", str(recordings / "long.wav"), "--output", str(tmp_path), "--model",
                     str(models["qwen3"]), "--language", language, "--batch-size", "1",
                     "--cleanup", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = load_transcripts(tmp_path)["long.wav"]
    assert data["engine"] == "transformers:qwen3-asr"
    assert data["language"] == ("en" if language == "en" else "")  # the random model never names one
    samples = decode(recordings / "long.wav").samples
    processor = transformers.AutoProcessor.from_pretrained(str(models["qwen3"]))
    model = transformers.Qwen3ASRForConditionalGeneration.from_pretrained(str(models["qwen3"])).eval()
    expected = []
    for window in plan_windows(samples, WINDOW_SECONDS):
        piece = samples[window.start : window.end]
        inputs = processor.apply_transcription_request(piece, language=None if language == "auto" else language)
        budget = int(len(piece) / SAMPLE_RATE * 8) + 16
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=budget, do_sample=False)
        text = processor.decode(output[0, inputs["input_ids"].shape[1] :], return_format="transcription_only")
        expected.append((round(window.seconds[0], 2), round(window.seconds[1], 2), collapse_loops(text.strip())))
    got = [(round(s["start"], 2), round(s["end"], 2), s["text"]) for s in data["segments"]]
    assert got == [e for e in expected if e[2]] and len(got) >= 2


def test_canary_writes_a_segment_per_window(models: dict[str, Path], recordings: Path, tmp_path: Path) -> None:
    """Canary's chat template (the source and target language, punctuation) through a batched run."""
    import torch
    import transformers

    from transcriber.engines.windows import plan_windows

    result = run_cli("run", "--input", str(recordings / "long.wav"), "--output", str(tmp_path), "--model",
                     str(models["canary"]), "--language", "de", "--batch-size", "2", "--cleanup", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = load_transcripts(tmp_path)["long.wav"]
    assert (data["engine"], data["language"]) == ("transformers:canary", "de")
    samples = decode(recordings / "long.wav").samples
    processor = transformers.AutoProcessor.from_pretrained(str(models["canary"]))
    model = transformers.CanaryForConditionalGeneration.from_pretrained(str(models["canary"])).eval()
    expected = []
    for window in plan_windows(samples, WINDOW_SECONDS):
        piece = samples[window.start : window.end]
        inputs = processor.apply_transcription_request(piece, source_language="de")
        assert processor.tokenizer.convert_tokens_to_ids("<|de|>") in inputs["decoder_input_ids"][0].tolist()
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=int(len(piece) / SAMPLE_RATE * 8) + 16, do_sample=False)
        text = processor.batch_decode(output[:, inputs["decoder_input_ids"].shape[1] :], skip_special_tokens=True)[0]
        expected.append((round(window.seconds[0], 2), round(window.seconds[1], 2), collapse_loops(text.strip())))
    got = [(round(s["start"], 2), round(s["end"], 2), s["text"]) for s in data["segments"]]
    assert got == [e for e in expected if e[2]] and len(got) >= 2


def test_a_prompted_model_needs_a_language(tmp_path: Path, recordings: Path) -> None:
    result = run_cli("run", "--input", str(recordings / "short.wav"), "--output", str(tmp_path), "--model",
                     "cohere-transcribe")  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "--language auto: cohere-transcribe is told the language in its prompt; give --language" in result.stderr


def test_bench_compares_whisper_with_a_transformers_recogniser(models: dict[str, Path], tmp_path: Path) -> None:
    """`transcriber bench --configs` runs both through the run's own engine slot; only Whisper gets the plain
    faster-whisper baseline row (there is no plain faster-whisper of a Parakeet model)."""
    out = tmp_path / "report"
    configs = f"name=whisper,model=tiny.en,cleanup=none; name=parakeet,model={models['tdt']},cleanup=none"
    result = run_cli("bench", "--input", str(RECORDINGS), "--output", str(out), "--quiet", "--configs", configs)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "results.json").read_text())
    assert [row["config"]["name"] for row in data["rows"]] == ["whisper", "parakeet", "faster-whisper plain tiny.en"]
    whisper, parakeet, _ = (row["all"] for row in data["rows"])
    assert whisper["wer"] < 0.5 < parakeet["wer"], "real Whisper and random weights: the scores tell them apart"
    assert parakeet["rtf"] > 0 and "parakeet" in (out / "report.md").read_text()


def test_language_outside_the_models_list_is_a_usage_error(tmp_path: Path, recordings: Path) -> None:
    result = run_cli("run", "--input", str(recordings / "short.wav"), "--output", str(tmp_path), "--model",
                     "parakeet-tdt-0.6b-v2", "--language", "de")  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "--language de: parakeet-tdt-0.6b-v2 does not transcribe it; use one of en" in result.stderr
    assert not list(tmp_path.glob("*.txt"))


def test_catalog_entries_are_complete() -> None:
    from transcriber.engines.transformers_asr import MODEL_TYPES

    families = {family for family, _ in MODEL_TYPES.values()}
    for info in TRANSFORMERS_ASR_CATALOG.values():
        assert info.family in families and info.licence and info.vram_gb > 0 and info.languages
        assert all(re.fullmatch(r"[a-z]{2,3}", code) for code in info.languages)


@pytest.mark.parametrize(
    ("language", "free_gb", "speakers", "expected"),
    [
        ("en", None, False, "auto"),  # no GPU: Whisper on the CPU
        ("auto", 24.0, False, "auto"),  # only Whisper names the spoken language
        ("en", 24.0, False, "granite-speech-4.1-2b"),  # the lowest WER that fits
        ("ko", 24.0, False, "cohere-transcribe"),  # Granite does not cover Korean; Cohere is next
        ("en", 6.0, False, "parakeet-tdt-0.6b-v3"),  # Granite's, Cohere's 5.5 GB > 6.0 x 0.9; v2 has no weights
        ("de", 6.0, False, "parakeet-tdt-0.6b-v3"),  # v2 is English only
        ("bg", 24.0, False, "parakeet-tdt-0.6b-v3"),  # Cohere does not cover it
        ("ta", 24.0, False, "auto"),  # no specialist covers it
        ("de", 2.0, False, "auto"),  # 2.0 GB x 0.9 headroom < 2.0 GB
        ("de", 3.0, False, "parakeet-tdt-0.6b-v3"),  # 2.7 GB usable
        ("de", 3.0, True, "auto"),  # fits alone, not beside the diarizer's 1 GB
        ("de", 4.0, True, "parakeet-tdt-0.6b-v3"),
    ],
)
def test_auto_model_rule(language: str, free_gb: float | None, speakers: bool, expected: str) -> None:
    from transcriber.model_choice import choose_model

    choice = choose_model(language, free_gb, speakers)
    assert choice.model == expected, choice.reason
    assert choice.reason


def test_models_lists_the_transformers_recognisers() -> None:
    result = run_cli("models")
    assert result.returncode == 0, result.stderr
    for name, info in TRANSFORMERS_ASR_CATALOG.items():
        row = rf"asr \(transformers\)\s+{re.escape(name)}\s+{info.params}\s+{info.vram_gb:.1f}"
        assert re.search(row, result.stdout)


def test_a_repo_with_only_a_nemo_checkpoint_says_how_to_convert(tmp_path: Path, recordings: Path) -> None:
    """Parakeet TDT v2's repo holds only NeMo's .nemo file: its copy in the cache has no config.json, and the run
    says what to do instead of failing on a model type it cannot read; auto never picks it."""
    from transcriber.model_choice import ranked

    repo = tmp_path / "hf" / "hub" / "models--nvidia--parakeet-tdt-0.6b-v2"
    (repo / "snapshots" / "c0ffee").mkdir(parents=True)
    (repo / "snapshots" / "c0ffee" / "parakeet-tdt-0.6b-v2.nemo").write_bytes(b"nemo")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("c0ffee")
    result = run_cli("run", "--input", str(recordings / "short.wav"), "--output", str(tmp_path / "out"), "--model",
                     "parakeet-tdt-0.6b-v2", "--language", "en",
                     env={"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "parakeet-tdt-0.6b-v2: nvidia/parakeet-tdt-0.6b-v2 (copy in " in result.stderr
    assert "holds no transformers checkpoint (config.json), only NeMo's .nemo file" in result.stderr
    assert "invoke models --import FOLDER --name parakeet-tdt-0.6b-v2" in result.stderr
    assert not TRANSFORMERS_ASR_CATALOG["parakeet-tdt-0.6b-v2"].transformers_weights
    assert "parakeet-tdt-0.6b-v2" not in [info.name for info in ranked("en")]
