"""Review flags: each kind found where it should be, in transcripts built to hold it and in a real run."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import load_transcripts
from transcriber.flags import KINDS, LONG_GAP, LOW_PROBABILITY, review_flags
from transcriber.transcript import Segment, Speaker, Transcript, Word


def _words(text: str, start: float, step: float = 0.4, probability: float = 0.9) -> list[Word]:
    return [Word(start + k * step, start + (k + 1) * step, f" {w}", probability) for k, w in enumerate(text.split())]


def _segment(n: int, text: str, start: float, **extra: object) -> Segment:
    words = _words(text, start)
    return Segment(n, words[0].start, words[-1].end, text, words=words, **extra)  # type: ignore[arg-type]


def _transcript(*segments: Segment, duration: float = 60.0, language: str = "en") -> Transcript:
    return Transcript("talk.wav", duration, language, "tiny.en", "faster-whisper", list(segments))


def test_a_run_of_unsure_words_is_one_flag() -> None:
    seg = _segment(0, "the budget is due on Friday", 1.0)
    for word in seg.words[2:4]:
        word.probability = LOW_PROBABILITY / 2
    (flag,) = review_flags(_transcript(seg, duration=seg.end))
    assert (flag.kind, flag.segment) == ("low-probability", 0)
    assert (flag.start, flag.end) == (seg.words[2].start, seg.words[3].end)
    assert "is (0.20), due (0.20)" in flag.detail


def test_a_collapsed_repeat_loop_is_a_guard_flag() -> None:
    heard = "thank you " * 6 + "for coming"
    seg = _segment(0, heard, 0.0)
    seg.text = "thank you for coming"  # what collapse_loops leaves of it
    plain = _segment(1, "see you all next week", seg.end + 0.5)
    flags = review_flags(_transcript(seg, plain, duration=plain.end))
    assert [(f.kind, f.segment) for f in flags] == [("guard", 0)]


def test_an_audio_llm_window_that_failed_its_checks_is_a_guard_flag() -> None:
    transcript = _transcript(_segment(0, "hello there", 0.0), _segment(1, "and more words", 5.5), duration=10.0)
    transcript.warnings = ["window 5.0-10.0 s: repetition loop after a retry", "decoded 3.0 s of the 4.0 s"]
    (flag,) = review_flags(transcript)
    assert (flag.kind, flag.start, flag.end, flag.segment) == ("guard", 5.0, 10.0, 1)
    assert flag.detail == "repetition loop after a retry"


def test_long_silences_are_flagged_at_the_start_middle_and_end() -> None:
    first = _segment(0, "one two three", LONG_GAP + 1)
    second = _segment(1, "four five six", first.end + LONG_GAP + 2)
    near = _segment(2, "seven eight", second.end + LONG_GAP - 1)
    flags = review_flags(_transcript(first, second, near, duration=near.end + LONG_GAP))
    assert [(f.kind, f.segment, round(f.start, 1), round(f.end, 1)) for f in flags] == [
        ("gap", 0, 0.0, round(first.start, 1)),
        ("gap", 1, round(first.end, 1), round(second.start, 1)),
        ("gap", 2, round(near.end, 1), round(near.end + LONG_GAP, 1)),
    ]


def test_a_speaker_starting_before_the_other_stopped_is_overlap() -> None:
    ana = _segment(0, "so the plan is this", 0.0, speaker="S1")
    ben = _segment(1, "wait a moment", ana.end - 0.5, speaker="S2")
    after = _segment(2, "go on then", ben.end + 0.05, speaker="S1")
    transcript = _transcript(ana, ben, after, duration=after.end)
    transcript.speakers = [Speaker("S1", "Ana"), Speaker("S2", "Ben")]
    (flag,) = review_flags(transcript)
    assert (flag.kind, flag.segment, flag.detail) == ("overlap", 1, "overlapped speech: Ben over Ana")
    assert flag.end - flag.start == 0.5


def test_a_segment_in_another_language_or_script_is_flagged() -> None:
    english = _segment(0, "we will meet the team in the office on Monday", 0.0)
    german = _segment(1, "und dann ist das nicht mit der Bahn zu schaffen", english.end)
    russian = _segment(2, "это было очень хорошо", german.end)
    flags = review_flags(_transcript(english, german, russian, duration=russian.end))
    assert [(f.kind, f.segment, f.detail) for f in flags] == [
        ("language", 1, "sounds like 'de'"),
        ("language", 2, "cyrillic script"),
    ]


def test_flags_of_a_real_run_are_in_its_json_and_in_time_order(example_run: Path) -> None:
    for data in load_transcripts(example_run).values():
        transcript = Transcript.from_dict(data)
        assert [f.__dict__ for f in review_flags(transcript)] == data["flags"]
        assert all(f["kind"] in KINDS for f in data["flags"])
        starts = [f["start"] for f in data["flags"]]
        assert starts == sorted(starts)
