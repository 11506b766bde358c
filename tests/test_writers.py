"""All five formats from a real run: SRT and VTT parse back with sane times, JSON round-trips."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.runs import load_transcripts
from transcriber.transcript import Segment, Speaker, Transcript, Word
from transcriber.writers import CUE_LINE_CHARS, SrtWriter, TxtWriter, VerbatimWriter, VttWriter, _normal

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
        word_starts = {round(w["start"], 3) for seg in data["segments"] for w in seg["words"]}
        assert word_starts and all(round(start, 3) in word_starts for start, _, _ in srt_cues), "cues cut at words"


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


def _worded(start: float, spoken: list[str], speaker: str | None = None) -> tuple[list[Word], float]:
    """Words half a second long with a 0.3 s pause after every fifth, so cues timed by share of text would differ."""
    words, at = [], start
    for n, text in enumerate(spoken):
        words.append(Word(start=at, end=at + 0.5, text=f" {text}", speaker=speaker))
        at += 0.8 if n % 5 == 4 else 0.5
    return words, at


def test_cues_cut_at_word_timestamps() -> None:
    spoken = [w for n in range(40) for w in ([f"word{n}", "um"] if n % 7 == 3 else [f"word{n}"])]
    words, end = _worded(2.0, spoken)
    clean = " ".join(f"Word{n}," if n % 9 == 8 else f"word{n}" for n in range(40))
    segment = Segment(id=0, start=1.5, end=end + 0.2, text=" ".join(spoken), clean_text=clean, words=words)
    transcript = Transcript(source="w.wav", duration=end + 1, language="en", model="m", engine="e", segments=[segment])
    cues = _parse_cues(SrtWriter().render(transcript), _SRT_TIME)
    _check_cues(cues, transcript.duration)
    assert len(cues) >= 3
    by_name = {_normal(w.text): w for w in words}
    for start, stop, text in cues:
        tokens = text.split()
        assert abs(start - by_name[_normal(tokens[0])].start) < 0.001
        assert abs(stop - by_name[_normal(tokens[-1])].end) < 0.001
    assert " ".join(c[2] for c in cues).split() == clean.split()
    vtt = _parse_cues(VttWriter().render(transcript).removeprefix("WEBVTT\n\n"), _VTT_TIME)
    assert [c[:2] for c in vtt] == [c[:2] for c in cues]


def test_worded_cues_keep_speaker_labels() -> None:
    ana, at = _worded(0.0, "good morning everyone and welcome".split(), "S1")
    ben, end = _worded(at + 1.0, "morning thanks".split(), "S2")
    first = "Good morning everyone and welcome."
    segments = [
        Segment(id=0, start=0.0, end=at, text="x", clean_text=first, words=ana, speaker="S1"),
        Segment(id=1, start=at + 1.0, end=end, text="x", clean_text="Morning, thanks.", words=ben, speaker="S2"),
    ]
    speakers = [Speaker(id="S1", name="Ana"), Speaker(id="S2", name="Ben <guest>")]
    transcript = Transcript("t.wav", end + 1, "en", "m", "e", segments=segments, speakers=speakers)
    cues = _parse_cues(SrtWriter().render(transcript), _SRT_TIME)
    assert [c[2] for c in cues] == [f"Ana: {first}", "Ben <guest>: Morning, thanks."]
    assert abs(cues[1][0] - ben[0].start) < 0.001 and abs(cues[1][1] - ben[-1].end) < 0.001
    vtt = VttWriter().render(transcript)
    assert "\n<v Ana>Good morning" in vtt and "\n<v Ben &lt;guest&gt;>Morning, thanks." in vtt


def test_cues_fall_back_to_segment_timing_when_nothing_aligns() -> None:
    words, end = _worded(0.0, ["bonjour", "tout", "le", "monde"])
    segment = Segment(id=0, start=0.0, end=end, text="x", clean_text="Hello everyone.", words=words)
    transcript = Transcript(source="f.wav", duration=end, language="en", model="m", engine="e", segments=[segment])
    assert _parse_cues(SrtWriter().render(transcript), _SRT_TIME) == [(0.0, round(end, 3), "Hello everyone.")]


def test_vtt_escapes_cue_text_and_hours_are_kept() -> None:
    segment = Segment(id=0, start=3725.4567, end=3727.0, text="x", clean_text="a --> b < c & d")
    transcript = Transcript(source="e.wav", duration=3800.0, language="en", model="m", engine="e", segments=[segment])
    assert "01:02:05,457 --> 01:02:07,000\n" in SrtWriter().render(transcript)
    assert VttWriter().render(transcript) == "WEBVTT\n\n01:02:05.457 --> 01:02:07.000\na --&gt; b &lt; c &amp; d\n"


def test_txt_paragraphs_are_one_line_each() -> None:
    long = " ".join(f"word{n}" for n in range(80))
    segments = [
        Segment(id=0, start=0.0, end=20.0, text=long, clean_text=long),
        Segment(id=1, start=25.0, end=26.0, text="Next one.", clean_text="Next one."),
    ]
    transcript = Transcript(source="l.wav", duration=30.0, language="en", model="m", engine="e", segments=segments)
    assert TxtWriter().render(transcript) == f"{long}\n\nNext one.\n"
    assert VerbatimWriter().render(transcript) == f"{long} Next one.\n"


def test_words_broken_by_the_wrap_keep_cues_in_step() -> None:
    spoken = ["a", "well-known", "fact", *(f"w{n}" for n in range(12)), "x" * 50, "end"]
    words, end = _worded(0.0, spoken)
    text = "a well-known fact " + " ".join(spoken[3:])
    segment = Segment(id=0, start=0.0, end=end, text=text, clean_text=text, words=words)
    transcript = Transcript(source="b.wav", duration=end, language="en", model="m", engine="e", segments=[segment])
    cues = _parse_cues(SrtWriter().render(transcript), _SRT_TIME)
    _check_cues(cues, transcript.duration)
    assert "".join(c[2] for c in cues).replace("\n", "").replace(" ", "") == text.replace(" ", "")
    assert abs(cues[-1][1] - words[-1].end) < 0.001
