"""A batch: plan what needs doing, transcribe, clean, write, record, and account for every file.

One file's way: content hash -> manifest says done? skip -> raw cache hit? else decode + ASR -> cleanup ->
writers (atomic) -> manifest entry. A file that fails is reported by name and the batch goes on; the
model is loaded only when some file really needs speech recognition.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from transcriber import __version__
from transcriber.audio import decode
from transcriber.catalog import (
    CATALOG,
    DEFAULT_AUDIO_LLM,
    DEFAULT_LLM,
    DEFAULT_SEAMLESS,
    cached_path,
    resolve_auto_model,
    resolve_model,
)
from transcriber.cleanup import apply_cleanup
from transcriber.cleanup.auto import resolve_cleanup
from transcriber.diarize.assign import rename
from transcriber.discovery import AUDIO_EXTENSIONS, Recording, discover
from transcriber.engines.base import Engine
from transcriber.engines.batch_size import resolve_batch_size, seamless_vram_gb, whisper_vram_gb
from transcriber.engines.transformers_asr import is_transformers_asr
from transcriber.errors import (
    EXIT_FILES_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    AudioError,
    BatchStopped,
    ConfigError,
    TranscriberError,
    describe_failure,
    display,
    interrupted,
    unwritable,
)
from transcriber.extras import require
from transcriber.fingerprint import lexicon_fingerprint, llm_fingerprint, model_fingerprint
from transcriber.flags import review_flags
from transcriber.journal import recover, switch
from transcriber.lost_speech import lost_speech
from transcriber.ownership import claim, source_id
from transcriber.page.audio import page_audio
from transcriber.page.index import PageIndex
from transcriber.prefetch import Prefetcher
from transcriber.progress import Reporter
from transcriber.settings import Settings, settings_hash
from transcriber.state import Manifest, OutputLock, RawCache, content_hash
from transcriber.topup import finished_transcript
from transcriber.transcript import Transcript
from transcriber.writers import HtmlWriter, VerbatimWriter, Writer, get_writer, sweep_temp_files

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner, LlmStats
    from transcriber.diarize.stage import DiarizeStage


_LEFT_OUT_SHOWN = 20


@dataclass
class Summary:
    """Counts and times for the closing lines and the exit code."""

    done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False
    stopped: bool = False
    llm: LlmStats | None = None
    #: One line per Ray worker (`--cluster ray`): where it ran, its files, audio seconds and throughput.
    workers: list[str] = field(default_factory=list)
    #: Files under the input that are not transcribed, each "name: reason" (not recordings, inside --output).
    left_out: list[str] = field(default_factory=list)

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio transcribed in this run (lower is faster)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FILES_FAILED if self.failed or self.stopped else EXIT_OK

    def render(self) -> str:
        state = "interrupted" if self.interrupted else "stopped" if self.stopped else "finished"
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
        shown = [f"not transcribed: {item}" for item in self.left_out[:_LEFT_OUT_SHOWN]]
        if len(self.left_out) > _LEFT_OUT_SHOWN:
            shown.append(f"not transcribed: {len(self.left_out) - _LEFT_OUT_SHOWN} more files")
        return "\n".join([line, *self.workers, *shown])


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


def _pipeline_model(settings: Settings, reporter: Reporter) -> str:
    """`--model`, with auto made concrete where a transformers recogniser wins (`model_choice`); "auto" left
    for the Whisper path's own choice otherwise. On a GPU the choice and its reason are printed."""
    if settings.model != "auto":
        return settings.model
    from transcriber.model_choice import WHISPER, choose_model
    from transcriber.vram import free_gb

    free = None if settings.device == "cpu" else free_gb()
    choice = choose_model(settings.language, free, settings.speakers != "off")
    if free is not None:  # without a GPU auto is the Whisper path's, as it always was
        reporter.note(f"--model auto chose {'Whisper' if choice.model == WHISPER else choice.model}: {choice.reason}")
    return choice.model


