"""Running benchmark configurations over a folder of recordings with references, in one process.

A configuration is any set of `transcriber run` settings (backend, model, compute type, batch size,
cleanup, cleanup model, device). Each runs the same code a batch runs (engine slot, cleanup stage), staged
the same way, under its own memory sampler. For every pipeline ASR model, plain faster-whisper with its
defaults runs too, as the baseline row (`transcriber.bench.baseline`), so the tool's own effect on accuracy
and speed is visible.
"""

from __future__ import annotations

import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transcriber.audio import SAMPLE_RATE, decode
from transcriber.bench.baseline import BASELINE_PREFIX, load_plain, plain_text
from transcriber.bench.memory import PeakMemory
from transcriber.bench.metrics import Counts, score
from transcriber.discovery import Recording, discover
from transcriber.engines.transformers_asr import is_transformers_asr
from transcriber.errors import AudioError, ConfigError
from transcriber.progress import Reporter
from transcriber.settings import Settings, bench_keys, load_settings
from transcriber.transcript import Transcript

if TYPE_CHECKING:
    from transcriber.slots import ModelSlots

CONFIG_KEYS = bench_keys()


@dataclass(frozen=True)
class BenchConfig:
    name: str
    settings: Settings

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **{k: getattr(self.settings, k) for k in CONFIG_KEYS}}


@dataclass
class Row:
    """One configuration's results: counts and times per recording, and what the whole run cost."""

    config: dict[str, Any]
    counts: dict[str, Counts] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    audio: dict[str, float] = field(default_factory=dict)
    #: Per recording with a `<stem>.rttm`: DER x reference seconds, reference seconds, words right, words scored.
    diarization: dict[str, tuple[float, float, int, int]] = field(default_factory=dict)
    #: Per recording with a `<stem>.rttm`: JER (None without pyannote.metrics) and whether the count was right.
    speaker_counts: dict[str, tuple[float | None, bool]] = field(default_factory=dict)
    #: Per recording with a `<stem>.stm`: cpWER errors and reference words.
    cpwer: dict[str, tuple[int, int]] = field(default_factory=dict)
    load_seconds: float = 0.0
    peak_ram_mb: float = 0.0
    peak_vram_gb: float | None = None

    def metrics(self, recording: str | None = None) -> dict[str, float | None]:
        """The reported numbers for one recording, or for all of them together (`recording=None`)."""
        names = [recording] if recording else list(self.counts)
        counts = sum((self.counts[n] for n in names), Counts())
        audio = sum(self.audio[n] for n in names)
        seconds = sum(self.seconds[n] for n in names)
        values = counts.rates() | {
            "invented": float(counts.invented) if counts.clean_ref_words else None,
            "rtf": seconds / audio if audio else None,
        }
        diarized = [self.diarization[n] for n in names if n in self.diarization]
        errors, reference, right, scored = (sum(d[i] for d in diarized) for i in range(4))
        values["der"] = errors / reference if reference else None
        values["speaker_words"] = right / scored if scored else None
        counted = [self.speaker_counts[n] for n in names if n in self.speaker_counts]
        jers = [j for j, _ in counted if j is not None]
        values["jer"] = sum(jers) / len(jers) if jers else None
        values["speaker_count"] = sum(ok for _, ok in counted) / len(counted) if counted else None
        cp = [self.cpwer[n] for n in names if n in self.cpwer]
        values["cpwer"] = sum(e for e, _ in cp) / sum(n for _, n in cp) if cp and sum(n for _, n in cp) else None
        if recording is None:
            values |= {
                "load_seconds": self.load_seconds,
                "peak_ram_mb": self.peak_ram_mb,
                "peak_vram_gb": self.peak_vram_gb,
            }
        return values


def _config_name(values: dict[str, Any]) -> str:
    parts = [values.get("backend", "pipeline"), values.get("model", "auto")]
    parts += [f"{k}={values[k]}" for k in ("compute_type", "batch_size", "cleanup", "cleanup_model") if k in values]
    return " ".join(str(p) for p in parts)


def parse_configs(spec: str) -> list[BenchConfig]:
    """A .json/.toml file (a list, or `[[config]]` tables), or `;`-separated items of a model name or k=v,k=v."""
    path = Path(spec).expanduser()
    if path.is_file():
        raw = json.loads(path.read_text()) if path.suffix == ".json" else tomllib.loads(path.read_text())
        items = raw if isinstance(raw, list) else raw.get("config", [])
    else:
        items = []
        for item in (i.strip() for i in spec.split(";")):
            if item and "=" in item:
                items.append(dict(pair.split("=", 1) for pair in item.split(",")))
            elif item:
                items.append({"model": item})
    if not items:
        raise ConfigError(f"--configs {spec!r} names no configuration")
    configs = []
    for values in items:
        values = {k.strip().replace("-", "_"): str(v).strip() for k, v in values.items()}
        name = values.pop("name", "") or _config_name(values)
        unknown = set(values) - set(CONFIG_KEYS)
        if unknown:
            raise ConfigError(f"--configs {name!r}: unknown keys {sorted(unknown)}; use {', '.join(CONFIG_KEYS)}")
        configs.append(BenchConfig(name, load_settings({"input": ".", "output": ".", **values}, environ={})))
    return configs


