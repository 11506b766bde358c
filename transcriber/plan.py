"""A run's plan: every choice the settings leave open, resolved once, before the first file.

Which engine and model (and its files' fingerprint), device, compute type and batch size; the cleanup stage
and its LLM; the diarizer; and the hashes that decide what a rerun redoes. `resolve_recognition` makes the
choices that depend on the machine the models run on (on Ray, each worker makes them and the driver checks
that they agree); `resolve_plan` adds the driver's (cleanup, LLM, hashes). Nothing after the plan resolves
again: the stages load exactly what it names, and its header lines say what that is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transcriber.catalog import (
    CATALOG,
    DEFAULT_AUDIO_LLM,
    DEFAULT_LLM,
    DEFAULT_SEAMLESS,
    cached_path,
    resolve_auto_model,
    resolve_model,
)
from transcriber.cleanup.auto import resolve_cleanup
from transcriber.diarize.select import Choice, choose_here
from transcriber.engines.batch_size import resolve_batch_size, seamless_vram_gb, whisper_vram_gb
from transcriber.engines.transformers_asr import is_transformers_asr
from transcriber.errors import ConfigError
from transcriber.extras import require
from transcriber.fingerprint import lexicon_fingerprint, llm_fingerprint, model_fingerprint
from transcriber.settings import Settings, settings_hash
from transcriber.version import __version__

Note = Callable[[str], None]


@dataclass(frozen=True)
class Recognition:
    """What the model stages run, as resolved on the machine that runs them."""

    backend: str
    #: What recognises: "faster-whisper", "transformers" (Parakeet, ... on the pipeline backend), "audio LLM"
    #: or "Seamless".
    engine: str
    model: str
    model_path: Path | None
    model_files: str
    device: str
    compute_type: str
    batch_size: int
    diarizer: Choice | None = None
    voices: str | None = None

    def asr_key(self, settings: Settings) -> dict[str, Any]:
        """The ASR settings hash's input: the settings, plus what else changes the recognised text."""
        key = settings.asr_key(self.model, self.device, self.compute_type, self.batch_size)
        return {**key, "version": __version__, "model_files": self.model_files}

    def raw_key(self, settings: Settings) -> dict[str, Any]:
        """The raw cache's key: the ASR key plus everything that changes who is said to speak when."""
        asr_key = self.asr_key(settings)
        if self.diarizer is None:
            return asr_key
        extra: dict[str, Any] = {"speakers": settings.speakers, "diarizer": self.diarizer.key, "voices": self.voices}
        if settings.min_speakers or settings.max_speakers:  # only then, so existing keys stay as they were
            extra["speaker_range"] = [settings.min_speakers, settings.max_speakers]
        return {**asr_key, **extra}

    def keys(self, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.asr_key(settings), self.raw_key(settings)


def check_language(language: str, model_name: str) -> None:
    """Refuse, before any file, a language an English-only model cannot do (unknown codes are refused earlier,
    as the settings load: `engines.languages.check_language_code`)."""
    if language == "auto":
        return
    info = CATALOG.get(model_name)
    english_only = info.english_only if info else Path(model_name).name.endswith(".en")
    if english_only and language != "en":
        raise ConfigError(f"--language {language}: model {model_name} knows English only; use --language en or auto")


def _local_model(name: str) -> Path | None:
    """The folder an audio LLM or Seamless loads from, if it is on disk (for its fingerprint); never downloads."""
    from transcriber.catalog import AUDIO_LLM_CATALOG, SEAMLESS_CATALOG

    if Path(name).expanduser().is_dir():
        return Path(name).expanduser()
    info = AUDIO_LLM_CATALOG.get(name) or SEAMLESS_CATALOG.get(name)
    repo = info.repo if info else name
    return cached_path(repo) if "/" in repo else None


def _transformers_model(settings: Settings, note: Note) -> tuple[str, Path | None, str, str, int]:
    """An audio LLM or Seamless: (model, folder, device, compute type, batch size) as torch sees this machine."""
    require("multimodal", f"--backend {settings.backend}", "torch", "transformers", "accelerate")
    import torch

    device = "cuda" if settings.device != "cpu" and torch.cuda.is_available() else "cpu"
    if device == "cpu":
        note("torch sees no GPU; the audio LLM runs on the CPU in float32 (slow)")
    default = DEFAULT_AUDIO_LLM if settings.backend == "multimodal" else DEFAULT_SEAMLESS
    model = default if settings.model == "auto" else settings.model
    # The audio LLMs take one window at a time; Seamless batches its windows.
    seamless = settings.backend == "seamless"
    batch = resolve_batch_size(settings.batch_size, device, seamless_vram_gb(model)) if seamless else 1
    return model, _local_model(model), device, "bfloat16" if device == "cuda" else "float32", batch


def _pipeline_model(settings: Settings, note: Note) -> str:
    """`--model`, with auto made concrete where a transformers recogniser wins (`model_choice`); "auto" left
    for the Whisper path's own choice otherwise. On a GPU the choice and its reason are printed."""
    if settings.model != "auto":
        return settings.model
    from transcriber.model_choice import WHISPER, choose_model
    from transcriber.vram import free_gb

    free = None if settings.device == "cpu" else free_gb()
    choice = choose_model(settings.language, free, settings.speakers != "off")
    if free is not None:  # without a GPU auto is the Whisper path's, as it always was
        note(f"--model auto chose {'Whisper' if choice.model == WHISPER else choice.model}: {choice.reason}")
    return choice.model


def _transformers_asr_model(settings: Settings, model: str, note: Note) -> tuple[str, Path | None, str, str, int]:
    """A transformers recogniser (Parakeet, ...): its language checked, its device, precision and batch."""
    require("multimodal", f"--model {model}", "torch", "transformers", "accelerate")
    import torch

    from transcriber.engines import transformers_asr

    transformers_asr.check_language(model, settings.language)
    device = "cuda" if settings.device != "cpu" and torch.cuda.is_available() else "cpu"
    if device == "cpu" and settings.device != "cpu":
        note(f"torch sees no GPU; {model} runs on the CPU in float32")
    batch = resolve_batch_size(settings.batch_size, device, transformers_asr.vram_gb(model))
    return model, transformers_asr.local_folder(model), device, "bfloat16" if device == "cuda" else "float32", batch


def _whisper_model(settings: Settings, model: str, note: Note) -> tuple[str, Path | None, str, str, int]:
    """faster-whisper: (model, folder, device, compute type, batch size) as CTranslate2 sees this machine."""
    from transcriber.engines.faster_whisper import pick_compute_type, pick_device

    device, why = pick_device(settings.device)
    if why:
        note(why)
    compute_type = pick_compute_type(settings.compute_type, device)
    if model == "auto":
        model, path = resolve_auto_model(device, note)
    else:
        model, path = resolve_model(model)
    batch = resolve_batch_size(settings.batch_size, device, whisper_vram_gb(model, path))
    return model, path, device, compute_type, batch


def resolve_recognition(settings: Settings, note: Note) -> Recognition:
    """The engine, model, device, precision, batch size and diarizer this machine would use for `settings`."""
    if settings.translate_to and settings.backend != "seamless":
        raise ConfigError(
            f"--translate-to {settings.translate_to} needs --backend seamless: Whisper and the audio LLMs "
            "write the spoken language"
        )
    engine = {"multimodal": "audio LLM", "seamless": "Seamless"}.get(settings.backend, "faster-whisper")
    if settings.backend in ("multimodal", "seamless"):
        model, path, device, compute_type, batch = _transformers_model(settings, note)
    elif (chosen := _pipeline_model(settings, note)) != "auto" and is_transformers_asr(chosen):
        engine = "transformers"
        model, path, device, compute_type, batch = _transformers_asr_model(settings, chosen, note)
    else:
        model, path, device, compute_type, batch = _whisper_model(settings, chosen, note)
    if settings.backend != "seamless":  # Seamless checks its own languages
        check_language(settings.language, model)
    diarizer, voices = None, None
    if settings.speakers != "off":
        from transcriber.diarize.voices import check_samples, fingerprint

        diarizer = choose_here(settings.diarizer, device)
        note(diarizer.note)
        if settings.voices:
            check_samples(settings.voices)
        voices = fingerprint(settings.voices) if settings.voices else None
    return Recognition(settings.backend, engine, model, path, model_fingerprint(path), device, compute_type, batch,
                       diarizer, voices)  # fmt: skip


@dataclass(frozen=True)
class RunPlan:
    """Everything a run does, decided: the settings (cleanup made concrete), the recognition, the hashes."""

    settings: Settings
    recognition: Recognition
    #: The cleanup LLM's name with `--cleanup llm`, else "".
    llm: str
    asr_key: dict[str, Any] = field(repr=False)
    raw_key: dict[str, Any] = field(repr=False)
    out_key: dict[str, Any] = field(repr=False)

    @property
    def asr_hash(self) -> str:
        return settings_hash(self.asr_key)

    @property
    def raw_hash(self) -> str:
        """The raw cache's hash: ASR plus diarization, as the raw cache holds diarized text."""
        return settings_hash(self.raw_key)

    @property
    def out_hash(self) -> str:
        return settings_hash(self.out_key)

    @property
    def diarize(self) -> bool:
        return self.recognition.diarizer is not None

    def header(self) -> list[str]:
        """The run's first lines: what it will load and what decides whether a result is redone."""
        r, s = self.recognition, self.settings
        files = f", files {r.model_files}" if r.model_files else ""
        cleanup = f"llm {self.llm} ({s.cleanup_mode}, quant {s.llm_quant})" if self.llm else s.cleanup
        speakers = f"{s.speakers} ({r.diarizer.key} on {r.diarizer.device})" if r.diarizer else "off"
        in_order = r.engine == "faster-whisper" and not s.vad and r.batch_size > 1  # no speech regions to batch
        batch = "batch 1 (--no-vad decodes in order)" if in_order else f"batch {r.batch_size}"
        return [
            f"plan: {r.engine} {r.model} on {r.device}, {r.compute_type}, {batch}{files}",
            f"plan: cleanup {cleanup}; speakers {speakers}; settings {self.out_hash}",
        ]


def llm_name(settings: Settings) -> str:
    """The cleanup LLM `--cleanup-model` names ("auto": the default one)."""
    return DEFAULT_LLM if settings.cleanup_model == "auto" else settings.cleanup_model


def require_llm() -> None:
    require("llm", "--cleanup llm", "torch", "transformers", "accelerate")


def resolve_plan(settings: Settings, recognition: Recognition, note: Note) -> RunPlan:
    """The plan for `settings` with the `recognition` the model stages resolved: `--cleanup auto` made concrete,
    the cleanup LLM found (downloaded if need be, so a missing one fails before any file) and every hash."""
    settings = resolve_cleanup(settings, note)
    asr_key, raw_key = recognition.keys(settings)
    out_key = settings.output_key(raw_key)
    out_key["lexicon"] = lexicon_fingerprint()
    llm = ""
    if settings.cleanup == "llm":  # as the ASR model's files are in the raw key: a replaced LLM redoes cleanup
        require_llm()  # before the fingerprint, which may download the model
        llm = llm_name(settings)
        out_key["cleanup_model_files"] = llm_fingerprint(llm)
    return RunPlan(settings, recognition, llm, asr_key, raw_key, out_key)