class EngineSlot:
    """Resolves the model up front (so the settings hash is known) and loads it on first use.

    Public because `transcriber bench` drives the same engine choice and loading as a batch, so a
    benchmark measures exactly what `transcriber run` would load.
    """

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self.transformers = False  # a transformers recogniser (engines.transformers_asr) on the pipeline backend
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
            self.model_path = _local_model(self.model_name)
            # The audio LLMs take one window at a time; Seamless batches its windows.
            seamless = settings.backend == "seamless"
            vram = seamless_vram_gb(self.model_name)
            self.batch_size = resolve_batch_size(settings.batch_size, self.device, vram) if seamless else 1
        elif (model := _pipeline_model(settings, reporter)) != "auto" and is_transformers_asr(model):
            self._transformers_plan(model, reporter)
        else:
            from transcriber.engines.faster_whisper import pick_compute_type, pick_device

            self.device, note = pick_device(settings.device)
            if note:
                reporter.note(note)
            self.compute_type = pick_compute_type(settings.compute_type, self.device)
            if model == "auto":
                self.model_name, self.model_path = resolve_auto_model(self.device, reporter.note)
            else:
                self.model_name, self.model_path = resolve_model(model)
            vram = whisper_vram_gb(self.model_name, self.model_path)
            self.batch_size = resolve_batch_size(settings.batch_size, self.device, vram)
        if settings.backend != "seamless":  # Seamless checks its own languages
            check_language(settings.language, self.model_name)

    def _transformers_plan(self, model: str, reporter: Reporter) -> None:
        """A transformers recogniser (Parakeet, ...): its language checked, its device, precision and batch."""
        require("multimodal", f"--model {model}", "torch", "transformers", "accelerate")
        import torch

        from transcriber.engines import transformers_asr

        transformers_asr.check_language(model, self.settings.language)
        self.device = "cuda" if self.settings.device != "cpu" and torch.cuda.is_available() else "cpu"
        if self.device == "cpu" and self.settings.device != "cpu":
            reporter.note(f"torch sees no GPU; {model} runs on the CPU in float32")
        self.compute_type = "bfloat16" if self.device == "cuda" else "float32"
        self.model_name, self.model_path = model, transformers_asr.local_folder(model)
        self.batch_size = resolve_batch_size(self.settings.batch_size, self.device, transformers_asr.vram_gb(model))
        self.transformers = True

    def key(self) -> dict[str, object]:
        """The ASR settings hash's input: the settings, plus what else changes the recognised text."""
        key = self.settings.asr_key(self.model_name, self.device, self.compute_type, self.batch_size)
        return {**key, "version": __version__, "model_files": model_fingerprint(self.model_path)}

    def get(self) -> Engine:
        if self._engine is None:
            builders = {"multimodal": self._multimodal, "seamless": self._seamless}
            whisper = self._transformers if self.transformers else self._whisper
            self._engine = builders.get(self.settings.backend, whisper)()
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

    def _transformers(self) -> Engine:
        from transcriber.engines.transformers_asr import TransformersAsrEngine

        return TransformersAsrEngine(self.model_name, self.device, self.settings.language, self.batch_size)

    def _whisper(self) -> Engine:
        from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions

        options = WhisperOptions(
            language=None if self.settings.language == "auto" else self.settings.language,
            beam_size=self.settings.beam_size,
            batch_size=self.batch_size,
            vad=self.settings.vad,
        )
        assert self.model_path is not None  # resolve_model always gives the pipeline a folder
        try:
            return FasterWhisperEngine(self.model_path, self.model_name, self.device, self.compute_type, options)
        except ValueError as exc:  # CTranslate2 says so for an unsupported compute type on this device
            raise ConfigError(f"--compute-type {self.compute_type} on {self.device}: {exc}") from exc

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def output_names(recording: Recording, formats: tuple[str, ...]) -> list[str]:
    """Output file names relative to the output folder, the verbatim text last (stems come from discovery,
    which plans them for the whole batch so that no two recordings share one)."""
    stem = recording.output_stem.as_posix()
    return [f"{stem}.{fmt}" for fmt in formats] + [f"{stem}.{VerbatimWriter.extension}"]


def _writer(fmt: str, recording: Recording, settings: Settings) -> Writer:
    """The writer of `fmt` (or of the verbatim text); the html page's with its audio (`--html-audio`)."""
    if fmt == VerbatimWriter.extension:
        return VerbatimWriter()
    if fmt != HtmlWriter.extension:
        return get_writer(fmt)
    page = settings.output / f"{recording.output_stem.as_posix()}.{fmt}"
    return HtmlWriter(page_audio(recording.path, page, settings.html_audio, settings.track))


