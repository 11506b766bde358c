"""What runs on one Ray actor: the models of one GPU or CPU slot, loaded once, serving file after file.

Plain Python, no Ray import: `pool` turns the class into an actor. Each worker resolves what its node would
run (`plan.resolve_recognition`) for the driver to compare, then receives the run's plan and checks that it
agrees; the models are held and used exactly as a local run does (`slots.ModelSlots`, `recognise_one`),
and a recording is decoded by the same `decode`, from the bytes the driver sent or from a shared path.
Every failure comes back as data, a one-line message naming the node, so a worker without the model fails
files, not the batch.
"""

from __future__ import annotations

import io
import os
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from transcriber.audio import decode
from transcriber.cleanup import apply_cleanup
from transcriber.errors import AudioError, TranscriberError, describe_failure, display
from transcriber.plan import Recognition, RunPlan, resolve_recognition
from transcriber.progress import Reporter
from transcriber.settings import Settings
from transcriber.slots import ModelSlots
from transcriber.transcript import Transcript


class Worker:
    """The actor: `describe` and `use` once, then `recognise` per file, then (with --cleanup llm) `clean` per file."""

    def __init__(self, settings: Settings, node: str) -> None:
        """`node`: the address of the node Ray placed it on (as `ray status` shows it), for messages."""
        self.settings = settings
        self.node, self.pid = node, os.getpid()
        self._notes = io.StringIO()
        reporter = Reporter(self._notes)
        self.error: str | None = None
        self.recognition: Recognition | None = None
        self.slots: ModelSlots | None = None
        try:
            self.recognition = resolve_recognition(settings, reporter.note)
        except TranscriberError as exc:  # the model is not on this node, an extra is missing: say so per file
            self.error = str(exc)

    def describe(self) -> dict[str, Any]:
        """Where this worker runs, what its node resolves and the settings keys of that (None if it cannot
        load the models)."""
        keys = self.recognition.keys(self.settings) if self.recognition is not None else None
        return {"pid": self.pid, "keys": keys, "recognition": self.recognition, "error": self.error,
                "notes": self._notes.getvalue().splitlines()}  # fmt: skip

    def use(self, plan: RunPlan) -> str | None:
        """Take the run's plan; None if this node resolves the same recognition, else why not (the pool drops
        such a worker, as it drops one whose `describe` disagreed)."""
        if self.recognition is None:
            return self.error
        if self.recognition.keys(plan.settings) != (plan.asr_key, plan.raw_key):
            mine = self.recognition.asr_key(plan.settings)
            return f"its models resolve otherwise ({mine}); give --model and --device"
        self.settings = plan.settings
        # This node's own folders (its cache may sit elsewhere), with the files the plan's fingerprint names.
        # Speakers keep their file-local ids: the driver's one registry gives the batch's (`RayStages`).
        self.slots = ModelSlots(plan.settings, self.recognition, plan.llm, batch_ids=False)
        return None

    def recognise(self, path: str, source: str, data: bytes | None, asr: dict[str, Any] | None) -> dict[str, Any]:
        """Decode, recognise (unless `asr` is the cached plain transcript) and diarize one recording.

        Returns {"asr": plain transcript if recognised here, "raw": diarized transcript if diarized (speakers
        under file-local ids), "voices": its `FileVoices` (None without centroids), "duration", "seconds"}, or
        {"error": one line, "fatal": whether this worker is done for, ...}.
        """
        started, stage = time.perf_counter(), "decode"
        result: dict[str, Any] = {}

        def step(now: str) -> None:
            nonlocal stage
            stage = now

        def keep(kind: str, transcript: Transcript) -> None:
            result[kind] = transcript.to_dict()

        try:
            if data is None and not os.path.lexists(path):
                raise AudioError(f"{display(path)}: decode: is not at that path on this node; --shared-input needs "
                                 "--input at the same path on every node (leave it out to send the bytes)")  # fmt: skip
            audio = decode(Path(path), data, self.settings.track)
            stage = "recognise"
            if self.slots is None:
                raise TranscriberError(self.error)
            cached = Transcript.from_dict(asr) if asr is not None else None
            self.slots.recognise_one(audio.samples, source, cached, audio.warnings, step, keep)
            if self.slots.speakers is not None:
                result["voices"] = self.slots.speakers.voices
            result["duration"] = audio.duration
        except Exception as exc:
            result |= self._failure(exc, stage, path)
        return result | {"seconds": time.perf_counter() - started}

    def clean(self, path: str, transcript: dict[str, Any]) -> dict[str, Any]:
        """The LLM cleanup of one recognised transcript; the ASR model and diarizer are freed first."""
        started = time.perf_counter()
        try:
            if self.slots is None:
                raise TranscriberError(self.error)
            llm = self.slots.llm()
            cleaned = Transcript.from_dict(transcript)
            apply_cleanup(cleaned, self.settings.cleanup, llm)
            result: dict[str, Any] = {"transcript": cleaned.to_dict(), "stats": asdict(llm.stats)}
        except Exception as exc:
            result = self._failure(exc, "clean", path)
        return result | {"seconds": time.perf_counter() - started}

    def _failure(self, exc: Exception, stage: str, path: str) -> dict[str, Any]:
        """The usual one-line message, with the node named after the stage (`<path>: <stage>: on node N: ...`)."""
        if isinstance(exc, TranscriberError) and not isinstance(exc, AudioError):
            message, fatal = f"{path}: {stage}: {exc}", False  # a model that is not on this node, say
        else:
            message, fatal = describe_failure(exc, stage, path, "the output folder")
        head = f"{path}: {stage}: "
        if message.startswith(head):
            message = f"{head}on node {self.node}: {message[len(head) :]}"
        else:
            message = f"{message} (on node {self.node})"
        return {"error": display(message), "fatal": fatal, "traceback": "".join(traceback.format_exception(exc))}
