"""Speech recognisers run through transformers on the pipeline backend: Parakeet TDT and CTC, Canary, Cohere
Transcribe, Qwen3-ASR, Granite Speech.

The catalog entry (`TRANSFORMERS_ASR_CATALOG`), or for a model folder its config's `model_type`, picks the
family; the rest is shared: the recording is cut into VAD windows (`windows.plan_windows`, the Silero VAD
the pipeline uses) of at most the entry's `window_seconds`, `batch_size` windows go through the model per
call (padded, with an attention mask), and each window's text passes the loop guard. Where the decoder says
which encoder frames each token came from (TDT's durations, CTC's per-frame tokens) words get times and a
window is cut into sentences (`token_words`); a decoder without token times gives one segment per window.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.catalog import MODEL_TYPES, TRANSFORMERS_ASR_CATALOG, TransformersAsrInfo, cached_path, fetch_model
from transcriber.engines.token_words import ctc_spans, sentences, tdt_spans, words_from_spans
from transcriber.engines.windows import plan_windows
from transcriber.errors import AudioError, ConfigError, ModelNotFoundError
from transcriber.text_guards import collapse_loops, has_loop
from transcriber.transcript import Segment, Transcript

#: Families that generate text without token times: one segment per VAD window.
GENERATING = {"cohere", "qwen3-asr", "canary", "granite"}
#: Families whose decoder prompt names the language: they cannot take `--language auto`.
LANGUAGE_PROMPTED = {"cohere", "canary"}
_DEFAULT_WINDOW_SECONDS = 30.0
#: The token budget of a generating decoder: speech runs at about 3 words (4-5 tokens) a second.
_TOKENS_PER_SECOND = 8


class RecognitionError(AudioError):
    """The model failed on one recording (out of memory, a processor error); the batch goes on."""


def model_type(folder: Path) -> str | None:
    """The `model_type` in a folder's config.json, or None when it has none (a Whisper folder, say)."""
    config = folder / "config.json"
    if not config.is_file():
        return None
    try:
        return str(json.loads(config.read_text(encoding="utf-8")).get("model_type", "")) or None
    except (OSError, ValueError):
        return None


def is_transformers_asr(model: str) -> bool:
    """Whether `--model` names a catalog recogniser of this engine, or a folder holding one."""
    if model in TRANSFORMERS_ASR_CATALOG:
        return True
    folder = Path(model).expanduser()
    return folder.is_dir() and model_type(folder) in MODEL_TYPES


def local_folder(model: str) -> Path | None:
    """The folder the model loads from, if it is on disk already (for the settings fingerprint); never downloads."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        return folder
    info = TRANSFORMERS_ASR_CATALOG[model]
    return cached_path(info.repo, info.files)


def no_transformers_weights(name: str, repo: str, folder: Path) -> str:
    """What to do when a catalog repo's copy has no config.json: it holds only NeMo's checkpoint."""
    return (
        f"{name}: {repo} (copy in {folder}) holds no transformers checkpoint (config.json), only NeMo's .nemo file: "
        "convert it with the NeMo conversion script in transformers' source for its family (models/parakeet, "
        f"models/canary) and pass the folder as --model, or put it in the cache: invoke models --import FOLDER "
        f"--name {name}"
    )


def check_language(model: str, language: str) -> None:
    """Refuse, before anything loads, a `--language` the catalog model does not write."""
    info = TRANSFORMERS_ASR_CATALOG.get(model)
    if info is not None and language == "auto" and info.family in LANGUAGE_PROMPTED:
        raise ConfigError(
            f"--language auto: {model} is told the language in its prompt; give --language, one of "
            f"{', '.join(info.languages)}"
        )
    if info is None or language == "auto" or language in info.languages:
        return
    raise ConfigError(
        f"--language {language}: {model} does not transcribe it; use one of {', '.join(info.languages)}, "
        "or a Whisper model (--model large-v3-turbo)"
    )


def vram_gb(model: str) -> float:
    """The catalog's bf16 estimate; a model folder is taken to be the size of the largest entry."""
    info = TRANSFORMERS_ASR_CATALOG.get(model)
    return info.vram_gb if info else max(m.vram_gb for m in TRANSFORMERS_ASR_CATALOG.values())