def _write_outputs(
    transcript: Transcript, recording: Recording, digest: str, settings: Settings, manifest: Manifest, out_hash: str,
    only: set[str] | None = None,
) -> None:  # fmt: skip
    """Every format (or those named in `only`) and the manifest entry that owns them all, switched in at once
    (`transcriber.journal`)."""
    names = output_names(recording, settings.formats)
    formats = [*settings.formats, VerbatimWriter.extension]
    stem = recording.output_stem.as_posix()
    entry = {"source": source_id(recording.path), "relative": recording.relative.as_posix(),
             "content_hash": digest, "settings_hash": out_hash, "outputs": names}  # fmt: skip
    files = [
        (settings.output / name, _writer(fmt, recording, settings).render(transcript))
        for name, fmt in zip(names, formats, strict=True)
        if only is None or name in only
    ]
    switch(settings.output, [*files, (manifest.path, manifest.staged(stem, entry))])
    manifest.commit(stem, entry)


@dataclass
class Job:
    """A file that needs the model stages; `asr` is its cached plain transcript when only diarization is to redo."""

    index: int
    recording: Recording
    digest: str
    asr: Transcript | None = None


@dataclass
class Pending:
    """A file whose verbatim transcript is ready and whose cleanup and outputs are still to do."""

    index: int
    recording: Recording
    digest: str
    transcript: Transcript


class Stages(Protocol):
    """The model stages of a batch (recognition, diarization, LLM cleanup), in this process or on a cluster;
    everything else (the plan, the caches, cleanup by rules, writing) is `Batch`'s, wherever they run."""

    def keys(self) -> tuple[dict[str, object], dict[str, object]]:
        """The ASR settings key and the raw-transcript key (ASR plus diarization), as resolved where the
        models run."""
        ...

    def recognise_all(self, batch: Batch, recordings: list[Recording], staged: bool) -> list[Pending]:
        """Every recording through stage one; finished at once unless `staged` (LLM cleanup comes after)."""
        ...

    def clean_all(self, batch: Batch, pending: list[Pending]) -> None: ...

    def close(self, batch: Batch | None) -> None: ...


