"""Speaker scores beside DER for `transcriber bench`: JER (pyannote.metrics) and cpWER (meeteval).

JER, the Jaccard error rate of DIHARD, weighs every reference speaker equally, so a quiet speaker merged
into a loud one shows even where DER barely moves. cpWER is the WER after the best one-to-one pairing of
reference and hypothesis speakers (CHiME's measure): every word said by the wrong speaker costs. Both are
None where their package or reference (`<stem>.stm` for cpWER: `file channel speaker start end words`)
is missing; text is lowercased and stripped of punctuation before cpWER, as the STM references are not.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from transcriber.diarize import Turn
from transcriber.transcript import Transcript


def jer(reference: Sequence[Turn], hypothesis: Sequence[Turn]) -> float | None:
    """pyannote.metrics' JER (no collar), or None when pyannote.metrics is not installed."""
    if importlib.util.find_spec("pyannote.metrics") is None:
        return None
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import JaccardErrorRate

    def annotation(turns: Sequence[Turn]) -> Annotation:
        out = Annotation()
        for n, turn in enumerate(turns):
            out[Segment(turn.start, turn.end), n] = turn.speaker
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(JaccardErrorRate()(annotation(reference), annotation(hypothesis)))


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def cpwer_counts(stm: Path, transcript: Transcript) -> tuple[int, int] | None:
    """(errors, reference words) of cpWER against `stm`, or None without meeteval or the file."""
    if importlib.util.find_spec("meeteval") is None or not stm.is_file():
        return None
    from meeteval.wer import cp_word_error_rate

    reference: dict[str, list[str]] = {}
    for line in stm.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6:
            reference.setdefault(parts[2], []).append(_words(parts[5]))
    hypothesis: dict[str, list[str]] = {}
    for word in (w for s in transcript.segments for w in s.words):
        hypothesis.setdefault(word.speaker or "", []).append(_words(word.text))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = cp_word_error_rate(
            [" ".join(t for t in texts if t) for texts in reference.values()],
            [" ".join(t for t in texts if t) for texts in hypothesis.values()],
        )
    return int(score.errors), int(score.length)
