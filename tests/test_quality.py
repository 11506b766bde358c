"""Real Whisper tiny.en on the example recordings: accurate verbatim text, and cleanup that helps and never loses.

References sit beside each recording: `<stem>.ref.txt` (what was said) and `<stem>.clean.txt` (the clean
version). WER uses Whisper's own English normalizer, so "Dr." and "doctor", "12" and "twelve" match.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from tests.support.runs import RECORDINGS, load_transcripts
from transcriber.cleanup.lexicon import LEXICONS

_normalize = EnglishTextNormalizer()


def _reference(source: str, kind: str) -> str:
    return (RECORDINGS / Path(source).with_suffix(f".{kind}.txt")).read_text(encoding="utf-8")


def _wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(_normalize(reference), _normalize(hypothesis))


def test_every_example_was_transcribed(example_run: Path) -> None:
    transcripts = load_transcripts(example_run)
    expected = {
        p.relative_to(RECORDINGS).as_posix() for p in RECORDINGS.rglob("*") if p.suffix in {".flac", ".mp3", ".ogg"}
    }
    assert set(transcripts) == expected
    for data in transcripts.values():
        assert data["language"] == "en"
        assert data["model"] == "tiny.en"
        assert data["segments"], data["source"]


def test_verbatim_wer_is_low(example_run: Path) -> None:
    transcripts = load_transcripts(example_run)
    refs = [_normalize(_reference(s, "ref")) for s in transcripts]
    hyps = [_normalize(t["verbatim_text"]) for t in transcripts.values()]
    overall = jiwer.wer(refs, hyps)
    assert overall < 0.2, overall
    for source, data in transcripts.items():
        assert _wer(_reference(source, "ref"), data["verbatim_text"]) < 0.3, source


def test_rules_cleanup_moves_text_towards_the_clean_reference(example_run: Path) -> None:
    transcripts = load_transcripts(example_run)
    refs = [_normalize(_reference(s, "clean")) for s in transcripts]
    verbatim = jiwer.wer(refs, [_normalize(t["verbatim_text"]) for t in transcripts.values()])
    clean = jiwer.wer(refs, [_normalize(t["clean_text"]) for t in transcripts.values()])
    assert clean < 0.6 * verbatim, (clean, verbatim)


def test_no_hesitation_filler_is_left(example_run: Path) -> None:
    for data in load_transcripts(example_run).values():
        verbatim = set(re.findall(r"[\w']+", data["verbatim_text"].lower()))
        clean = set(re.findall(r"[\w']+", data["clean_text"].lower()))
        assert verbatim & LEXICONS["en"].fillers, f"{data['source']}: the recording has fillers Whisper should keep"
        assert not clean & LEXICONS["en"].fillers, data["clean_text"]


def test_no_clean_reference_word_is_lost(example_run: Path) -> None:
    """A word the clean reference keeps and Whisper heard must survive cleanup (counted per occurrence)."""
    for source, data in load_transcripts(example_run).items():
        wanted = Counter(_normalize(_reference(source, "clean")).split())
        heard = Counter(_normalize(data["verbatim_text"]).split())
        kept = Counter(_normalize(data["clean_text"]).split())
        lost = {w: n for w, n in (wanted & heard).items() if kept[w] < n}
        assert not lost, (source, lost, data["clean_text"])


def test_edits_point_into_the_verbatim_text(example_run: Path) -> None:
    for data in load_transcripts(example_run).values():
        assert data["edits"]
        for edit in data["edits"]:
            assert data["verbatim_text"][edit["start"] : edit["end"]] == edit["text"]
