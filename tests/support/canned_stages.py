"""`Stages` that hand out canned transcripts instead of running a model, for the batch's bookkeeping tests.

Everything a batch keeps (manifest, raw cache, output names, damaged state, resume) is the batch's, whatever
the stages are, so those tests run `run_batch` in this process on these stages in milliseconds; the real model
still runs in the end-to-end tests (test_batch, test_robustness). The canned transcript of a recording says
which bytes it heard (a hash of its content), with fillers for the rules cleanup to take out, so a test sees
both whether a file was recognised again and what it was recognised from.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from transcriber.audio import decode
from transcriber.batch import Batch, Job, Pending, find_recordings, run_batch
from transcriber.discovery import Recording
from transcriber.lost_speech import lost_speech
from transcriber.plan import Recognition, RunPlan, resolve_plan
from transcriber.progress import Reporter
from transcriber.settings import load_settings
from transcriber.summary import Summary
from transcriber.transcript import Segment, Transcript, Word

RECOGNITION = Recognition("pipeline", "faster-whisper", "canned", None, "canned-files", "cpu", "int8", 1)


def canned(recording: Recording) -> Transcript:
    """What the canned engine "hears" in a recording: um, the first 8 hex digits of its content's hash, uh."""
    heard = hashlib.sha256(recording.path.read_bytes()).hexdigest()[:8]
    words = [Word(0.0, 0.5, "Um,"), Word(0.5, 1.5, f"take {heard}"), Word(1.5, 2.0, "uh.")]
    segment = Segment(0, 0.0, 2.0, f"Um, take {heard} uh.", words=words)
    return Transcript(recording.relative.as_posix(), 2.0, "en", "canned", "canned", [segment])


def unheard(recording: Recording) -> Transcript:
    """A transcript with no words, warned about as `ModelSlots.recognise_one` does: the real VAD on the real audio."""
    transcript = Transcript(recording.relative.as_posix(), 2.0, "en", "canned", "canned", [])
    transcript.warnings = lost_speech(transcript, decode(recording.path).samples)
    return transcript


class CannedStages:
    """The model stages, canned: `recognised` lists every recording they were asked to recognise, in order;
    `fail` maps a recording's relative path to what recognising it raises; the recordings in `unheard` give
    no words (as a model that hears nothing in them would)."""

    def __init__(self, fail: dict[str, BaseException] | None = None, unheard: set[str] | None = None) -> None:
        self.recognised: list[str] = []
        self.fail = fail or {}
        self.unheard = unheard or set()
        self.plan: RunPlan | None = None
        self.closed = False

    def resolve(self) -> Recognition:
        return RECOGNITION

    def use(self, plan: RunPlan) -> None:
        self.plan = plan

    def recognise_all(self, batch: Batch, recordings: list[Recording], staged: bool) -> list[Pending]:
        pending = []
        for index, recording in enumerate(recordings, start=1):
            item = batch.plan_file(index, recording)
            if isinstance(item, Job):
                item = self._recognise(batch, item)
            if item is not None and staged:
                pending.append(item)
            elif item is not None:
                batch.finish(item, None)
        return pending

    def _recognise(self, batch: Batch, job: Job) -> Pending | None:
        name = job.recording.relative.as_posix()
        self.recognised.append(name)
        try:
            if name in self.fail:
                raise self.fail[name]
            transcript = unheard(job.recording) if name in self.unheard else canned(job.recording)
            batch.cache.put(job.digest, batch.asr_hash, transcript)
        except Exception as exc:
            batch.failed(job.recording, exc, "recognise")
            return None
        return batch.accept(job, transcript)

    def clean_all(self, batch: Batch, pending: list[Pending]) -> None:
        for item in pending:
            batch.finish(item, None)

    def close(self, batch: Batch | None) -> None:
        self.closed = True


def run_canned(
    inp: Path, out: Path, stages: CannedStages | None = None, **flags: Any
) -> tuple[Summary, str, CannedStages]:
    """One batch over `inp` into `out` on canned stages, in this process: its summary, its stderr text, the
    stages (to see what they were asked to recognise)."""
    stages = stages or CannedStages()
    stream = io.StringIO()
    reporter = Reporter(stream)
    settings = load_settings({"input": str(inp), "output": str(out), "cleanup": "rules", **flags}, environ={})
    plan = resolve_plan(settings, stages.resolve(), reporter.note)
    summary = run_batch(plan, stages, reporter, find_recordings(settings))
    return summary, stream.getvalue(), stages
