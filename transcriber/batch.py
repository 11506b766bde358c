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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from transcriber.cleanup import apply_cleanup
from transcriber.diarize.assign import rename
from transcriber.discovery import AUDIO_EXTENSIONS, Recording, discover
from transcriber.errors import (
    AudioError,
    BatchStopped,
    ConfigError,
    TranscriberError,
    describe_failure,
    display,
    interrupted,
    unwritable,
)
from transcriber.flags import review_flags
from transcriber.journal import recover
from transcriber.lost_speech import is_lost_speech
from transcriber.output_index import PageIndex
from transcriber.outputs import output_names, write_outputs
from transcriber.ownership import claim
from transcriber.plan import Recognition, RunPlan
from transcriber.progress import Reporter
from transcriber.settings import Settings
from transcriber.state import Manifest, OutputLock, RawCache, content_hash
from transcriber.summary import Summary
from transcriber.topup import finished_transcript
from transcriber.transcript import Transcript
from transcriber.writers import sweep_temp_files

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner


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
    """The model stages of a batch (recognition, diarization, LLM cleanup), in this process
    (`stages.LocalStages`) or on a cluster (`cluster.stages.RayStages`), chosen by the caller; everything
    else (the caches, cleanup by rules, writing) is `Batch`'s, wherever they run."""

    def resolve(self) -> Recognition:
        """The engine, model, device and diarizer, as resolved where the models run."""
        ...

    def use(self, plan: RunPlan) -> None:
        """Load (on first use) exactly what `plan` names."""
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

    def __init__(self, plan: RunPlan, reporter: Reporter, debug: bool = False) -> None:
        self.plan, self.settings, self.reporter, self.debug = plan, plan.settings, reporter, debug
        self.diarize = plan.diarize
        self.asr_hash, self.raw_hash, self.out_hash = plan.asr_hash, plan.raw_hash, plan.out_hash
        settings = plan.settings
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
        key = self.plan.out_key
        transcript = None if self.settings.force else finished_transcript(entry, digest, key, stem, output)
        if transcript is None:
            return False
        transcript.flags = transcript.flags or review_flags(transcript)
        missing = {n for n in outputs if n not in (entry or {}).get("outputs", []) or not (output / n).is_file()}
        write_outputs(transcript, recording, digest, self.settings, self.manifest, self.out_hash, only=missing)
        self.summary.done += 1
        self.settled(recording, 0.0, transcript)
        return True

    def plan_file(self, index: int, recording: Recording) -> Job | Pending | None:
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
            transcript.settings = self.plan.out_key
            write_outputs(transcript, item.recording, item.digest, self.settings, self.manifest, self.out_hash)
        except Exception as exc:
            self.failed(item.recording, exc, stage)
            return
        self.summary.done += 1
        self.summary.audio_seconds += transcript.duration
        if any(is_lost_speech(warning) for warning in transcript.warnings):
            self.summary.lost_speech.append(display(name))
        self.settled(item.recording, transcript.duration, transcript)


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


#: The recordings under the input, the folders that could not be listed, the files left out ("name: reason").
Found = tuple[list[Recording], list[OSError], list[str]]


def find_recordings(settings: Settings) -> Found:
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


def run_batch(plan: RunPlan, stages: Stages, reporter: Reporter, recordings: Found | None = None,
              debug: bool = False) -> Summary:  # fmt: skip
    """Run the whole batch under the output lock with the `stages` given (which `use` the plan); never raises
    for a single bad file. `recordings`: what `find_recordings` found, if the caller looked already.

    With an LLM cleanup the stages run one after the other over all files (all speech recognition, the
    ASR model freed, then all cleanup), so the GPU holds one model at a time; otherwise each file is
    finished as soon as it is recognised, so outputs appear as the batch goes. A `BatchStopped` (disk
    full, output not writable, GPU lost) ends it at once with one line; finished files are kept.
    """
    started = time.perf_counter()
    settings = plan.settings
    found, unreadable, left_out = recordings or find_recordings(settings)
    batch = None
    try:
        with _output_folder(settings, reporter):
            try:
                batch = Batch(plan, reporter, debug)
                batch.summary.left_out = left_out
                found = claim(found, batch.manifest, settings.output, settings.formats)
            except OSError as exc:  # a damaged manifest that cannot even be moved aside
                raise _unusable_output(settings, exc) from exc
            for line in plan.header():
                reporter.note(line)
            reporter.start(len(found) + len(unreadable))
            try:
                stages.use(plan)
                for problem in unreadable:
                    batch.unlistable(problem)
                stages.clean_all(batch, stages.recognise_all(batch, found, staged=settings.cleanup == "llm"))
            except KeyboardInterrupt:
                batch.summary.interrupted = True
            except BatchStopped as exc:
                batch.summary.stopped = True
                reporter.error(str(exc))
            finally:
                stages.close(batch)
                reporter.close()
    finally:
        if batch is None:
            stages.close(None)
    batch.summary.wall_seconds = time.perf_counter() - started
    return batch.summary
