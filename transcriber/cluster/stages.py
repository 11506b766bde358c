"""`Stages` on Ray: the driver plans, reads and writes (`Batch`); the workers decode, recognise, diarize, clean.

A recording goes to a worker as its bytes (no shared file system needed) or, with `--shared-input`, as its
path; the transcript comes back as its JSON dict and the driver caches, cleans, writes and records it
exactly as a local run does, file by file, so a killed driver's rerun redoes only what was missing.

With `--speakers` a worker returns each file's speakers under file-local ids with their centroids, and the
driver gives the batch's ids from its one registry (`BatchSpeakers`), taking the files in the folder's order
whatever order they come back in (`_InOrder`): a voice gets the id a local run would give it, not one that
depends on which worker had which file or which finished first.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from transcriber.audio import check_file
from transcriber.batch import Batch, Job, Pending
from transcriber.cluster.connect import connect, disconnect
from transcriber.cluster.pool import Member, Pool
from transcriber.diarize.registry import BatchSpeakers
from transcriber.discovery import Recording
from transcriber.errors import BatchStopped, display
from transcriber.plan import Recognition, RunPlan
from transcriber.progress import Reporter
from transcriber.settings import Settings
from transcriber.transcript import Transcript


@dataclass
class _Send:
    """A job on its way to a worker, with the recording's bytes (None with --shared-input)."""

    job: Job
    data: bytes | None


class RayStages:
    """Joins the cluster and starts the workers when built; `close` kills them and leaves the cluster."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        self.settings, self.reporter = settings, reporter
        self.speakers = BatchSpeakers(settings.output)
        reporter.note(connect(settings.ray_address))
        try:
            self.pool = Pool(settings, reporter)
        except BaseException:
            disconnect()
            raise

    def resolve(self) -> Recognition:
        """What the first worker that can serve resolved (those that resolve otherwise were dropped)."""
        return self.pool.recognition

    def use(self, plan: RunPlan) -> None:
        self.pool.use(plan)

    def _jobs(self, batch: Batch, recordings: list[Recording], order: _InOrder, then: _Then) -> Iterator[_Send]:
        """Planned as the workers ask for more: done files are skipped, cached ones finished here (in turn)."""
        for index, recording in enumerate(recordings, start=1):
            item = batch.plan_file(index, recording)
            if isinstance(item, Job):
                try:
                    data = None if self.settings.shared_input else _read(recording)
                except Exception as exc:
                    batch.failed(recording, exc, "decode")
                    continue
                order.expect(index)
                yield _Send(item, data)
            elif item is not None:
                order.expect(index)
                order.put(index, partial(then, item))

    def recognise_all(self, batch: Batch, recordings: list[Recording], staged: bool) -> list[Pending]:
        pending: list[Pending] = []
        order = _InOrder(ordered=batch.diarize)

        def then(item: Pending | None) -> None:
            if item is not None and staged:
                pending.append(item)
            elif item is not None:
                batch.finish(item, None)

        def send(member: Member, item: _Send) -> Any:
            recording = item.job.recording
            self.reporter.step(item.job.index, display(recording.relative), f"transcribing on node {member.node}")
            asr = item.job.asr.to_dict() if item.job.asr is not None else None
            # With --shared-input the worker opens the path itself: absolute (its working folder is not ours)
            # and as the file system names it (undecodable bytes kept), not as printed.
            where = os.fsdecode(recording.path.absolute()) if item.data is None else display(recording.path)
            return member.handle.recognise.remote(where, display(recording.relative), item.data, asr)

        def done(item: _Send, member: Member, result: dict[str, Any]) -> None:
            kept = _keep_plain(batch, item.job, result)  # at once: a driver killed while it waits its turn keeps it

            def in_turn() -> None:
                if kept:
                    then(self._accept(batch, item.job, result))

            order.put(item.job.index, in_turn)

        def give_up(item: _Send, why: str) -> None:
            where = display(item.job.recording.path)
            message = f"{where}: recognise: {why}; rerun it alone with --cluster local --debug"
            order.put(item.job.index, partial(batch.failed_with, item.job.recording, message))

        try:
            self.pool.run(self._jobs(batch, recordings, order, then), send, done, give_up)
        except BatchStopped:
            order.flush()  # no worker left: the files that came back are written, those lost fail
            raise
        return pending

    def _accept(self, batch: Batch, job: Job, result: dict[str, Any]) -> Pending | None:
        """A worker's result, in its turn: its speakers given the batch's ids, the diarized transcript cached,
        on to cleanup; or its failure reported."""
        if "error" in result:
            if batch.debug and result.get("traceback"):
                batch.reporter.note(result["traceback"].rstrip())
            batch.failed_with(job.recording, result["error"])
            return None
        transcript = job.asr
        if "raw" in result:
            transcript = Transcript.from_dict(result["raw"])
            if result.get("voices") is not None:
                self.speakers.label(transcript, result["voices"])
            try:
                batch.cache.put(job.digest, batch.raw_hash, transcript)
            except Exception as exc:
                batch.failed(job.recording, exc, "write")
                return None
        elif "asr" in result:
            transcript = Transcript.from_dict(result["asr"])
        return batch.accept(job, transcript)  # type: ignore[arg-type]

    def clean_all(self, batch: Batch, pending: list[Pending]) -> None:
        """The LLM cleanup on the workers, after every file was recognised (each frees its ASR model first)."""
        if not pending:
            return

        def send(member: Member, item: Pending) -> Any:
            self.reporter.step(item.index, display(item.recording.relative), f"cleaning on node {member.node}")
            return member.handle.clean.remote(display(item.recording.path), item.transcript.to_dict())

        def done(item: Pending, member: Member, result: dict[str, Any]) -> None:
            if "error" in result:
                batch.failed_with(item.recording, result["error"])
                return
            item.transcript = Transcript.from_dict(result["transcript"])
            item.transcript.source = display(item.recording.relative)
            batch.finish(item, None, cleaned=True)

        def give_up(item: Pending, why: str) -> None:
            batch.failed_with(item.recording, f"{display(item.recording.path)}: clean: {why}; try --cleanup rules")

        self.pool.run(pending, send, done, give_up)
        batch.summary.llm = _llm_stats(self.pool)

    def close(self, batch: Batch | None) -> None:
        try:
            if batch is not None:
                batch.summary.workers = self.pool.lines()
            self.pool.close()
        finally:
            disconnect()


def _read(recording: Recording) -> bytes:
    """The recording's bytes, refused as a local decode would refuse them (a folder, a FIFO, an empty file)."""
    check_file(recording.path)
    return recording.path.read_bytes()


