"""The one transcript model every engine returns and every writer reads.

Its JSON form (`Transcript.to_dict`) is the project's stable output format: it round-trips through
`Transcript.from_dict`, and `SCHEMA_VERSION` changes only when a field changes meaning.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Word:
    """One recognised word with its time span in seconds and the engine's confidence."""

    start: float
    end: float
    text: str
    probability: float = 1.0
    #: The id of the speaker (`Transcript.speakers`) when the recording was diarized, else None.
    speaker: str | None = None
    #: True when another speaker talked over this word (diarized recordings only): `speaker` is the likelier.
    overlap: bool = False


@dataclass
class Segment:
    """A stretch of speech: verbatim `text` as recognised, `clean_text` after cleanup."""

    id: int
    start: float
    end: float
    text: str
    clean_text: str = ""
    words: list[Word] = field(default_factory=list)
    #: The id of the one speaker of this segment (segments are split where the speaker changes), else None.
    speaker: str | None = None


@dataclass
class Speaker:
    """One entry of the speakers table: a stable `id` ("S1" for the first to speak) and its display `name`.

    Segments and words carry only the id, so renaming a speaker changes one entry, not every word.
    """

    id: str
    name: str
    seconds: float = 0.0
    #: The speaker's mean voice embedding (CAM++, L2-normed) from the neural diarizer, for matching this voice
    #: in other recordings; None from the other diarizers.
    centroid: list[float] | None = None


@dataclass
class Edit:
    """One cleanup removal: `start`/`end` are character offsets into `Transcript.verbatim_text`."""

    start: int
    end: int
    text: str
    reason: str


@dataclass
class Flag:
    """A place worth a listen before the transcript is trusted (`transcriber.flags` says how each is found).

    `kind` is one of `transcriber.flags.KINDS`; `segment` is the id of the segment it points into.
    """

    kind: str
    start: float
    end: float
    segment: int
    detail: str


@dataclass
class Transcript:
    """Everything known about one recording's transcription.

    `segments` carry the verbatim and clean text with times; `edits` record every cleanup removal, so a
    reader can always see what was taken out and why.
    """

    source: str
    duration: float
    language: str
    model: str
    engine: str
    segments: list[Segment] = field(default_factory=list)
    language_probability: float = 0.0
    #: How `language` was found: "given" (--language), "model" (the recogniser named it, or has only one),
    #: "text" (from the transcript's words, `transcriber.text_language`; probability is then the share of its
    #: distinctive words), "" when unknown or not recorded.
    language_source: str = ""
    cleanup: str = "none"
    edits: list[Edit] = field(default_factory=list)
    cleanup_stats: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    speakers: list[Speaker] = field(default_factory=list)
    #: Review flags, computed from the rest of the transcript once it is final (`transcriber.flags`).
    flags: list[Flag] = field(default_factory=list)

    def speaker_name(self, speaker_id: str | None) -> str:
        """The display name of `speaker_id` from the speakers table ("" when there is no speaker)."""
        if speaker_id is None:
            return ""
        return next((s.name for s in self.speakers if s.id == speaker_id), speaker_id)

    @property
    def verbatim_text(self) -> str:
        """The recognised text, segments joined by single spaces (edit offsets refer to this string)."""
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def clean_text(self) -> str:
        """The cleaned text, segments joined by single spaces."""
        return " ".join(s.clean_text.strip() for s in self.segments if s.clean_text.strip())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema_version"] = SCHEMA_VERSION
        data["verbatim_text"] = self.verbatim_text
        data["clean_text"] = self.clean_text
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(f"transcript JSON has schema_version {version}; this version reads {SCHEMA_VERSION}")
        data.pop("verbatim_text", None)
        data.pop("clean_text", None)
        segments = [
            Segment(**{**s, "words": [Word(**w) for w in s.get("words", [])]}) for s in data.pop("segments", [])
        ]
        edits = [Edit(**e) for e in data.pop("edits", [])]
        speakers = [Speaker(**s) for s in data.pop("speakers", [])]
        flags = [Flag(**f) for f in data.pop("flags", [])]
        return cls(segments=segments, edits=edits, speakers=speakers, flags=flags, **data)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        return cls.from_dict(json.loads(text))
