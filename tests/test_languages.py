"""The language-gated lexicons on espeak-ng recordings in German, French, Spanish, Italian, Portuguese and Dutch.

Each recording (tests/fixtures/languages, made by make_language_fixtures.sh) has the text it speaks
(`<lang>.ref.txt`) and that text cleaned by hand (`<lang>.clean.txt`). The rules must turn the one into
the other with the recording's own lexicon, and leave it alone under any other language's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import load_transcripts, run_cli
from tests.test_rules import clean_text
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.cleanup.lexicon import LEXICONS

LANGUAGES = Path(__file__).resolve().parent / "fixtures" / "languages"
CODES = ["de", "fr", "es", "it", "pt", "nl"]


def _text(code: str, kind: str) -> str:
    return (LANGUAGES / f"{code}.{kind}.txt").read_text(encoding="utf-8").strip()


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.mark.parametrize("code", CODES)
def test_rules_clean_the_spoken_script(code: str) -> None:
    cleaned, edits = clean_text(_text(code, "ref"), code)
    assert cleaned == _text(code, "clean")
    assert {e.reason for e in edits} >= {"filler", "discourse marker"}


@pytest.mark.parametrize("code", CODES)
def test_no_other_lexicon_touches_the_script(code: str) -> None:
    """Another language's list removes none of this language's hesitations (and no word either)."""
    script = _text(code, "ref")
    own = LEXICONS[code].fillers & _words(script)
    assert own, "the script should say this language's hesitations"
    for other in sorted(set(LEXICONS) - {code}):
        cleaned, _ = clean_text(script, other)
        assert own - LEXICONS[other].fillers <= _words(cleaned), other


@pytest.mark.parametrize("code", CODES)
def test_the_recordings_hold_speech(code: str) -> None:
    from transcriber.engines.windows import speech_regions

    samples = decode(LANGUAGES / f"{code}.ogg").samples
    regions = speech_regions(samples)
    spoken = sum(end - start for start, end in regions) / SAMPLE_RATE
    assert len(samples) / SAMPLE_RATE > 3 and spoken > 2, code


def _multilingual_whisper() -> str:
    from transcriber.catalog import CATALOG, cached_path

    for name in ("tiny", "base", "small"):
        if cached_path(CATALOG[name].repo) is not None:
            return name
    pytest.skip("needs a multilingual Whisper model in the HF cache (`transcriber models --download tiny`)")


def test_pipeline_cleans_each_language(tmp_path: Path) -> None:
    """End to end where a multilingual Whisper is cached (tiny.en, the bundled one, hears English only)."""
    model = _multilingual_whisper()
    for code in CODES:
        out = tmp_path / code
        result = run_cli(
            "run", "--input", str(LANGUAGES / f"{code}.ogg"), "--output", str(out), "--model", model,
            "--language", code, "--cleanup", "rules",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        data = load_transcripts(out)[f"{code}.ogg"]
        assert not _words(data["clean_text"]) & LEXICONS[code].fillers, (code, data["clean_text"])
