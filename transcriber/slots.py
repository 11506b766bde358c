"""The models of a run, each loaded on first use and freed when its stage is over, and `recognise_one`.

Both the local stages and a Ray worker hold one `ModelSlots` and call `recognise_one` per file, so a file is
recognised and diarized the same way wherever it runs. The slots load exactly what the plan names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from transcriber.catalog import TRANSFORMERS_ASR_CATALOG
from transcriber.engines.base import Engine
from transcriber.errors import ConfigError
from transcriber.lost_speech import lost_speech
from transcriber.memory_fit import Fit, llm_fits_beside
from transcriber.plan import Recognition, require_llm
from transcriber.settings import Settings
from transcriber.text_language import record_language
from transcriber.transcript import Transcript

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner
    from transcriber.diarize.stage import DiarizeStage


class EngineSlot:
    """The speech engine the recognition names, built on first use.

    Public because `transcriber bench` loads engines as a batch does, so a benchmark measures what
    `transcriber run` would load.
    """

    def __init__(self, settings: Settings, recognition: Recognition) -> None:
        self.settings, self.recognition = settings, recognition
        self._engine: Engine | None = None

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def get(self) -> Engine:
        if self._engine is None:
            builders = {"audio LLM": self._multimodal, "Seamless": self._seamless, "transformers": self._transformers}
            self._engine = builders.get(self.recognition.engine, self._whisper)()
        return self._engine

    def _multimodal(self) -> Engine:
        from transcriber.engines.audio_llm import AudioLlmEngine

        s, r = self.settings, self.recognition
        return AudioLlmEngine(r.model, r.device, s.language, s.multimodal_verbatim, s.vram)

    def _seamless(self) -> Engine:
        from transcriber.engines.seamless import SeamlessEngine

        s, r = self.settings, self.recognition
        return SeamlessEngine(r.model, r.device, s.language, s.translate_to, r.batch_size, s.beam_size, s.vram)

    def _transformers(self) -> Engine:
        from transcriber.engines.transformers_asr import TransformersAsrEngine

        r = self.recognition
        return TransformersAsrEngine(r.model, r.device, self.settings.language, r.batch_size)

    def _whisper(self) -> Engine:
        from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions

        s, r = self.settings, self.recognition
        options = WhisperOptions(language=None if s.language == "auto" else s.language, beam_size=s.beam_size,
                                 batch_size=r.batch_size, vad=s.vad)  # fmt: skip
        assert r.model_path is not None  # resolve_model always gives the pipeline a folder
        try:
            return FasterWhisperEngine(r.model_path, r.model, r.device, r.compute_type, options)
        except ValueError as exc:  # CTranslate2 says so for an unsupported compute type on this device
            raise ConfigError(f"--compute-type {r.compute_type} on {r.device}: {exc}") from exc

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def load_llm(settings: Settings, name: str) -> LlmCleaner:
    """The cleanup LLM `name` with the settings' mode, precision and device, or a clear error if the extra is
    missing. Public so `transcriber bench` loads the cleanup model the way a batch does."""
    require_llm()
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions

    return LlmCleaner(LlmOptions(name, settings.cleanup_mode, settings.llm_quant, settings.device))


#: Told each stage a file enters ("recognise", "diarize"), so a failure names the right one.
Step = Callable[[str], None]
#: Given each result worth caching as soon as it exists: ("asr", plain transcript), ("raw", diarized one).
Keep = Callable[[str, Transcript], None]


class ModelSlots:
    """The engine, the diarizer and the cleanup LLM of one run (or one Ray worker), each loaded on first use.

    A run's recogniser is freed before the LLM loads: it is not needed again. `lasting` slots (a watcher's)
    keep it beside the LLM while both fit (`transcriber.memory_fit`, decided once, when the LLM first
    loads), so the next recording does not load it again; where they do not fit, one is freed before the
    other loads.
    """

    def __init__(self, settings: Settings, recognition: Recognition, llm: str = "", lasting: bool = False,
                 batch_ids: bool = True) -> None:  # fmt: skip
        """`batch_ids=False` (a Ray worker) leaves speakers their file-local ids (`DiarizeStage`)."""
        self.settings, self.llm_name, self.lasting = settings, llm, lasting
        #: Whether the LLM fits beside the recogniser; None until the LLM first loads (lasting slots only).
        self.fit: Fit | None = None
        self.engine = EngineSlot(settings, recognition)
        self.speakers: DiarizeStage | None = None
        if recognition.diarizer is not None:
            from transcriber.diarize.stage import DiarizeStage

            self.speakers = DiarizeStage(settings, recognition.diarizer, batch_ids)
        self._llm: LlmCleaner | None = None

    def recognise_one(self, samples: np.ndarray, source: str, asr: Transcript | None, warnings: list[str],
                      step: Step, keep: Keep) -> Transcript:  # fmt: skip
        """One file's transcript: recognised (unless `asr` is its cached plain transcript, then only
        diarized), with the decoder's `warnings` first; each new result goes to `keep` at once, so a failing
        diarizer does not cost the recognition."""
        step("recognise")
        transcript = asr
        if transcript is None:
            transcript = self.engine.get().transcribe(samples, source=source)
            transcript.warnings = [*warnings, *transcript.warnings, *lost_speech(transcript, samples)]
            record_language(transcript, self.settings.language, self.languages())
            keep("asr", transcript)
        else:  # cached before its language was looked for in its words
            record_language(transcript, self.settings.language, self.languages())
        if self.speakers is not None:
            step("diarize")
            self.speakers.apply(transcript, samples)
            keep("raw", transcript)
        return transcript

    def languages(self) -> tuple[str, ...] | None:
        """The languages the recogniser writes, where the catalog lists them (a transformers recogniser); public
        for `transcriber bench`, which recognises as a run does."""
        info = TRANSFORMERS_ASR_CATALOG.get(self.engine.recognition.model)
        return info.languages if info else None

    def recogniser(self) -> Engine:
        """The speech engine, loaded if need be; an LLM that does not fit beside it is freed first."""
        if not self.engine.loaded and self._llm is not None and not self._together():
            self._llm.close()
            self._llm = None
        return self.engine.get()

    def llm(self) -> LlmCleaner:
        """The cleanup LLM, loaded on first use; the recognition models are freed first unless they stay."""
        if not self._together():
            self.free_recognition()
        if self._llm is None:
            self._llm = load_llm(self.settings, self.llm_name)
        return self._llm

    def _together(self) -> bool:
        """Whether the recogniser stays beside the LLM: lasting slots whose two models fit."""
        if not self.lasting:
            return False
        if self.fit is None:
            self.fit = llm_fits_beside(self.settings, self.llm_name)
        return self.fit.together

    def free_recognition(self) -> None:
        self.engine.close()
        if self.speakers is not None:
            self.speakers.close()

    def close(self) -> None:
        self.free_recognition()
        if self._llm is not None:
            self._llm.close()
            self._llm = None
