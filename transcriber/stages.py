"""The model stages in this process: the plan's models in one `ModelSlots`, and a decoder thread ahead.

`run_batch` drives them through the `Stages` protocol; `--cluster ray` swaps in `cluster.stages.RayStages`,
which does the same on Ray actors. Everything else (the plan, the caches, rules cleanup, writing) is the
batch's.
"""

from __future__ import annotations

import time
from functools import partial

from transcriber.audio import decode
from transcriber.batch import Batch, Job, Pending
from transcriber.discovery import Recording
from transcriber.errors import BatchStopped, TranscriberError, display
from transcriber.plan import Recognition, RunPlan, resolve_recognition
from transcriber.prefetch import Prefetcher
from transcriber.progress import Reporter
from transcriber.settings import Settings
from transcriber.slots import ModelSlots
from transcriber.transcript import Transcript


class LocalStages:
    """Recognition, diarization and LLM cleanup here, one file after the other."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        self.settings, self.reporter = settings, reporter
        self.slots: ModelSlots | None = None
        #: The models wait for later files (a watcher's): the recogniser stays beside the LLM while both
        #: fit, and each load of it is noted. Set before `use`.
        self.lasting = False
        self.prefetch = Prefetcher(partial(decode, track=settings.track))

    def resolve(self) -> Recognition:
        return resolve_recognition(self.settings, self.reporter.note)

    def use(self, plan: RunPlan) -> None:
        self.slots = ModelSlots(plan.settings, plan.recognition, plan.llm, lasting=self.lasting)

    def _slots(self) -> ModelSlots:
        assert self.slots is not None, "use(plan) comes first"
        return self.slots

    def recognise(self, batch: Batch, job: Job, following: Recording | None) -> Pending | None:
        """Decode, recognise and diarize one file, caching each result. While the engine works, `following`
        is decoded in the background (`transcriber.prefetch`)."""
        name, stage = display(job.recording.relative.as_posix()), "decode"

        def step(now: str) -> None:
            nonlocal stage
            stage = now
            if now == "diarize":
                self.reporter.step(job.index, name, "diarizing")

        def keep(kind: str, transcript: Transcript) -> None:
            nonlocal stage
            stage = "write"
            batch.cache.put(job.digest, batch.asr_hash if kind == "asr" else batch.raw_hash, transcript)

        try:
            self.reporter.step(job.index, name, "transcribing")
            audio = self.prefetch.decode(job.recording.path)
            if following is not None:
                self.prefetch.ahead(following.path)
            if job.asr is None:
                stage = "recognise"
                self._load_engine()
            transcript = self._slots().recognise_one(audio.samples, name, job.asr, audio.warnings, step, keep)
            del audio
        except Exception as exc:
            batch.failed(job.recording, exc, stage)
            return None
        return batch.accept(job, transcript)

    def _load_engine(self) -> None:
        slots = self._slots()
        loading, started = not slots.engine.loaded, time.perf_counter()
        try:
            slots.recogniser()
        except TranscriberError:
            raise
        except Exception as exc:  # a corrupt model file, a driver problem: no later file would fare better
            model = slots.engine.recognition.model
            raise BatchStopped(f"model {model}: cannot be loaded ({exc}); check --model") from exc
        if loading and self.lasting:
            self.reporter.note(f"loaded model {slots.engine.recognition.model} ({time.perf_counter() - started:.1f} s)")

    def recognise_all(self, batch: Batch, recordings: list[Recording], staged: bool) -> list[Pending]:
        pending = []
        for index, recording in enumerate(recordings, start=1):
            item = batch.plan_file(index, recording)
            if isinstance(item, Job):
                item = self.recognise(batch, item, recordings[index] if index < len(recordings) else None)
            if item is not None and staged:
                pending.append(item)
            elif item is not None:
                batch.finish(item, None)
        return pending

    def clean_all(self, batch: Batch, pending: list[Pending]) -> None:
        """The staged LLM cleanup over every recognised file, after the ASR model (and the diarizer) was freed,
        unless lasting slots keep it beside the LLM."""
        slots = self._slots()
        if not pending:
            if not self.lasting:
                slots.free_recognition()
            return
        decided = slots.fit is not None
        llm = slots.llm()
        if not decided and slots.fit is not None:
            self.reporter.note(slots.fit.reason)
        if llm.stats.chunks:  # an LLM kept from an earlier round (a watcher's): this round's summary counts its own
            from transcriber.cleanup.llm import LlmStats

            llm.stats = LlmStats()
        for item in pending:
            batch.finish(item, llm)
        batch.summary.llm = llm.stats

    def close(self, batch: Batch | None) -> None:
        self.prefetch.close()
        if self.slots is not None:
            self.slots.close()