def _keep_plain(batch: Batch, job: Job, result: dict[str, Any]) -> bool:
    """The plain transcript a worker recognised into the raw cache; False (reported) if it cannot be written."""
    try:
        if "asr" in result:
            batch.cache.put(job.digest, batch.asr_hash, Transcript.from_dict(result["asr"]))
    except Exception as exc:
        batch.failed(job.recording, exc, "write")
        return False
    return True


#: What follows a file's transcript on the driver: cleanup and writing (None: it failed).
_Then = Callable[[Pending | None], None]


class _InOrder:
    """Runs each file's driver step in the folder's order, whatever order the workers finish in, where the
    batch diarizes: the registry must meet the files in a local run's order. Without `ordered`, at once."""

    def __init__(self, ordered: bool) -> None:
        self.ordered = ordered
        self.waiting: deque[int] = deque()
        self.ready: dict[int, Callable[[], None]] = {}
        self.broken = False

    def expect(self, index: int) -> None:
        if self.ordered:
            self.waiting.append(index)

    def put(self, index: int, step: Callable[[], None]) -> None:
        """`step` for file `index`: run now if its turn has come, with every held step that follows."""
        if not self.ordered:
            step()
            return
        self.ready[index] = step
        while self.waiting and self.waiting[0] in self.ready:
            try:
                self.ready.pop(self.waiting.popleft())()
            except BaseException:
                self.broken = True
                raise

    def flush(self) -> None:
        """The held steps, in order, past the files that will never come back (unless a step itself failed)."""
        self.waiting = deque(index for index in self.waiting if index in self.ready)
        if self.waiting and not self.broken:
            self.put(self.waiting[0], self.ready.pop(self.waiting[0]))


def _llm_stats(pool: Pool) -> Any:
    """Every worker's cleanup LLM statistics, summed field by field (lists joined), whatever fields it has."""
    from dataclasses import fields

    from transcriber.cleanup.llm import LlmStats

    total = LlmStats()
    for member in [*pool.members, *pool.retired]:
        for name in (f.name for f in fields(LlmStats)):
            mine = getattr(total, name)
            setattr(total, name, mine + (member.llm_stats or {}).get(name, type(mine)()))
    return total
