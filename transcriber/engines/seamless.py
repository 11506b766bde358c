"""SeamlessM4T v2 as an engine: speech to text in the spoken language, or straight into another one.

Whisper writes the spoken language or English; Seamless writes any of its 96 text languages, which is what
`--translate-to` is for. Only `SeamlessM4Tv2ForSpeechToText` is loaded (speech encoder and text decoder),
not the speech-output half. Seamless has no language identification of its own: with `--language auto`
Whisper tiny names the spoken language per file, and that becomes the target (`tgt_lang`) for plain ASR.
Audio goes in as VAD windows (`windows.plan_windows`) of at most the catalog's window, several per
`generate` call.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.catalog import SEAMLESS_CATALOG, SeamlessInfo, fetch_model, resolve_model
from transcriber.engines.languages import from_seamless, to_seamless
from transcriber.engines.windows import Window, plan_windows
from transcriber.errors import AudioError, ConfigError, ModelNotFoundError
from transcriber.text_guards import collapse_loops
from transcriber.transcript import Segment, Transcript
from transcriber.vram import total_gb, usable_gb, widest_fit

DETECTOR_MODEL = "tiny"
_DEFAULT_WINDOW_SECONDS = 20.0
_TOKENS_PER_SECOND = 8


def plan_precision(info: SeamlessInfo | None, gpu: bool, vram_gb: float) -> str:
    """float32 on the CPU; on a GPU bfloat16 if it fits `vram_gb`, else 8-bit, else 4-bit, else an error."""
    if not gpu:
        return "float32"
    if info is None:
        return "bfloat16"
    precision = widest_fit(((p, info.vram_gb[p]) for p in ("bfloat16", "8bit", "4bit")), vram_gb)
    if precision is not None:
        return precision
    raise ConfigError(
        f"{info.name} needs {info.vram_gb['4bit']} GB even in 4-bit, more than {usable_gb(vram_gb):.1f} GB usable; "
        "use --device cpu or --backend pipeline"
    )


class SeamlessEngine:
    """Loads one SeamlessM4T v2 speech-to-text model and transcribes (or translates) recordings window by window."""

    name = "seamless"

    def __init__(self, model: str, device: str, language: str, translate_to: str, batch_size: int,
                 beam_size: int, vram_gb: float | None = None) -> None:  # fmt: skip
        import torch

        gpu = device != "cpu" and torch.cuda.is_available()
        if device == "cuda" and not gpu:
            raise ConfigError("--device cuda: torch sees no GPU; use --device cpu or install a ROCm/CUDA torch")
        self.device = "cuda" if gpu else "cpu"
        self.info = SEAMLESS_CATALOG.get(model)
        self.precision = plan_precision(self.info, gpu, vram_gb if vram_gb is not None else total_gb(gpu))
        self.model_name, self.batch_size, self.beam_size = model, batch_size, beam_size
        self.window_seconds = self.info.window_seconds if self.info else _DEFAULT_WINDOW_SECONDS
        started = time.perf_counter()
        self._load(self._folder(model))
        self.load_seconds = time.perf_counter() - started
        self.languages = sorted(self.model.generation_config.text_decoder_lang_to_code_id)
        self.source = "" if language == "auto" else self._check(language, "--language")
        self.target = self._check(translate_to, "--translate-to") if translate_to else ""
        self._detector: Any = None

    def _folder(self, model: str) -> Path:
        folder = Path(model).expanduser()
        if folder.is_dir():
            return folder
        if self.info is None:
            raise ModelNotFoundError(
                f"unknown Seamless model {model!r}: use one of {', '.join(SEAMLESS_CATALOG)} or a model folder"
            )
        return fetch_model(model, self.info.repo, patterns=self.info.files)

    def _load(self, folder: Path) -> None:
        import torch
        import transformers

        kwargs: dict[str, Any] = {"dtype": torch.float32 if self.device == "cpu" else torch.bfloat16}
        if self.device == "cuda":
            kwargs["device_map"] = "cuda"
            if self.precision in ("8bit", "4bit"):
                kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
                    load_in_8bit=self.precision == "8bit", load_in_4bit=self.precision == "4bit",
                    bnb_4bit_compute_dtype=torch.bfloat16,
                )  # fmt: skip
        try:
            model = transformers.SeamlessM4Tv2ForSpeechToText.from_pretrained(str(folder), **kwargs)
            self.processor = transformers.AutoProcessor.from_pretrained(str(folder))
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(f"{folder}: not a SeamlessM4T v2 model folder ({exc})") from exc
        self.model = model.eval()
        if not getattr(self.model.generation_config, "text_decoder_lang_to_code_id", None):
            raise ModelNotFoundError(f"{folder}: its generation_config.json lacks text_decoder_lang_to_code_id")

    def _check(self, code: str, where: str) -> str:
        """The Seamless code for `code`, or an error naming the flag and the languages this model writes."""
        seamless = to_seamless(code)
        if seamless not in self.languages:
            raise ConfigError(
                f"{where} {code}: {self.model_name} writes no such language; use one of {', '.join(self.languages)}"
                " (or their two-letter codes)"
            )
        return seamless

    def _detect(self, samples: np.ndarray, source: str) -> str:
        """The spoken language by Whisper tiny's language identification, as a Seamless code."""
        if self._detector is None:
            from faster_whisper import WhisperModel

            try:
                _, path = resolve_model(DETECTOR_MODEL)
            except ModelNotFoundError as exc:
                raise ConfigError(
                    f"--backend seamless with --language auto names the spoken language with Whisper "
                    f"{DETECTOR_MODEL}, which is missing ({exc}); give --language (e.g. --language en)"
                ) from exc
            self._detector = WhisperModel(str(path), device="cpu", compute_type="int8")
        language, _, _ = self._detector.detect_language(samples, vad_filter=True)
        seamless = to_seamless(language)
        if seamless not in self.languages:
            raise AudioError(f"{source}: detected language {language!r} is not one Seamless writes; give --language")
        return seamless

    def _generate(self, pieces: list[np.ndarray], target: str) -> list[str]:
        import torch

        inputs = self.processor(audio=pieces, sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True)
        inputs = {k: v.to(self.model.device) for k, v in inputs.items()}
        if self.device == "cuda":
            inputs["input_features"] = inputs["input_features"].to(torch.bfloat16)
        longest = max(len(p) for p in pieces) / SAMPLE_RATE
        with torch.inference_mode():
            output = self.model.generate(
                **inputs, tgt_lang=target, num_beams=self.beam_size, do_sample=False,
                max_new_tokens=int(longest * _TOKENS_PER_SECOND) + 16,
            )  # fmt: skip
        return [collapse_loops(t.strip()) for t in self.processor.batch_decode(output, skip_special_tokens=True)]

    def _texts(self, samples: np.ndarray, windows: list[Window], target: str) -> list[str]:
        texts: list[str] = []
        for first in range(0, len(windows), self.batch_size):
            group = windows[first : first + self.batch_size]
            texts += self._generate([samples[w.start : w.end] for w in group], target)
        return texts

    def transcribe(self, samples: np.ndarray, source: str) -> Transcript:
        started = time.perf_counter()
        windows = plan_windows(samples, self.window_seconds)
        spoken = self.source or (self._detect(samples, source) if windows else "")
        target = self.target or spoken
        segments: list[Segment] = []
        for window, text in zip(windows, self._texts(samples, windows, target), strict=True):
            if text:
                start, end = window.seconds
                segments.append(Segment(id=len(segments), start=start, end=end, text=text))
        return Transcript(
            source=source,
            duration=len(samples) / SAMPLE_RATE,
            language=from_seamless(target) if target else "",
            model=self.model_name,
            engine=self.name,
            segments=segments,
            timings={"asr_seconds": round(time.perf_counter() - started, 3)},
        )

    def close(self) -> None:
        import gc

        import torch

        del self.model
        self._detector = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
