"""A batch: plan what needs doing, transcribe, clean, write, record, and account for every file.

One file's way: content hash -> manifest says done? skip -> raw cache hit? else decode + ASR -> cleanup ->
writers (atomic) -> manifest entry. A file that fails is reported by name and the batch goes on; the
model is loaded only when some file really needs speech recognition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transcriber.cleanup import apply_cleanup
from transcriber.discovery import AUDIO_EXTENSIONS, Recording, discover
from transcriber.engines.base import Engine
from transcriber.engines.batching import resolve_batch_size, seamless_vram_gb, whisper_vram_gb
from transcriber.errors import EXIT_FILES_FAILED, EXIT_INTERRUPTED, EXIT_OK, AudioError, ConfigError
from transcriber.extras import require
from transcriber.models import DEFAULT_AUDIO_LLM, DEFAULT_LLM, DEFAULT_SEAMLESS, resolve_model
from transcriber.prefetch import Prefetcher
from transcriber.progress import Reporter
from transcriber.settings import AUTO_MODEL, Settings, settings_hash
from transcriber.state import Manifest, OutputLock, RawCache, content_hash
from transcriber.transcript import Transcript
from transcriber.writers import VerbatimWriter, get_writer, sweep_temp_files, write_atomic

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner, LlmStats


@dataclass
class Summary:
    """Counts and times for the closing lines and the exit code."""

    done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False
    llm: LlmStats | None = None

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio transcribed in this run (lower is faster)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FILES_FAILED if self.failed else EXIT_OK

    def render(self) -> str:
        state = "interrupted" if self.interrupted else "finished"
        speed = f", real-time factor {self.real_time_factor:.3f}" if self.audio_seconds else ""
        line = (
            f"{state}: {self.done} done, {self.skipped} skipped, {len(self.failed)} failed; "
            f"{self.audio_seconds / 3600:.3f} h audio in {self.wall_seconds:.1f} s{speed}"
        )
        if self.llm is not None:
            line += (
                f"\nllm cleanup: {self.llm.chunks} chunks, {self.llm.fallbacks} fell back to the rules output, "
                f"{self.llm.tokens_per_second:.1f} tokens/s"
            )
        return line


class _EngineSlot:
    """Resolves the model up front (so the settings hash is known) and loads it on first use."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        if settings.translate_to and settings.backend != "seamless":
            raise ConfigError(
                f"--translate-to {settings.translate_to} needs --backend seamless: Whisper and the audio LLMs "
                "write the spoken language"
            )
        if settings.backend in ("multimodal", "seamless"):
            require("multimodal", f"--backend {settings.backend}", "torch", "transformers", "accelerate")
            import torch

            self.device = "cuda" if settings.device != "cpu" and torch.cuda.is_available() else "cpu"
            if self.device == "cpu":
                reporter.note("torch sees no GPU; the audio LLM runs on the CPU in float32 (slow)")
            self.compute_type = "bfloat16" if self.device == "cuda" else "float32"
            default = DEFAULT_AUDIO_LLM if settings.backend == "multimodal" else DEFAULT_SEAMLESS
            self.model_name = default if settings.model == "auto" else settings.model
            # The audio LLMs take one window at a time; Seamless batches its windows.
            seamless = settings.backend == "seamless"
            vram = seamless_vram_gb(self.model_name)
            self.batch_size = resolve_batch_size(settings.batch_size, self.device, vram) if seamless else 1
            return
        from transcriber.engines.faster_whisper import pick_compute_type, pick_device

        self.device, note = pick_device(settings.device)
        if note:
            reporter.note(note)
        self.compute_type = pick_compute_type(settings.compute_type, self.device)
        self.model_name = AUTO_MODEL[self.device] if settings.model == "auto" else settings.model
        self.model_name, self.model_path = resolve_model(self.model_name)
        vram = whisper_vram_gb(self.model_name, self.model_path)
        self.batch_size = resolve_batch_size(settings.batch_size, self.device, vram)

    def get(self) -> Engine:
        if self._engine is None:
            builders = {"multimodal": self._multimodal, "seamless": self._seamless}
            self._engine = builders.get(self.settings.backend, self._whisper)()
        return self._engine

    def _multimodal(self) -> Engine:
        from transcriber.engines.audio_llm import AudioLlmEngine

        s = self.settings
        return AudioLlmEngine(self.model_name, self.device, s.language, s.multimodal_verbatim, s.vram)

    def _seamless(self) -> Engine:
        from transcriber.engines.seamless import SeamlessEngine

        s = self.settings
        return SeamlessEngine(self.model_name, self.device, s.language, s.translate_to, self.batch_size, s.beam_size,
                              s.vram)  # fmt: skip

    def _whisper(self) -> Engine:
        from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions

        options = WhisperOptions(
            language=None if self.settings.language == "auto" else self.settings.language,
            beam_size=self.settings.beam_size,
            batch_size=self.batch_size,
            vad=self.settings.vad,
        )
        try:
            return FasterWhisperEngine(self.model_path, self.model_name, self.device, self.compute_type, options)
        except ValueError as exc:  # CTranslate2 says so for an unsupported compute type on this device
            raise ConfigError(f"--compute-type {self.compute_type} on {self.device}: {exc}") from exc

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def output_names(recording: Recording, formats: tuple[str, ...]) -> list[str]:
    """Output file names relative to the output folder, the verbatim text last."""
    stem = recording.output_stem.as_posix()
    return [f"{stem}.{fmt}" for fmt in formats] + [f"{stem}.{VerbatimWriter.extension}"]


