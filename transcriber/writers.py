"""Output writers: one small class per format, chosen by `get_writer`; adding a format is one class.

Every writer renders a string; `write_atomic` puts it in place through a temp file and a rename, so a
crash or Ctrl-C never leaves a half-written transcript behind.
"""

from __future__ import annotations

import difflib
import html
import itertools
import textwrap
from pathlib import Path

from transcriber.atomic import TEMP_SUFFIX
from transcriber.atomic import write_all_atomic as write_all_atomic  # re-exported: one definition, shared with the host
from transcriber.atomic import write_atomic as write_atomic
from transcriber.page.render import render_page
from transcriber.transcript import Segment, Transcript, Word

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


def _timestamp(seconds: float, decimal_marker: str = ".") -> str:
    """`HH:MM:SS.mmm` (SRT wants a comma before the milliseconds, VTT a dot), by faster-whisper's formatter."""
    from faster_whisper.utils import format_timestamp  # its package loads ctranslate2: only when a cue is written

    return format_timestamp(max(seconds, 0.0), always_include_hours=True, decimal_marker=decimal_marker)


def _cue_texts(text: str) -> list[str]:
    """`text` wrapped into lines of at most `CUE_LINE_CHARS`, grouped `CUE_MAX_LINES` lines to a cue."""
    lines = textwrap.wrap(text, CUE_LINE_CHARS)
    return ["\n".join(lines[i : i + CUE_MAX_LINES]) for i in range(0, len(lines), CUE_MAX_LINES)]


def _split_cue(start: float, end: float, text: str) -> list[tuple[float, float, str]]:
    """The fallback for a segment without word times: its cues timed by each cue's share of the text."""
    groups = _cue_texts(text)
    total = sum(len(g) for g in groups)
    cues, at = [], start
    for group in groups:
        until = at + (end - start) * len(group) / total
        cues.append((at, until, group))
        at = until
    return cues


def _normal(token: str) -> str:
    return "".join(ch for ch in token.lower() if ch.isalnum())


def _word_of_token(tokens: list[str], words: list[Word]) -> list[int] | None:
    """For each clean token, the index of the recognised word it came from; None when nothing lines up.

    Cleanup drops and mends words, so the clean tokens are aligned to the recognised ones (difflib, on
    lowercase letters and digits); a token cleanup rewrote takes the next matched word (the last one at the end).
    """
    matcher = difflib.SequenceMatcher(None, [_normal(t) for t in tokens], [_normal(w.text) for w in words], False)
    found: list[int | None] = [None] * len(tokens)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            found[block.a + k] = block.b + k
    if all(i is None for i in found):
        return None
    following: int | None = None
    for k in reversed(range(len(found))):
        if found[k] is None:
            found[k] = following
        else:
            following = found[k]
    last = max(i for i in found if i is not None)
    return [i if i is not None else last for i in found]


def _split_at_words(start: float, end: float, text: str, words: list[Word]) -> list[tuple[float, float, str]] | None:
    """Cues that begin at their first word's start and end at their last word's end, clamped to `start`..`end`.

    None when the words cannot time every cue (nothing aligns, or a cue would be empty in time).
    """
    groups = _cue_texts(text)
    index = _word_of_token([token for group in groups for token in group.split()], words)  # wrap may split words
    if index is None:
        return None
    cues, first, at = [], 0, start
    for group in groups:
        last = first + len(group.split()) - 1
        cue_start = min(max(words[index[first]].start, at), end)
        cue_end = min(words[index[last]].end, end)
        if cue_end - cue_start < 0.01:
            return None
        cues.append((cue_start, cue_end, group))
        first, at = last + 1, cue_end
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
        split = _split_at_words(start, end, text, seg.words) if seg.words else None
        cues.extend((*cue, seg) for cue in split or _split_cue(start, end, text))
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
        paras = [_label(transcript, g[0]) + _join(g) for g in paragraphs(transcript.segments)]
        return "\n\n".join(paras) + "\n" if paras else ""


