"""The repetition-loop guard collapses runaway loops and leaves ordinary repetition alone."""

import pytest

from transcriber.text_guards import collapse_loops, has_loop, strip_chatter


def test_collapses_a_looping_phrase() -> None:
    looped = "Thanks for coming. " + "Thank you. " * 12 + "Bye."
    assert collapse_loops(looped) == "Thanks for coming. Thank you. Bye."


def test_collapses_a_looping_word() -> None:
    assert collapse_loops("no no no no no no no way") == "no way"


def test_keeps_ordinary_repetition() -> None:
    text = "No, no, no, I said the twenty twenty plan."
    assert collapse_loops(text) == text


def test_line_breaks_and_double_spaces_are_not_a_loop() -> None:
    text = "Line one.\nLine two  with  two spaces."
    assert not has_loop(text)
    assert collapse_loops(text) == text


def test_a_loop_is_collapsed_and_the_layout_around_it_kept() -> None:
    assert collapse_loops("Hello.\n" + "go " * 6 + "\nBye.") == "Hello.\ngo \nBye."


@pytest.mark.parametrize(
    ("answer", "transcript"),
    [
        ("The speech said was: 'We need the budget by Friday.'", "We need the budget by Friday."),
        ('The speaker says "the server was down".', "the server was down"),
        ("Sure, here is the transcription: We ship on Monday.", "We ship on Monday."),
        ("We ship on Monday. If you have any more questions, feel free to ask.", "We ship on Monday."),
        ("The audio is bad today.", "The audio is bad today."),
        ("The recording of the call was lost.", "The recording of the call was lost."),
    ],
)
def test_chat_talk_around_a_transcript_is_taken_off(answer: str, transcript: str) -> None:
    assert strip_chatter(answer) == transcript