class Batch:
    """The bookkeeping one run shares across its stages, wherever the models run (here or on Ray actors):
    the manifest, the raw cache, the hashes, per-file errors, cleanup and writing.

    Every per-file error, of any type, becomes one line naming the recording, the stage and the fix, and
    the batch goes on; a condition that dooms every later file raises `BatchStopped` instead.
    """

    def __init__(
        self, settings: Settings, reporter: Reporter, keys: tuple[dict[str, object], dict[str, object]],
        debug: bool = False,
    ) -> None:  # fmt: skip
        self.settings, self.reporter, self.debug = settings, reporter, debug
        asr_key, raw_key = keys  # raw: the ASR key plus diarization's, as the raw cache holds diarized text
        self.diarize = settings.speakers != "off"
        self.asr_hash, self.raw_hash = settings_hash(asr_key), settings_hash(raw_key)
        self.out_key = settings.output_key(raw_key)
        self.out_key["lexicon"] = lexicon_fingerprint()
        if settings.cleanup == "llm":  # as the ASR model's files are in the raw key: a replaced LLM redoes cleanup
            _require_llm()  # before the fingerprint, which may download the model
            self.out_key["cleanup_model_files"] = llm_fingerprint(_llm_name(settings))
        self.out_hash = settings_hash(self.out_key)
        self.manifest = Manifest(settings.output, reporter.note)
        self.cache = RawCache(settings.output, reporter.note)
        self.summary = Summary()
        self.index = PageIndex(settings.output, settings.formats, reporter.note)

    def settled(
        self, recording: Recording, seconds: float, transcript: Transcript | None = None, reason: str = ""
    ) -> None:
        """A file is finished (`transcript` written), skipped as done (neither) or failed (`reason`): the
        progress moves on and the output folder's index.html says so."""
        self.reporter.advance(seconds)
        self.index.update(recording, transcript, reason)

    def failed(self, recording: Recording, exc: Exception, stage: str) -> None:
        if interrupted():  # a library turned our KeyboardInterrupt into its own error
            raise KeyboardInterrupt from exc
        if isinstance(exc, TranscriberError) and not isinstance(exc, (AudioError, BatchStopped)):
            raise exc  # a configuration problem (model, flags) that no later file escapes either
        message, fatal = describe_failure(exc, stage, display(recording.path), display(self.settings.output))
        if self.debug:
            self.reporter.note("".join(traceback.format_exception(exc)).rstrip())
        if fatal:
            self.summary.failed.append(display(recording.relative))
            raise BatchStopped(message) from exc
        self.failed_with(recording, message)

    def failed_with(self, recording: Recording, message: str) -> None:
        """A per-file failure already put in words (by a Ray worker): report it and go on."""
        self.summary.failed.append(display(recording.relative))
        self.reporter.error(message)
        self.settled(recording, 0.0, reason=message)

    def unlistable(self, exc: OSError) -> None:
        """A folder under the input that could not be listed: its recordings are missing, so say so."""
        folder = display(exc.filename) if exc.filename else display(self.settings.input)
        self.summary.failed.append(folder)
        self.reporter.error(
            f"{folder}: cannot be listed ({exc.strerror}); its recordings were skipped: fix its permissions and rerun"
        )

    def _done(self, recording: Recording, digest: str, outputs: list[str]) -> bool:
        """Whether the manifest says this file is finished with these settings (counted as skipped)."""
        stem, output = recording.output_stem.as_posix(), self.settings.output
        if self.settings.force or not self.manifest.is_done(stem, digest, self.out_hash, outputs, output):
            return False
        self.summary.skipped += 1
        self.settled(recording, 0.0)
        return True

    def _top_up(self, recording: Recording, digest: str, outputs: list[str]) -> bool:
        """Whether the file was finished but for some outputs, now written from its JSON (counted as done)."""
        output, stem = self.settings.output, recording.output_stem.as_posix()
        entry = self.manifest.entries.get(stem)
        transcript = None if self.settings.force else finished_transcript(entry, digest, self.out_key, stem, output)
        if transcript is None:
            return False
        transcript.flags = transcript.flags or review_flags(transcript)
        missing = {n for n in outputs if n not in (entry or {}).get("outputs", []) or not (output / n).is_file()}
        _write_outputs(transcript, recording, digest, self.settings, self.manifest, self.out_hash, only=missing)
        self.summary.done += 1
        self.settled(recording, 0.0, transcript)
        return True

    def plan(self, index: int, recording: Recording) -> Job | Pending | None:
        """Stage one's bookkeeping for a file: None if it is done (skipped) or failed, `Pending` if the raw
        cache holds its transcript, else the `Job` the models must do."""
        try:
            digest = content_hash(recording.path) if recording.path.is_file() else ""
            outputs = output_names(recording, self.settings.formats)
            if self._done(recording, digest, outputs) or self._top_up(recording, digest, outputs):
                return None
            fresh = bool(digest) and not self.settings.force
            job = Job(index, recording, digest)
            transcript = self.cache.get(digest, self.raw_hash) if fresh else None
            if transcript is not None:
                return self.accept(job, transcript)
            # only diarization is to redo when the plain transcript is cached
            job.asr = self.cache.get(digest, self.asr_hash) if fresh and self.diarize else None
        except Exception as exc:
            self.failed(recording, exc, "decode")
            return None
        return job

    def accept(self, job: Job, transcript: Transcript) -> Pending:
        """A recognised (and diarized) transcript, ready for cleanup and writing."""
        name = display(job.recording.relative.as_posix())
        transcript.source = name  # the recording's own name, also when the cache held a copy's
        for warning in transcript.warnings:
            self.reporter.note(f"warning: {name}: {warning}")
        return Pending(job.index, job.recording, job.digest, transcript)

    def finish(self, item: Pending, llm: LlmCleaner | None, cleaned: bool = False) -> None:
        """Stage two for a file: clean (unless a Ray worker `cleaned` it), write every format atomically,
        record it in the manifest."""
        name, transcript, stage = item.recording.relative.as_posix(), item.transcript, "clean"
        try:
            if llm is not None:
                self.reporter.step(item.index, display(name), "cleaning")
            if not cleaned:
                apply_cleanup(transcript, self.settings.cleanup, llm)
            if self.diarize:
                rename(transcript, self.settings.speaker_names)
            transcript.flags = review_flags(transcript)
            stage = "write"
            transcript.settings = self.out_key
            _write_outputs(transcript, item.recording, item.digest, self.settings, self.manifest, self.out_hash)
        except Exception as exc:
            self.failed(item.recording, exc, stage)
            return
        self.summary.done += 1
        self.summary.audio_seconds += transcript.duration
        self.settled(item.recording, transcript.duration, transcript)


