"""All five formats from a real run: SRT and VTT parse back with sane times, JSON round-trips."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import load_transcripts
from transcriber.transcript import Segment, Transcript
from transcriber.writers import CUE_LINE_CHARS, SrtWriter, TxtWriter

_SRT_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)$")
_VTT_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$")


def _seconds(parts: tuple[str, ...]) -> float:
    h, m, s, ms = (int(p) for p in parts)
    return h * 3600 + m * 60 + s + ms / 1000


def _parse_cues(text: str, pattern: re.Pattern[str]) -> list[tuple[float, float, str]]:
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        timing = next(i for i, line in enumerate(lines) if pattern.match(line))
        match = pattern.match(lines[timing])
        assert match is not None
        groups = match.groups()
        cues.append((_seconds(groups[:4]), _seconds(groups[4:]), "\n".join(lines[timing + 1 :])))
    return cues


def _check_cues(cues: list[tuple[float, float, str]], duration: float) -> None:
    assert cues
    previous_end = 0.0
    for start, end, text in cues:
        assert previous_end <= start < end <= duration + 0.001
        assert text.strip()
        assert all(len(line) <= CUE_LINE_CHARS for line in text.splitlines())
        assert len(text.splitlines()) <= 2
        previous_end = end


def test_all_formats_exist(example_run: Path) -> None:
    for source in load_transcripts(example_run):
        stem = example_run / Path(source).with_suffix("")
        for ext in ("txt", "md", "srt", "vtt", "json", "verbatim.txt"):
            assert Path(f"{stem}.{ext}").stat().st_size > 0, f"{stem}.{ext}"


def test_srt_and_vtt_parse_back(example_run: Path) -> None:
    for source, data in load_transcripts(example_run).items():
        stem = example_run / Path(source).with_suffix("")
        srt = Path(f"{stem}.srt").read_text(encoding="utf-8")
        vtt = Path(f"{stem}.vtt").read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT\n\n")
        srt_cues = _parse_cues(srt, _SRT_TIME)
        vtt_cues = _parse_cues(vtt.removeprefix("WEBVTT\n\n"), _VTT_TIME)
        _check_cues(srt_cues, data["duration"])
        assert [c[:2] for c in srt_cues] == [c[:2] for c in vtt_cues]
        assert [b.splitlines()[0] for b in srt.strip().split("\n\n")] == [str(n) for n in range(1, len(srt_cues) + 1)]
        cue_words = " ".join(c[2] for c in srt_cues).split()
        assert cue_words == data["clean_text"].split()


def test_json_and_text_agree(example_run: Path) -> None:
    for source, data in load_transcripts(example_run).items():
        stem = example_run / Path(source).with_suffix("")
        transcript = Transcript.from_json(Path(f"{stem}.json").read_text(encoding="utf-8"))
        assert transcript.to_dict() == data
        assert Path(f"{stem}.txt").read_text(encoding="utf-8").split() == transcript.clean_text.split()
        verbatim = Path(f"{stem}.verbatim.txt").read_text(encoding="utf-8")
        assert verbatim.split() == transcript.verbatim_text.split()
        markdown = Path(f"{stem}.md").read_text(encoding="utf-8")
        assert markdown.startswith(f"# {Path(source).stem}\n")
        assert "**[00:00:00]**" in markdown
        assert "| Model | tiny.en (faster-whisper) |" in markdown


def test_long_segment_becomes_several_short_cues() -> None:
    text = " ".join(f"word{n}" for n in range(60))
    transcript = Transcript(
        source="long.wav",
        duration=30.0,
        language="en",
        model="m",
        engine="e",
        segments=[Segment(id=0, start=1.0, end=29.0, text=text, clean_text=text)],
    )
    cues = _parse_cues(SrtWriter().render(transcript), _SRT_TIME)
    _check_cues(cues, transcript.duration)
    assert len(cues) > 3
    assert cues[0][0] == 1.0
    assert abs(cues[-1][1] - 29.0) < 0.002
    assert " ".join(c[2] for c in cues).split() == text.split()


def test_paragraphs_break_at_long_pauses() -> None:
    segments = [
        Segment(id=0, start=0.0, end=2.0, text="a", clean_text="First point."),
        Segment(id=1, start=2.2, end=4.0, text="b", clean_text="Still first."),
        Segment(id=2, start=9.0, end=10.0, text="c", clean_text="Second point."),
    ]
    transcript = Transcript(source="p.wav", duration=10.0, language="en", model="m", engine="e", segments=segments)
    assert TxtWriter().render(transcript) == "First point. Still first.\n\nSecond point.\n"


def test_empty_transcript_writes_empty_files() -> None:
    transcript = Transcript(source="silence.wav", duration=5.0, language="en", model="m", engine="e")
    assert TxtWriter().render(transcript) == ""
    assert SrtWriter().render(transcript) == ""
