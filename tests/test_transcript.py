"""The transcript JSON is the stable output format: it must round-trip exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transcriber.transcript import SCHEMA_VERSION, Edit, Segment, Transcript, Word

_text = st.text(min_size=0, max_size=30)
_time = st.floats(min_value=0, max_value=36000, allow_nan=False)
_words = st.builds(Word, start=_time, end=_time, text=_text, probability=st.floats(0, 1))
_segments = st.builds(
    Segment,
    id=st.integers(0, 999),
    start=_time,
    end=_time,
    text=_text,
    clean_text=_text,
    words=st.lists(_words, max_size=4),
)
_edits = st.builds(Edit, start=st.integers(0, 999), end=st.integers(0, 999), text=_text, reason=_text)
_transcripts = st.builds(
    Transcript,
    source=_text,
    duration=_time,
    language=st.sampled_from(["en", "de", "ja"]),
    model=_text,
    engine=_text,
    segments=st.lists(_segments, max_size=5),
    edits=st.lists(_edits, max_size=3),
    settings=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    timings=st.dictionaries(st.text(max_size=5), _time, max_size=3),
    warnings=st.lists(_text, max_size=2),
)


@given(_transcripts)
def test_json_round_trips(transcript: Transcript) -> None:
    text = transcript.to_json()
    assert Transcript.from_json(text) == transcript
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["verbatim_text"] == transcript.verbatim_text


def test_unknown_schema_version_is_refused() -> None:
    data = Transcript(source="a.wav", duration=1.0, language="en", model="m", engine="e").to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="schema_version"):
        Transcript.from_dict(data)