class TransformersAsrEngine:
    """Loads one transformers recogniser and transcribes recordings window by window, `batch_size` at a time."""

    def __init__(self, model: str, device: str, language: str, batch_size: int) -> None:
        import torch

        gpu = device != "cpu" and torch.cuda.is_available()
        if device == "cuda" and not gpu:
            raise ConfigError("--device cuda: torch sees no GPU; use --device cpu or install a ROCm/CUDA torch")
        self.device = "cuda" if gpu else "cpu"
        self.info: TransformersAsrInfo | None = TRANSFORMERS_ASR_CATALOG.get(model)
        self.model_name, self.language, self.batch_size = model, language, batch_size
        self.window_seconds = self.info.window_seconds if self.info else _DEFAULT_WINDOW_SECONDS
        folder = Path(model).expanduser()
        if not folder.is_dir():
            if self.info is None:
                raise ModelNotFoundError(
                    f"unknown model {model!r}: use one of {', '.join(TRANSFORMERS_ASR_CATALOG)} or a model folder"
                )
            folder = fetch_model(model, self.info.repo, patterns=self.info.files)
        kind = model_type(folder)
        if kind is None and self.info is not None:  # the repo's NeMo checkpoint is not what transformers reads
            raise ModelNotFoundError(no_transformers_weights(model, self.info.repo, folder))
        if kind not in MODEL_TYPES:
            raise ModelNotFoundError(
                f"{folder}: model type {kind!r} is not a recogniser this engine drives; use one of "
                f"{', '.join(TRANSFORMERS_ASR_CATALOG)}"
            )
        self.family, class_name = MODEL_TYPES[kind]
        self.kind = kind
        self.name = f"transformers:{self.family}"
        self._load(folder, class_name)

    def _load(self, folder: Path, class_name: str) -> None:
        import torch
        import transformers

        self.dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        kwargs: dict[str, Any] = {"dtype": self.dtype}
        if self.device == "cuda":
            kwargs["device_map"] = "cuda"
        try:
            self.model = getattr(transformers, class_name).from_pretrained(str(folder), **kwargs).eval()
            if self.family == "granite":  # its own processor, over features computed without torchaudio
                from transcriber.engines.granite import load_processor

                self.processor = load_processor(folder)
            else:
                self.processor = transformers.AutoProcessor.from_pretrained(str(folder))
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(f"{folder}: cannot load the {self.family} model: {exc}") from exc
        if self.family == "granite" and self.model.config.has_lora_adapter and not self.model._hf_peft_config_loaded:
            raise ModelNotFoundError(f"{folder}: this Granite Speech model needs its LoRA adapter, which loads only "
                                     "with peft installed (pip install peft); the 4.x models have none")  # fmt: skip
        if self.family in LANGUAGE_PROMPTED and self.language == "auto":
            raise ConfigError(f"--language auto: {self.model_name} is told the language in its prompt; give --language")
        if self.family == "parakeet":  # the seconds per encoder frame, which token times count in
            extractor = self.processor.feature_extractor
            subsampling = self.model.config.encoder_config.subsampling_factor
            self.frame_seconds = extractor.hop_length / extractor.sampling_rate * subsampling

    def _features(self, pieces: list[np.ndarray]) -> dict[str, Any]:
        if self.family == "qwen3-asr":  # its chat template; a given language is prefilled in the answer
            language = None if self.language == "auto" else self.language
            inputs = self.processor.apply_transcription_request(list(pieces), language=language)
        elif self.family == "canary":  # its chat template: the language spoken and written, with punctuation
            inputs = self.processor.apply_transcription_request(list(pieces), source_language=self.language)
        elif self.family == "granite":  # its chat template around <|audio|>, which the processor repeats per frame
            from transcriber.engines.granite import prompt

            text = prompt(self.processor.tokenizer, self.language)
            inputs = self.processor(text=[text] * len(pieces), audio=list(pieces), return_tensors="pt")
        else:
            extra = {"language": self.language} if self.family == "cohere" else {}
            inputs = self.processor(pieces, sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True, **extra)
        inputs = {k: v.to(self.model.device) for k, v in inputs.items() if hasattr(v, "to")}  # not the chunk index
        inputs["input_features"] = inputs["input_features"].to(self.dtype)
        return inputs

    def _segments(self, pieces: list[np.ndarray], offsets: list[float]) -> list[list[Segment]]:
        """Each window's segments, in seconds from the recording's start: sentences with word times where the
        decoder gives token frames, else the window as one segment."""
        import torch

        if self.family in GENERATING:
            texts = self._texts(pieces)
            return [
                [Segment(0, offset, offset + len(piece) / SAMPLE_RATE, text)] if text else []
                for piece, offset, text in zip(pieces, offsets, texts, strict=True)
            ]
        tokenizer = self.processor.tokenizer
        config = self.model.config
        with torch.inference_mode():
            if self.kind == "parakeet_ctc":
                frames = self.model.generate(**self._features(pieces))
                spans = [ctc_spans(row.tolist(), config.pad_token_id) for row in frames]
            else:
                output = self.model.generate(**self._features(pieces), return_dict_in_generate=True)
                skip = {config.blank_token_id, config.pad_token_id}
                spans = [tdt_spans(ids.tolist(), durations.tolist(), skip)
                         for ids, durations in zip(output.sequences, output.durations, strict=True)]  # fmt: skip
        results = []
        for window_spans, offset in zip(spans, offsets, strict=True):
            words = words_from_spans(tokenizer, window_spans, self.frame_seconds, offset)
            results.append(sentences(words))
        return results

    def _texts(self, pieces: list[np.ndarray]) -> list[str]:
        """A generating decoder's text per window, greedy, each within a budget for its length."""
        import torch

        inputs = self._features(pieces)
        key = "decoder_input_ids" if "decoder_input_ids" in inputs else "input_ids"  # Cohere's, or Qwen's chat
        prompt = inputs[key].shape[1]
        budgets = [int(len(p) / SAMPLE_RATE * _TOKENS_PER_SECOND) + 16 for p in pieces]
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=max(budgets), do_sample=False, num_beams=1)
        # generate() puts the decoder start before a decoder prompt that lacks it: the new tokens begin after both.
        prompt += int(output[0, 0] != inputs[key][0, 0])
        # Each window kept to its own budget, so its text does not depend on the windows batched with it.
        rows = [row[prompt : prompt + budget] for row, budget in zip(output, budgets, strict=True)]
        if self.family == "qwen3-asr":  # "language English<asr_text>..." when it named the language itself
            parsed = [self.processor.decode(row, return_format="parsed") for row in rows]
            self._heard += [p["language"] for p in parsed if p.get("language")]
            texts = [p["transcription"] for p in parsed]
        else:
            texts = self.processor.batch_decode(rows, skip_special_tokens=True)
        return [collapse_loops(text.strip()) for text in texts]

    def transcribe(self, samples: np.ndarray, source: str) -> Transcript:
        started = time.perf_counter()
        self._heard: list[str] = []  # languages a model named itself, window by window (Qwen3-ASR)
        windows = plan_windows(samples, self.window_seconds)
        segments: list[Segment] = []
        warnings: list[str] = []
        for first in range(0, len(windows), self.batch_size):
            group = windows[first : first + self.batch_size]
            try:
                found = self._segments([samples[w.start : w.end] for w in group], [w.seconds[0] for w in group])
            except (RuntimeError, ValueError, IndexError) as exc:  # torch raises OOM as RuntimeError
                start, end = group[0].seconds[0], group[-1].seconds[1]
                raise RecognitionError(
                    f"{source}: {self.model_name} failed on {start:.1f}-{end:.1f} s ({type(exc).__name__}: {exc}); "
                    "the other files go on. Out of memory: --batch-size 1, or a smaller --model"
                ) from exc
            for window, window_segments in zip(group, found, strict=True):
                text = " ".join(s.text for s in window_segments)
                if has_loop(text):  # a transducer stuck on one token: keep the text, collapsed, without word times
                    start, end = window.seconds
                    window_segments = [Segment(0, start, end, collapse_loops(text))]
                    warnings.append(f"window {start:.1f}-{end:.1f} s: repetition loop collapsed")
                segments += window_segments
        for number, segment in enumerate(segments):
            segment.id = number
        return Transcript(
            source=source,
            duration=len(samples) / SAMPLE_RATE,
            language=self._language(),
            model=self.model_name,
            engine=self.name,
            segments=segments,
            timings={"asr_seconds": round(time.perf_counter() - started, 3)},
            warnings=warnings,
        )

    def _language(self) -> str:
        """The language given, the model's only one, or the one it named most often; "" when it did not say."""
        if self.language != "auto":
            return self.language
        if self.info and len(self.info.languages) == 1:
            return self.info.languages[0]
        if not self._heard:
            return ""
        from transformers.models.qwen3_asr.processing_qwen3_asr import LANGUAGE_CODE_TO_NAME

        codes = {name.lower(): code for code, name in LANGUAGE_CODE_TO_NAME.items()}
        most = max(set(self._heard), key=self._heard.count)
        return codes.get(most.lower(), "")

    def close(self) -> None:
        import gc

        import torch

        del self.model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
