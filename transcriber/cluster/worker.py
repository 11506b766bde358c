"""What runs on one Ray actor: the models of one GPU or CPU slot, loaded once, serving file after file.

Plain Python, no Ray import: `pool` turns the class into an actor. The models are built exactly as a local
run builds them (`EngineSlot`, the diarize stage, `load_llm`), and a recording is decoded by the same
`decode`, from the bytes the driver sent or from a shared path. Every failure comes back as data, a
one-line message naming the node, so a worker without the model fails files, not the batch.
"""

from __future__ import annotations

import io
import os
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transcriber.audio import decode
from transcriber.batch import EngineSlot, diarize_stage, load_llm
from transcriber.cleanup import apply_cleanup
from transcriber.errors import AudioError, TranscriberError, describe_failure, display
from transcriber.lost_speech import lost_speech
from transcriber.progress import Reporter
from transcriber.settings import Settings
from transcriber.transcript import Transcript

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner


class Worker:
    """The actor: `describe` once, then `recognise` per file, then (with --cleanup llm) `clean` per file."""

    def __init__(self, settings: Settings, node: str) -> None:
        """`node`: the address of the node Ray placed it on (as `ray status` shows it), for messages."""
        self.settings = settings
        self.node, self.pid = node, os.getpid()
        self._notes = io.StringIO()
        reporter = Reporter(self._notes)
        self.error: str | None = None
        self.slot: EngineSlot | None = None
        self.llm: LlmCleaner | None = None
        self.speakers = None
        try:
            self.slot = EngineSlot(settings, reporter)
            self.speakers = diarize_stage(settings, reporter)
        except TranscriberError as exc:  # the model is not on this node, an extra is missing: say so per file
            self.error = str(exc)

    def describe(self) -> dict[str, Any]:
        """Where this worker runs and the settings keys its models resolve to (None if it cannot load them)."""
        keys = None
        if self.slot is not None:
            asr_key = self.slot.key()
            keys = (asr_key, self.speakers.key(asr_key) if self.speakers else asr_key)
        return {"pid": self.pid, "keys": keys, "error": self.error,
                "notes": self._notes.getvalue().splitlines()}  # fmt: skip

    def recognise(self, path: str, source: str, data: bytes | None, asr: dict[str, Any] | None) -> dict[str, Any]:
        """Decode, recognise (unless `asr` is the cached plain transcript) and diarize one recording.

        Returns {"asr": plain transcript if recognised here, "raw": diarized transcript if diarized,
        "duration", "seconds"}, or {"error": one line, "fatal": whether this worker is done for, ...}.
        """
        started, stage = time.perf_counter(), "decode"
        result: dict[str, Any] = {}
        try:
            if data is None and not os.path.lexists(path):
                raise AudioError(f"{display(path)}: decode: is not at that path on this node; --shared-input needs "
                                 "--input at the same path on every node (leave it out to send the bytes)")  # fmt: skip
            audio = decode(Path(path), data, self.settings.track)
            stage = "recognise"
            if self.slot is None:
                raise TranscriberError(self.error)
            transcript = Transcript.from_dict(asr) if asr is not None else None
            if transcript is None:
                transcript = self.slot.get().transcribe(audio.samples, source=source)
                transcript.warnings = [*audio.warnings, *transcript.warnings, *lost_speech(transcript, audio.samples)]
                result["asr"] = transcript.to_dict()
            if self.speakers:
                stage = "diarize"
                self.speakers.apply(transcript, audio.samples)
                result["raw"] = transcript.to_dict()
            result["duration"] = audio.duration
        except Exception as exc:
            result |= self._failure(exc, stage, path)
        return result | {"seconds": time.perf_counter() - started}

    def clean(self, path: str, transcript: dict[str, Any]) -> dict[str, Any]:
        """The LLM cleanup of one recognised transcript; the ASR model and diarizer are freed first."""
        started = time.perf_counter()
        try:
            if self.llm is None:
                self._free_recognition()
                self.llm = load_llm(self.settings)
            cleaned = Transcript.from_dict(transcript)
            apply_cleanup(cleaned, self.settings.cleanup, self.llm)
            result: dict[str, Any] = {"transcript": cleaned.to_dict(), "stats": asdict(self.llm.stats)}
        except Exception as exc:
            result = self._failure(exc, "clean", path)
        return result | {"seconds": time.perf_counter() - started}

    def _free_recognition(self) -> None:
        if self.slot is not None:
            self.slot.close()
        if self.speakers:
            self.speakers.close()

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