class _Here:
    """The model stages in this process: the engine, the diarizer, the cleanup LLM and the decoder thread."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        self.settings, self.reporter = settings, reporter
        self.slot = EngineSlot(settings, reporter)
        self.speakers = diarize_stage(settings, reporter)
        self.prefetch = Prefetcher(partial(decode, track=settings.track))
        self.llm: LlmCleaner | None = None

    def keys(self) -> tuple[dict[str, object], dict[str, object]]:
        asr_key = self.slot.key()
        return asr_key, self.speakers.key(asr_key) if self.speakers else asr_key

    def _engine(self) -> Engine:
        try:
            return self.slot.get()
        except TranscriberError:
            raise
        except Exception as exc:  # a corrupt model file, a driver problem: no later file would fare better
            raise BatchStopped(f"model {self.slot.model_name}: cannot be loaded ({exc}); check --model") from exc

    def recognise(self, batch: Batch, job: Job, following: Recording | None) -> Pending | None:
        """Decode, recognise and diarize one file, caching each result. While the engine works, `following`
        is decoded in the background (`transcriber.prefetch`)."""
        name, stage = display(job.recording.relative.as_posix()), "decode"
        try:
            self.reporter.step(job.index, name, "transcribing")
            audio = self.prefetch.decode(job.recording.path)
            if following is not None:
                self.prefetch.ahead(following.path)
            stage, transcript = "recognise", job.asr
            if transcript is None:
                transcript = self._engine().transcribe(audio.samples, source=name)
                transcript.warnings = [*audio.warnings, *transcript.warnings, *lost_speech(transcript, audio.samples)]
                stage = "write"
                batch.cache.put(job.digest, batch.asr_hash, transcript)
            if self.speakers:
                stage = "diarize"
                self.reporter.step(job.index, name, "diarizing")
                self.speakers.apply(transcript, audio.samples)
                stage = "write"
                batch.cache.put(job.digest, batch.raw_hash, transcript)
            del audio
        except Exception as exc:
            batch.failed(job.recording, exc, stage)
            return None
        return batch.accept(job, transcript)

    def recognise_all(self, batch: Batch, recordings: list[Recording], staged: bool) -> list[Pending]:
        pending = []
        for index, recording in enumerate(recordings, start=1):
            item = batch.plan(index, recording)
            if isinstance(item, Job):
                item = self.recognise(batch, item, recordings[index] if index < len(recordings) else None)
            if item is not None and staged:
                pending.append(item)
            elif item is not None:
                batch.finish(item, None)
        return pending

    def clean_all(self, batch: Batch, pending: list[Pending]) -> None:
        """The staged LLM cleanup over every recognised file, after the ASR model (and the diarizer) was freed."""
        self.slot.close()
        if self.speakers:
            self.speakers.close()
        if not pending:
            return
        self.llm = load_llm(self.settings)
        for item in pending:
            batch.finish(item, self.llm)
        batch.summary.llm = self.llm.stats

    def close(self, batch: Batch | None) -> None:
        self.prefetch.close()
        self.slot.close()
        if self.llm is not None:
            self.llm.close()


def diarize_stage(settings: Settings, reporter: Reporter) -> DiarizeStage | None:
    if settings.speakers == "off":
        return None
    from transcriber.diarize.stage import DiarizeStage

    return DiarizeStage(settings, reporter)


def load_llm(settings: Settings) -> LlmCleaner:
    """The cleanup LLM the settings ask for (the default model for "auto"), or a clear error if the extra is missing.

    Public so `transcriber bench` loads the cleanup model the way a batch does.
    """
    _require_llm()
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions

    options = LlmOptions(_llm_name(settings), settings.cleanup_mode, settings.llm_quant, settings.device)
    return LlmCleaner(options)


def _llm_name(settings: Settings) -> str:
    return DEFAULT_LLM if settings.cleanup_model == "auto" else settings.cleanup_model


def _require_llm() -> None:
    require("llm", "--cleanup llm", "torch", "transformers", "accelerate")


def _unusable_output(settings: Settings, exc: OSError) -> ConfigError:
    where = display(exc.filename) if exc.filename else display(settings.output)
    return ConfigError(
        f"--output {display(settings.output)}: {where}: {exc.strerror or exc}; give a folder you can write to"
    )


@contextmanager
def _output_folder(settings: Settings, reporter: Reporter) -> Iterator[None]:
    """The output folder made, locked and swept of a killed run's temp files; one clear line if it can't be."""
    try:
        settings.output.mkdir(parents=True, exist_ok=True)
        if not os.access(settings.output, os.W_OK | os.X_OK):
            raise unwritable(settings.output)
        lock = OutputLock(settings.output, reporter.note)
        lock.__enter__()
        recover(settings.output, reporter.note)  # before the sweep: a journal's temp files are its new set
        sweep_temp_files(settings.output)
    except OSError as exc:
        raise _unusable_output(settings, exc) from exc
    try:
        yield
    finally:
        lock.__exit__()


def _discover_or_fail(settings: Settings) -> tuple[list[Recording], list[OSError], list[str]]:
    """The recordings under the input, the folders that could not be listed and the files left out (each with
    its reason); a usage error if there is nothing to do."""
    unreadable: list[OSError] = []
    ignored: list[tuple[Path, str]] = []
    recordings = discover(settings.input, settings.output, unreadable, ignored)
    left_out = [f"{display(path)}: {reason}" for path, reason in ignored]
    if not recordings and not unreadable:
        raise ConfigError(
            f"no recordings found under {settings.input}: looked for {', '.join(sorted(AUDIO_EXTENSIONS))} and any "
            f"file FFmpeg reads (hidden files and folders are skipped){''.join(f'; {line}' for line in left_out[:5])}"
        )
    return recordings, unreadable, left_out


def _stages(settings: Settings, reporter: Reporter) -> Stages:
    """Where the model stages run: in this process, or on Ray actors (`--cluster ray`)."""
    if settings.cluster == "ray":
        from transcriber.cluster.stages import RayStages

        return RayStages(settings, reporter)
    return _Here(settings, reporter)


def run_batch(settings: Settings, reporter: Reporter, debug: bool = False) -> Summary:
    """Run the whole batch under the output lock; never raises for a single bad file.

    With an LLM cleanup the stages run one after the other over all files (all speech recognition, the
    ASR model freed, then all cleanup), so the GPU holds one model at a time; otherwise each file is
    finished as soon as it is recognised, so outputs appear as the batch goes. A `BatchStopped` (disk
    full, output not writable, GPU lost) ends it at once with one line; finished files are kept.
    """
    started = time.perf_counter()
    recordings, unreadable, left_out = _discover_or_fail(settings)
    settings = resolve_cleanup(settings, reporter.note)
    with _output_folder(settings, reporter):
        stages = _stages(settings, reporter)
        try:
            batch = Batch(settings, reporter, stages.keys(), debug)
            batch.summary.left_out = left_out
            recordings = claim(recordings, batch.manifest, settings.output, settings.formats)
        except OSError as exc:  # a damaged manifest that cannot even be moved aside
            stages.close(None)
            raise _unusable_output(settings, exc) from exc
        except BaseException:
            stages.close(None)
            raise
        reporter.start(len(recordings) + len(unreadable))
        try:
            for problem in unreadable:
                batch.unlistable(problem)
            stages.clean_all(batch, stages.recognise_all(batch, recordings, staged=settings.cleanup == "llm"))
        except KeyboardInterrupt:
            batch.summary.interrupted = True
        except BatchStopped as exc:
            batch.summary.stopped = True
            reporter.error(str(exc))
        finally:
            stages.close(batch)
            reporter.close()
    batch.summary.wall_seconds = time.perf_counter() - started
    return batch.summary
