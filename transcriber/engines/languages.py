"""Language codes: Whisper speaks ISO 639-1 ("de"), SeamlessM4T its own ISO 639-3 set ("deu", "cmn", "arb").

Only the translation between the two lives here; which codes a model really writes is read from the model
itself (`generation_config.text_decoder_lang_to_code_id`), so a code missing from this table still works
when given in Seamless form.
"""

from __future__ import annotations

from transcriber.errors import ConfigError

TO_SEAMLESS = {
    "af": "afr", "am": "amh", "ar": "arb", "as": "asm", "az": "azj", "be": "bel", "bg": "bul", "bn": "ben",
    "bs": "bos", "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "en": "eng",
    "es": "spa", "et": "est", "fa": "pes", "fi": "fin", "fr": "fra", "ga": "gle", "gl": "glg", "gu": "guj",
    "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl", "it": "ita",
    "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "lo": "lao",
    "lt": "lit", "lv": "lvs", "mk": "mkd", "ml": "mal", "mn": "khk", "mr": "mar", "ms": "zsm", "mt": "mlt",
    "my": "mya", "ne": "npi", "nl": "nld", "no": "nob", "pa": "pan", "pl": "pol", "ps": "pbt", "pt": "por",
    "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv", "so": "som", "sr": "srp", "sv": "swe", "sw": "swh",
    "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "tl": "tgl", "tr": "tur", "uk": "ukr", "ur": "urd",
    "uz": "uzn", "vi": "vie", "yo": "yor", "yue": "yue", "zh": "cmn",
}  # fmt: skip
FROM_SEAMLESS = {v: k for k, v in TO_SEAMLESS.items()}


def to_seamless(code: str) -> str:
    """ "de" -> "deu"; a code already in Seamless form (three letters, or "cmn_Hant") passes through."""
    return TO_SEAMLESS.get(code.lower(), code)


def from_seamless(code: str) -> str:
    """ "deu" -> "de" for the transcript's language field; codes without a two-letter form stay as they are."""
    return FROM_SEAMLESS.get(code, code)


def whisper_languages() -> tuple[str, ...]:
    """The codes Whisper's tokenizer knows (faster-whisper's list; imported here, when a run needs it)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


def check_language_code(language: str, backend: str) -> None:
    """Refuse a code the backend cannot know (`xx`) while the settings load, before any model is resolved or
    downloaded, so a typo is the first error a user sees. Seamless reads its codes from the model itself."""
    if language == "auto" or backend == "seamless":
        return
    languages = whisper_languages()
    if language not in languages:
        raise ConfigError(
            f"--language {language!r} is not a language the engine knows; use auto or one of {', '.join(languages)}"
        )
