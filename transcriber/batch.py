"""A batch: plan what needs doing, transcribe, clean, write, record, and account for every file.

One file's way: content hash -> manifest says done? skip -> raw cache hit? else decode + ASR -> cleanup ->
writers (atomic) -> manifest entry. A file that fails is reported by name and the batch goes on; the
model is loaded only when some file really needs speech recognition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from transcriber.audio import decode
from transcriber.cleanup import apply_cleanup
from transcriber.discovery import AUDIO_EXTENSIONS, Recording, discover
from transcriber.engines.base import Engine
from transcriber.errors import EXIT_FILES_FAILED, EXIT_INTERRUPTED, EXIT_OK, ConfigError, TranscriberError
from transcriber.models import resolve_model
from transcriber.progress import Reporter
from transcriber.settings import AUTO_MODEL, Settings, settings_hash
from transcriber.state import Manifest, OutputLock, RawCache, content_hash
from transcriber.transcript import Transcript
from transcriber.writers import VerbatimWriter, get_writer, sweep_temp_files, write_atomic


@dataclass
class Summary:
    """Counts and times for the closing lines and the exit code."""

    done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False

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
        return (
            f"{state}: {self.done} done, {self.skipped} skipped, {len(self.failed)} failed; "
            f"{self.audio_seconds / 3600:.3f} h audio in {self.wall_seconds:.1f} s{speed}"
        )


class _EngineSlot:
    """Resolves the model up front (so the settings hash is known) and loads it on first use."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        from transcriber.engines.faster_whisper import pick_compute_type, pick_device

        self.settings = settings
        self.device, note = pick_device(settings.device)
        if note:
            reporter.note(note)
        self.compute_type = pick_compute_type(settings.compute_type, self.device)
        self.model_name = AUTO_MODEL[self.device] if settings.model == "auto" else settings.model
        self.model_name, self.model_path = resolve_model(self.model_name)
        self._engine: Engine | None = None

    def get(self) -> Engine:
        if self._engine is None:
            from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions

            options = WhisperOptions(
                language=None if self.settings.language == "auto" else self.settings.language,
                beam_size=self.settings.beam_size,
                batch_size=self.settings.batch_size,
                vad=self.settings.vad,
            )
            try:
                self._engine = FasterWhisperEngine(
                    self.model_path, self.model_name, self.device, self.compute_type, options
                )
            except ValueError as exc:  # CTranslate2 says so for an unsupported compute type on this device
                raise ConfigError(f"--compute-type {self.compute_type} on {self.device}: {exc}") from exc
        return self._engine

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


def run_batch(settings: Settings, reporter: Reporter) -> Summary:
    """Run the whole batch under the output lock; never raises for a single bad file."""
    started = time.perf_counter()
    recordings = discover(settings.input, settings.output)
    if not recordings:
        raise ConfigError(
            f"no recordings found under {settings.input}: looked for {', '.join(sorted(AUDIO_EXTENSIONS))} "
            "(hidden files and folders are skipped)"
        )
    summary = Summary()
    settings.output.mkdir(parents=True, exist_ok=True)
    with OutputLock(settings.output):
        sweep_temp_files(settings.output)
        slot = _EngineSlot(settings, reporter)
        asr_key = settings.asr_key(slot.model_name, slot.device, slot.compute_type)
        asr_hash, out_key = settings_hash(asr_key), settings.output_key(asr_key)
        out_hash = settings_hash(out_key)
        manifest, cache = Manifest(settings.output), RawCache(settings.output)
        reporter.start(len(recordings))
        try:
            for index, recording in enumerate(recordings, start=1):
                name = recording.relative.as_posix()
                try:
                    digest = content_hash(recording.path) if recording.path.is_file() else ""
                    if not settings.force and manifest.is_done(name, digest, out_hash, settings.output):
                        summary.skipped += 1
                        reporter.advance(0.0)
                        continue
                    transcript = cache.get(digest, asr_hash) if digest else None
                    if transcript is None:
                        reporter.step(index, name, "transcribing")
                        audio = decode(recording.path)
                        transcript = slot.get().transcribe(audio.samples, source=name)
                        transcript.warnings = audio.warnings
                        cache.put(digest, asr_hash, transcript)
                    for warning in transcript.warnings:
                        reporter.note(f"warning: {name}: {warning}")
                    apply_cleanup(transcript, settings.cleanup)
                    transcript.settings = out_key
                    outputs = _write_outputs(transcript, recording, settings)
                    manifest.record(name, digest, out_hash, outputs)
                except TranscriberError as exc:
                    summary.failed.append(name)
                    reporter.error(str(exc))
                    reporter.advance(0.0)
                    continue
                except OSError as exc:
                    summary.failed.append(name)
                    reporter.error(f"{recording.path}: {exc.strerror or exc}; check the file and the output folder")
                    reporter.advance(0.0)
                    continue
                summary.done += 1
                summary.audio_seconds += transcript.duration
                reporter.advance(transcript.duration)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            slot.close()
            reporter.close()
    summary.wall_seconds = time.perf_counter() - started
    return summary