class MarkdownWriter(Writer):
    extension = "md"

    def render(self, transcript: Transcript) -> str:
        title = Path(transcript.source).stem
        rows = [
            ("Source", f"`{transcript.source}`"),
            ("Duration", _timestamp(transcript.duration)[:-4]),
            ("Language", transcript.language),
            ("Model", f"{transcript.model} ({transcript.engine})"),
            ("Cleanup", transcript.cleanup),
        ]
        if transcript.speakers:
            rows.append(("Speakers", ", ".join(s.name for s in transcript.speakers)))
        lines = [f"# {title}", "", "| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], ""]
        for group in paragraphs(transcript.segments):
            anchor = _timestamp(group[0].start)[:-4]
            speaker = f"**{_label(transcript, group[0], ':')}** " if group[0].speaker else ""
            lines += [f"**[{anchor}]** {speaker}{_join(group)}", ""]
        return "\n".join(lines)


class _CueWriter(Writer):
    """SRT and VTT share the cues; they differ in the header, the cue number, the decimal marker and the speaker."""

    header: tuple[str, ...] = ()
    decimal_marker = "."

    def number(self, n: int) -> str:
        return ""

    def body(self, transcript: Transcript, segment: Segment, text: str) -> str:
        raise NotImplementedError

    def render(self, transcript: Transcript) -> str:
        blocks = [
            f"{self.number(n)}{_timestamp(start, self.decimal_marker)} --> {_timestamp(end, self.decimal_marker)}\n"
            f"{self.body(transcript, seg, text)}\n"
            for n, (start, end, text, seg) in enumerate(_cues(transcript), start=1)
        ]
        return "\n".join([*self.header, *blocks])


class SrtWriter(_CueWriter):
    extension = "srt"
    decimal_marker = ","

    def number(self, n: int) -> str:
        return f"{n}\n"

    def body(self, transcript: Transcript, segment: Segment, text: str) -> str:
        return f"{_label(transcript, segment)}{text}"


class VttWriter(_CueWriter):
    extension = "vtt"
    header = ("WEBVTT\n",)

    def body(self, transcript: Transcript, segment: Segment, text: str) -> str:
        return f"{_voice(transcript, segment)}{html.escape(text, quote=False)}"


def _voice(transcript: Transcript, segment: Segment) -> str:
    """A WebVTT voice tag (`<v Ana>`) for a diarized cue; the name escaped as cue text must be."""
    name = transcript.speaker_name(segment.speaker)
    return f"<v {html.escape(name, quote=False)}>" if segment.speaker else ""


class JsonWriter(Writer):
    extension = "json"

    def render(self, transcript: Transcript) -> str:
        return transcript.to_json()


class HtmlWriter(Writer):
    """A self-contained review page (`transcriber.page`); `audio` is its player's source, "" for none."""

    extension = "html"

    def __init__(self, audio: str = "") -> None:
        self.audio = audio

    def render(self, transcript: Transcript) -> str:
        return render_page(transcript, self.audio)


class VerbatimWriter(Writer):
    """The recognised text before cleanup, always written beside the clean outputs."""

    extension = "verbatim.txt"

    def render(self, transcript: Transcript) -> str:
        if transcript.speakers:
            turns = [list(group) for _, group in itertools.groupby(transcript.segments, key=lambda s: s.speaker)]
            paras = [_label(transcript, t[0]) + " ".join(s.text.strip() for s in t) for t in turns]
            return "\n\n".join(paras) + "\n" if paras else ""
        text = transcript.verbatim_text
        return text + "\n" if text else ""


WRITERS: dict[str, type[Writer]] = {
    w.extension: w for w in (TxtWriter, MarkdownWriter, SrtWriter, VttWriter, JsonWriter, HtmlWriter)
}
FORMATS = tuple(WRITERS)


def get_writer(fmt: str) -> Writer:
    return WRITERS[fmt]()
