"""Review flags: the places in a finished transcript where a reader should listen before trusting it.

Everything here is read from the `Transcript` alone (its JSON form), so the flags of an old transcript can
be computed again without the models. Five kinds:

- `low-probability`: a run of words the recogniser gave less than `LOW_PROBABILITY`;
- `guard`: a segment a hallucination guard changed (a collapsed repeat loop, seen as more recognised words
  than kept text) or an audio-LLM window that failed its checks (the engine's warning names the window);
- `gap`: `LONG_GAP` seconds or more with no speech, where a quiet voice may have been missed;
- `overlap`: a speaker change where the next speaker starts before the previous one stopped;
- `language`: a segment that reads as another language than the transcript's (its function words or its
  script), which a single-language recogniser garbles or translates.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from transcriber.text_guards import has_loop
from transcriber.transcript import Flag, Segment, Transcript, Word

KINDS = ("low-probability", "guard", "gap", "overlap", "language")
#: Words below this probability are flagged; tiny.en gives most wrong words less than this, and few right ones.
LOW_PROBABILITY = 0.4
#: Seconds without a segment that are worth a listen (a pause in talk is rarely this long).
LONG_GAP = 8.0
#: Seconds two speakers must share for a change of speaker to count as overlapped speech.
MIN_OVERLAP = 0.1
#: A segment needs this many words before its language is guessed from them.
MIN_LANGUAGE_WORDS = 5

#: The commonest function words of the languages the rules cleanup knows: enough to tell them apart.
FUNCTION_WORDS = {
    "en": "the and of to is that it was for you with are this have not but what they we be",
    "de": "der die das und ist nicht ich sie es mit den auf ein eine wir auch sich zu dem",
    "fr": "le la les et est des une dans pas que qui pour nous vous sur avec je il elle",
    "es": "el la los las y es que de en una por con para no se del lo como pero",
    "it": "il la di che e è non per una sono con del gli della le mi ma anche",
    "pt": "o a os as e é que de não um uma para com em do da se por mas",
    "nl": "de het een en is niet dat van ik je we zijn op met voor maar ook",
}
_WORDS = {code: frozenset(words.split()) for code, words in FUNCTION_WORDS.items()}
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_WINDOW = re.compile(r"^window (\d+(?:\.\d+)?)-(\d+(?:\.\d+)?) s: (.+)$")


def review_flags(transcript: Transcript) -> list[Flag]:
    """Every flag of `transcript`, in time order."""
    flags = [
        *_low_probability(transcript),
        *_guards(transcript),
        *_gaps(transcript),
        *_overlaps(transcript),
        *_languages(transcript),
    ]
    return sorted(flags, key=lambda f: (f.start, KINDS.index(f.kind)))


def _low_probability(transcript: Transcript) -> list[Flag]:
    flags = []
    for seg in transcript.segments:
        run: list[str] = []
        start = end = 0.0
        for word in [*seg.words, None]:
            if word is not None and word.probability < LOW_PROBABILITY:
                start = word.start if not run else start
                run.append(f"{word.text.strip()} ({word.probability:.2f})")
                end = word.end
                continue
            if run:
                flags.append(Flag("low-probability", start, end, seg.id, ", ".join(run)))
                run = []
    return flags


def _normal_words(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _guards(transcript: Transcript) -> list[Flag]:
    flags = []
    for seg in transcript.segments:
        heard = " ".join(w.text.strip() for w in seg.words)
        if seg.words and len(_normal_words(heard)) > len(_normal_words(seg.text)) and has_loop(heard):
            flags.append(Flag("guard", seg.start, seg.end, seg.id, "a repeated phrase was collapsed to one copy"))
    for warning in transcript.warnings:
        if match := _WINDOW.match(warning):
            start, end = float(match[1]), float(match[2])
            flags.append(Flag("guard", start, end, _segment_at(transcript.segments, start), match[3]))
    return flags


def _segment_at(segments: list[Segment], seconds: float) -> int:
    """The id of the segment at `seconds`, else the next one, else the last (0 for a transcript without any)."""
    following = [s for s in segments if s.end > seconds]
    chosen = following[0] if following else segments[-1] if segments else None
    return chosen.id if chosen else 0


def _spans(transcript: Transcript) -> list[tuple[float, float, int]]:
    """(start, end, segment id) of every word, or of the whole segment where it has no word times."""
    return [
        (w.start, w.end, seg.id) for seg in transcript.segments for w in seg.words or [Word(seg.start, seg.end, "")]
    ]


def _gaps(transcript: Transcript) -> list[Flag]:
    """Silences between words (a recogniser's segment may run across one), before the first and after the last."""
    flags = []
    spans = _spans(transcript)
    previous_end = 0.0
    for start, end, segment in [*spans, (transcript.duration, transcript.duration, spans[-1][2] if spans else 0)]:
        if start - previous_end >= LONG_GAP:
            flags.append(Flag("gap", previous_end, start, segment, f"{start - previous_end:.0f} s without speech"))
        previous_end = max(previous_end, end)
    return flags


def _overlaps(transcript: Transcript) -> list[Flag]:
    flags = []
    for before, after in zip(transcript.segments, transcript.segments[1:], strict=False):
        if before.speaker is None or after.speaker is None or before.speaker == after.speaker:
            continue
        end_before = before.words[-1].end if before.words else before.end
        start_after = after.words[0].start if after.words else after.start
        if end_before - start_after >= MIN_OVERLAP:
            names = f"{transcript.speaker_name(after.speaker)} over {transcript.speaker_name(before.speaker)}"
            flags.append(Flag("overlap", start_after, end_before, after.id, f"overlapped speech: {names}"))
    return flags


def _script(text: str) -> str | None:
    """The writing system most of `text`'s letters belong to (LATIN, CYRILLIC, CJK...), None without letters."""
    scripts = Counter(unicodedata.name(ch, "?").split()[0] for ch in text if ch.isalpha())
    return scripts.most_common(1)[0][0] if scripts else None


def _language_of(words: list[str]) -> str | None:
    """The language whose function words `words` holds most of, if it clearly leads (None when unsure)."""
    counts = Counter({code: sum(w in table for w in words) for code, table in _WORDS.items()})
    (best, top), (_, second) = counts.most_common(2)
    return best if top >= 2 and top >= 2 * second else None


def _languages(transcript: Transcript) -> list[Flag]:
    flags = []
    main_script = _script(transcript.verbatim_text)
    for seg in transcript.segments:
        script, words = _script(seg.text), _normal_words(seg.text)
        if script and main_script and script != main_script and sum(ch.isalpha() for ch in seg.text) >= 3:
            flags.append(Flag("language", seg.start, seg.end, seg.id, f"{script.lower()} script"))
        elif transcript.language in _WORDS and len(words) >= MIN_LANGUAGE_WORDS:
            guess = _language_of(words)
            if guess is not None and guess != transcript.language:
                flags.append(Flag("language", seg.start, seg.end, seg.id, f"sounds like '{guess}'"))
    return flags
