"""Output writers: one small class per format, chosen by `get_writer`; adding a format is one class.

Every writer renders a string; `write_atomic` puts it in place through a temp file and a rename, so a
crash or Ctrl-C never leaves a half-written transcript behind.
"""

from __future__ import annotations

import html
import itertools
import textwrap
from pathlib import Path

from transcriber.shared import TEMP_SUFFIX
from transcriber.shared import write_all_atomic as write_all_atomic  # re-exported: one definition, shared with the host
from transcriber.shared import write_atomic as write_atomic
from transcriber.transcript import Segment, Transcript

PARAGRAPH_GAP_SECONDS = 2.0
PARAGRAPH_MAX_WORDS = 120
CUE_LINE_CHARS = 42
CUE_MAX_LINES = 2


def sweep_temp_files(folder: Path) -> int:
    """Remove temp files a killed run left under `folder`; returns how many."""
    stale = list(folder.rglob(f".*{TEMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def paragraphs(segments: list[Segment]) -> list[list[Segment]]:
    """Group clean segments into paragraphs at long pauses, speaker changes or after `PARAGRAPH_MAX_WORDS` words."""
    groups: list[list[Segment]] = []
    words = 0
    for seg in segments:
        if not seg.clean_text.strip():
            continue
        pause = bool(groups) and seg.start - groups[-1][-1].end >= PARAGRAPH_GAP_SECONDS
        turn = bool(groups) and seg.speaker != groups[-1][-1].speaker
        if not groups or pause or turn or words >= PARAGRAPH_MAX_WORDS:
            groups.append([])
            words = 0
        groups[-1].append(seg)
        words += len(seg.clean_text.split())
    return groups


def _join(group: list[Segment]) -> str:
    return " ".join(s.clean_text.strip() for s in group)


def _label(transcript: Transcript, segment: Segment, suffix: str = ": ") -> str:
    """ "Name: " before a diarized segment's text; "" when the recording was not diarized."""
    return f"{transcript.speaker_name(segment.speaker)}{suffix}" if segment.speaker else ""


def _clock(seconds: float, sep: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _split_cue(start: float, end: float, text: str) -> list[tuple[float, float, str]]:
    """Split a segment's text into cues of at most two lines of `CUE_LINE_CHARS`, timed by share of text."""
    lines = textwrap.wrap(text, CUE_LINE_CHARS)
    groups = ["\n".join(lines[i : i + CUE_MAX_LINES]) for i in range(0, len(lines), CUE_MAX_LINES)]
    total = sum(len(g) for g in groups)
    cues, at = [], start
    for group in groups:
        until = at + (end - start) * len(group) / total
        cues.append((at, until, group))
        at = until
    return cues


def _cues(transcript: Transcript) -> list[tuple[float, float, str, Segment]]:
    """Clean segments as cues: clamped into the audio, never overlapping, at most two short lines each."""
    cues: list[tuple[float, float, str, Segment]] = []
    last_end = 0.0
    for seg in transcript.segments:
        text = seg.clean_text.strip()
        start = min(max(seg.start, last_end), transcript.duration)
        end = min(seg.end, transcript.duration)
        if not text or end - start < 0.01:
            continue
        cues.extend((*cue, seg) for cue in _split_cue(start, end, text))
        last_end = end
    return cues


class Writer:
    """Renders a transcript in one format; `extension` is the output file's suffix."""

    extension = ""

    def render(self, transcript: Transcript) -> str:
        raise NotImplementedError


class TxtWriter(Writer):
    extension = "txt"

    def render(self, transcript: Transcript) -> str:
        paras = [textwrap.fill(_label(transcript, g[0]) + _join(g), 100) for g in paragraphs(transcript.segments)]
        return "\n\n".join(paras) + "\n" if paras else ""


class MarkdownWriter(Writer):
    extension = "md"

    def render(self, transcript: Transcript) -> str:
        title = Path(transcript.source).stem
        rows = [
            ("Source", f"`{transcript.source}`"),
            ("Duration", _clock(transcript.duration, ".")[:-4]),
            ("Language", transcript.language),
            ("Model", f"{transcript.model} ({transcript.engine})"),
            ("Cleanup", transcript.cleanup),
        ]
        if transcript.speakers:
            rows.append(("Speakers", ", ".join(s.name for s in transcript.speakers)))
        lines = [f"# {title}", "", "| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], ""]
        for group in paragraphs(transcript.segments):
            anchor = _clock(group[0].start, ".")[:-4]
            speaker = f"**{_label(transcript, group[0], ':')}** " if group[0].speaker else ""
            lines += [f"**[{anchor}]** {speaker}{_join(group)}", ""]
        return "\n".join(lines)


class SrtWriter(Writer):
    extension = "srt"

    def render(self, transcript: Transcript) -> str:
        blocks = [
            f"{n}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{_label(transcript, seg)}{text}\n"
            for n, (start, end, text, seg) in enumerate(_cues(transcript), start=1)
        ]
        return "\n".join(blocks)


class VttWriter(Writer):
    extension = "vtt"

    def render(self, transcript: Transcript) -> str:
        blocks = [
            f"{_clock(s, '.')} --> {_clock(e, '.')}\n{_voice(transcript, seg)}{html.escape(text, quote=False)}\n"
            for s, e, text, seg in _cues(transcript)
        ]
        return "\n".join(["WEBVTT\n", *blocks])


def _voice(transcript: Transcript, segment: Segment) -> str:
    """A WebVTT voice tag (`<v Ana>`) for a diarized cue; the name escaped as cue text must be."""
    name = transcript.speaker_name(segment.speaker)
    return f"<v {html.escape(name, quote=False)}>" if segment.speaker else ""


class JsonWriter(Writer):
    extension = "json"

    def render(self, transcript: Transcript) -> str:
        return transcript.to_json()


class VerbatimWriter(Writer):
    """The recognised text before cleanup, always written beside the clean outputs."""

    extension = "verbatim.txt"

    def render(self, transcript: Transcript) -> str:
        if transcript.speakers:
            turns = [list(group) for _, group in itertools.groupby(transcript.segments, key=lambda s: s.speaker)]
            paras = [_label(transcript, t[0]) + " ".join(s.text.strip() for s in t) for t in turns]
            return "\n\n".join(textwrap.fill(p, 100) for p in paras) + "\n" if paras else ""
        text = transcript.verbatim_text
        return textwrap.fill(text, 100) + "\n" if text else ""


WRITERS: dict[str, type[Writer]] = {
    w.extension: w for w in (TxtWriter, MarkdownWriter, SrtWriter, VttWriter, JsonWriter)
}
FORMATS = tuple(WRITERS)


def get_writer(fmt: str) -> Writer:
    return WRITERS[fmt]()