def _reference(recording: Recording, kind: str) -> str | None:
    path = recording.path.with_name(f"{recording.path.stem}.{kind}.txt")
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _run_config(config: BenchConfig, audio: dict[str, Any], recordings: list[Recording], reporter: Reporter) -> Row:
    from transcriber.cleanup import apply_cleanup
    from transcriber.plan import resolve_plan, resolve_recognition
    from transcriber.slots import ModelSlots
    from transcriber.text_language import record_language

    row = Row(config.describe())
    plan = resolve_plan(config.settings, resolve_recognition(config.settings, reporter.note), reporter.note)
    settings, recognition = plan.settings, plan.recognition
    slots = ModelSlots(settings, recognition, plan.llm)
    with PeakMemory() as peak:
        row.config |= {"model": recognition.model, "device": recognition.device,
                       "compute_type": recognition.compute_type}  # fmt: skip
        started = time.perf_counter()
        engine = slots.engine.get()
        row.load_seconds = time.perf_counter() - started
        transcripts: dict[str, Transcript] = {}
        for recording in recordings:
            name = recording.relative.as_posix()
            reporter.step(len(transcripts) + 1, name, f"{config.name}:")
            started = time.perf_counter()
            transcripts[name] = engine.transcribe(audio[name], source=name)
            record_language(transcripts[name], settings.language, slots.languages())  # as a run, for the cleanup
            row.seconds[name] = time.perf_counter() - started
        slots.engine.close()
        llm = slots.llm() if plan.llm else None
        for recording in recordings:
            name = recording.relative.as_posix()
            started = time.perf_counter()
            apply_cleanup(transcripts[name], settings.cleanup, llm)
            row.seconds[name] += time.perf_counter() - started
        _diarize(slots, recordings, audio, transcripts, row)
        if llm is not None:
            row.load_seconds += llm.stats.load_seconds
        slots.close()
    for recording in recordings:
        name = recording.relative.as_posix()
        done = transcripts[name]
        row.counts[name] = score(done.verbatim_text, done.clean_text, _reference(recording, "ref"),
                                 _reference(recording, "clean"), done.language)  # fmt: skip
        row.audio[name] = done.duration
    row.peak_ram_mb, row.peak_vram_gb = peak.rss_mb, peak.vram_gb
    return row


def _diarize(slots: ModelSlots, recordings: list[Recording], audio: dict[str, Any],
             transcripts: dict[str, Transcript], row: Row) -> None:  # fmt: skip
    """With `speakers` set: diarize each transcript as `run` does, and score it where `<stem>.rttm` exists."""
    stage = slots.speakers
    if stage is None:
        return
    from transcriber.bench.speaker_scores import cpwer_counts, jer
    from transcriber.diarize.der import der, read_rttm, speaker_word_counts

    for recording in recordings:
        name = recording.relative.as_posix()
        started = time.perf_counter()
        turns = stage.apply(transcripts[name], audio[name])
        row.seconds[name] += time.perf_counter() - started
        rttm = recording.path.with_suffix(".rttm")
        if rttm.is_file():
            reference = read_rttm(rttm)
            score = der(reference, turns)
            words = speaker_word_counts(reference, transcripts[name])
            row.diarization[name] = (score.der * score.reference_seconds, score.reference_seconds, *words)
            right_count = len({t.speaker for t in turns}) == len({t.speaker for t in reference})
            row.speaker_counts[name] = (jer(reference, turns), right_count)
        if (cp := cpwer_counts(recording.path.with_suffix(".stm"), transcripts[name])) is not None:
            row.cpwer[name] = cp
    stage.close()


def _run_baseline(
    model: str, device: str, compute_type: str, audio: dict[str, Any], recordings: list[Recording]
) -> Row:
    """The baseline row (see `transcriber.bench.baseline`) on the same model, device and compute type."""
    with PeakMemory() as peak:
        started = time.perf_counter()
        name, whisper = load_plain(model, device, compute_type)
        row = Row({"name": f"{BASELINE_PREFIX} {name}", "backend": "faster-whisper", "model": name,
                   "compute_type": compute_type, "batch_size": 1, "cleanup": "none"})  # fmt: skip
        row.load_seconds = time.perf_counter() - started
        for recording in recordings:
            key = recording.relative.as_posix()
            started = time.perf_counter()
            text, language = plain_text(whisper, audio[key])
            row.seconds[key] = time.perf_counter() - started
            row.counts[key] = score(text, text, _reference(recording, "ref"), _reference(recording, "clean"), language)
            row.audio[key] = len(audio[key]) / SAMPLE_RATE
        del whisper
    row.peak_ram_mb, row.peak_vram_gb = peak.rss_mb, peak.vram_gb
    return row


def run_bench(input_dir: Path, configs: list[BenchConfig], reporter: Reporter) -> tuple[list[str], list[Row]]:
    """Every configuration, then a plain faster-whisper row per pipeline model; returns recordings and rows."""
    recordings = []
    audio = {}
    for recording in discover(input_dir, Path("/nonexistent")):
        try:
            audio[recording.relative.as_posix()] = decode(recording.path).samples
            recordings.append(recording)
        except AudioError as exc:
            reporter.error(f"{exc} (left out of the benchmark)")
    if not recordings:
        raise ConfigError(f"no decodable recordings under {input_dir}")
    rows = []
    baselines: dict[str, tuple[str, str]] = {}
    reporter.start(len(recordings))
    for config in configs:
        row = _run_config(config, audio, recordings, reporter)
        rows.append(row)
        if config.settings.backend == "pipeline" and not is_transformers_asr(row.config["model"]):
            baselines.setdefault(row.config["model"], (row.config["device"], row.config["compute_type"]))
    for model, (device, compute_type) in baselines.items():
        rows.append(_run_baseline(model, device, compute_type, audio, recordings))
    reporter.close()
    return [r.relative.as_posix() for r in recordings], rows