def _write_outputs(transcript: Transcript, recording: Recording, settings: Settings) -> list[str]:
    names = output_names(recording, settings.formats)
    writers = [get_writer(fmt) for fmt in settings.formats] + [VerbatimWriter()]
    for name, writer in zip(names, writers, strict=True):
        write_atomic(settings.output / name, writer.render(transcript))
    return names


@dataclass
class _Pending:
    """A file whose verbatim transcript is ready and whose cleanup and outputs are still to do."""

    index: int
    recording: Recording
    digest: str
    transcript: Transcript


class _Batch:
    """The state one run shares across its two stages: speech recognition, then cleanup and writing."""

    def __init__(self, settings: Settings, reporter: Reporter, slot: _EngineSlot) -> None:
        self.settings, self.reporter, self.slot = settings, reporter, slot
        asr_key = settings.asr_key(slot.model_name, slot.device, slot.compute_type, slot.batch_size)
        self.asr_hash, self.out_key = settings_hash(asr_key), settings.output_key(asr_key)
        self.out_hash = settings_hash(self.out_key)
        self.manifest, self.cache = Manifest(settings.output), RawCache(settings.output)
        self.summary = Summary()
        self.prefetch = Prefetcher()

    def _failed(self, recording: Recording, message: str) -> None:
        self.summary.failed.append(recording.relative.as_posix())
        self.reporter.error(message)
        self.reporter.advance(0.0)

    def recognise(self, index: int, recording: Recording, following: Recording | None = None) -> _Pending | None:
        """Stage one for a file: skip it if done, else take its raw transcript from the cache or the engine.
        While the engine works, `following` is decoded in the background (`transcriber.prefetch`)."""
        name = recording.relative.as_posix()
        try:
            digest = content_hash(recording.path) if recording.path.is_file() else ""
            if not self.settings.force and self.manifest.is_done(name, digest, self.out_hash, self.settings.output):
                self.summary.skipped += 1
                self.reporter.advance(0.0)
                return None
            transcript = self.cache.get(digest, self.asr_hash) if digest else None
            if transcript is None:
                self.reporter.step(index, name, "transcribing")
                audio = self.prefetch.decode(recording.path)
                if following is not None:
                    self.prefetch.ahead(following.path)
                transcript = self.slot.get().transcribe(audio.samples, source=name)
                transcript.warnings = [*audio.warnings, *transcript.warnings]
                self.cache.put(digest, self.asr_hash, transcript)
        except AudioError as exc:
            self._failed(recording, str(exc))
            return None
        except OSError as exc:
            self._failed(recording, f"{recording.path}: {exc.strerror or exc}; check the file and its permissions")
            return None
        for warning in transcript.warnings:
            self.reporter.note(f"warning: {name}: {warning}")
        return _Pending(index, recording, digest, transcript)

    def finish(self, item: _Pending, llm: LlmCleaner | None) -> None:
        """Stage two for a file: clean, write every format atomically, record it in the manifest."""
        name, transcript = item.recording.relative.as_posix(), item.transcript
        try:
            if llm is not None:
                self.reporter.step(item.index, name, "cleaning")
            apply_cleanup(transcript, self.settings.cleanup, llm)
            transcript.settings = self.out_key
            outputs = _write_outputs(transcript, item.recording, self.settings)
            self.manifest.record(name, item.digest, self.out_hash, outputs)
        except OSError as exc:
            self._failed(item.recording, f"{self.settings.output}: {exc.strerror or exc}; check the output folder")
            return
        self.summary.done += 1
        self.summary.audio_seconds += transcript.duration
        self.reporter.advance(transcript.duration)


def _load_llm(settings: Settings, device: str) -> LlmCleaner:
    require("llm", "--cleanup llm", "torch", "transformers", "accelerate")
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions

    model = DEFAULT_LLM[device] if settings.cleanup_model == "auto" else settings.cleanup_model
    return LlmCleaner(LlmOptions(model, settings.cleanup_mode, settings.llm_quant, settings.device))


def run_batch(settings: Settings, reporter: Reporter) -> Summary:
    """Run the whole batch under the output lock; never raises for a single bad file.

    With an LLM cleanup the stages run one after the other over all files (all speech recognition, the
    ASR model freed, then all cleanup), so the GPU holds one model at a time; otherwise each file is
    finished as soon as it is recognised, so outputs appear as the batch goes.
    """
    started = time.perf_counter()
    recordings = discover(settings.input, settings.output)
    if not recordings:
        raise ConfigError(
            f"no recordings found under {settings.input}: looked for {', '.join(sorted(AUDIO_EXTENSIONS))} "
            "(hidden files and folders are skipped)"
        )
    settings.output.mkdir(parents=True, exist_ok=True)
    staged = settings.cleanup == "llm"
    with OutputLock(settings.output):
        sweep_temp_files(settings.output)
        slot = _EngineSlot(settings, reporter)
        batch = _Batch(settings, reporter, slot)
        reporter.start(len(recordings))
        llm: LlmCleaner | None = None
        try:
            pending = []
            for index, recording in enumerate(recordings, start=1):
                item = batch.recognise(index, recording, recordings[index] if index < len(recordings) else None)
                if item is not None and staged:
                    pending.append(item)
                elif item is not None:
                    batch.finish(item, None)
            slot.close()
            if pending:
                llm = _load_llm(settings, slot.device)
                for item in pending:
                    batch.finish(item, llm)
                batch.summary.llm = llm.stats
        except KeyboardInterrupt:
            batch.summary.interrupted = True
        finally:
            batch.prefetch.close()
            slot.close()
            if llm is not None:
                llm.close()
            reporter.close()
    batch.summary.wall_seconds = time.perf_counter() - started
    return batch.summary
