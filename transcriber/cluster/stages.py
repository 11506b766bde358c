"""`Stages` on Ray: the driver plans, reads and writes (`Batch`); the workers decode, recognise, diarize, clean.

A recording goes to a worker as its bytes (no shared file system needed) or, with `--shared-input`, as its
path; the transcript comes back as its JSON dict and the driver caches, cleans, writes and records it
exactly as a local run does, file by file, so a killed driver's rerun redoes only what was missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from transcriber.audio import check_file
from transcriber.batch import Batch, Job, Pending
from transcriber.cluster.connect import connect, disconnect
from transcriber.cluster.pool import Member, Pool
from transcriber.discovery import Recording
from transcriber.errors import display
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

    def _jobs(self, batch: Batch, recordings: list[Recording], staged: bool, pending: list[Pending]) -> Iterator[_Send]:
        """Planned as the workers ask for more: done files are skipped, cached ones finished here."""
        for index, recording in enumerate(recordings, start=1):
            item = batch.plan_file(index, recording)
            if isinstance(item, Job):
                try:
                    data = None if self.settings.shared_input else _read(recording)
                except Exception as exc:
                    batch.failed(recording, exc, "decode")
                    continue
                yield _Send(item, data)
            elif item is not None and staged:
                pending.append(item)
            elif item is not None:
                batch.finish(item, None)

    def recognise_all(self, batch: Batch, recordings: list[Recording], staged: bool) -> list[Pending]:
        pending: list[Pending] = []

        def send(member: Member, item: _Send) -> Any:
            recording = item.job.recording
            self.reporter.step(item.job.index, display(recording.relative), f"transcribing on node {member.node}")
            asr = item.job.asr.to_dict() if item.job.asr is not None else None
            # With --shared-input the worker opens the path itself: absolute (its working folder is not ours)
            # and as the file system names it (undecodable bytes kept), not as printed.
            where = os.fsdecode(recording.path.absolute()) if item.data is None else display(recording.path)
            return member.handle.recognise.remote(where, display(recording.relative), item.data, asr)

        def done(item: _Send, member: Member, result: dict[str, Any]) -> None:
            accepted = _accept(batch, item.job, result)
            if accepted is not None and staged:
                pending.append(accepted)
            elif accepted is not None:
                batch.finish(accepted, None)

        def give_up(item: _Send, why: str) -> None:
            batch.failed_with(item.job.recording, f"{display(item.job.recording.path)}: recognise: {why}; "
                                                  "rerun it alone with --cluster local --debug")  # fmt: skip

        self.pool.run(self._jobs(batch, recordings, staged, pending), send, done, give_up)
        return pending

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


def _accept(batch: Batch, job: Job, result: dict[str, Any]) -> Pending | None:
    """A worker's result into the raw cache and on to cleanup, or its failure reported."""
    try:
        if "asr" in result:
            batch.cache.put(job.digest, batch.asr_hash, Transcript.from_dict(result["asr"]))
        if "raw" in result:
            batch.cache.put(job.digest, batch.raw_hash, Transcript.from_dict(result["raw"]))
    except Exception as exc:
        batch.failed(job.recording, exc, "write")
        return None
    if "error" in result:
        if batch.debug and result.get("traceback"):
            batch.reporter.note(result["traceback"].rstrip())
        batch.failed_with(job.recording, result["error"])
        return None
    transcript = result.get("raw") or result.get("asr")
    return batch.accept(job, Transcript.from_dict(transcript) if transcript else job.asr)  # type: ignore[arg-type]


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
