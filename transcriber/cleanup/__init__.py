"""Cleanup stages that turn a verbatim transcript into a clean one without inventing words."""

from __future__ import annotations

from transcriber.cleanup.rules import clean_texts
from transcriber.transcript import Transcript


def apply_cleanup(transcript: Transcript, mode: str) -> None:
    """Fill each segment's `clean_text` (and the transcript's edits) for `mode` "none" or "rules"."""
    if mode == "rules":
        result = clean_texts([s.text for s in transcript.segments], transcript.language)
        for segment, text in zip(transcript.segments, result.texts, strict=True):
            segment.clean_text = text
        transcript.edits = result.edits
    else:
        for segment in transcript.segments:
            segment.clean_text = segment.text.strip()
        transcript.edits = []
    transcript.cleanup = mode
