"""The benchmark's outputs: report.md (one table per metric, best per column in bold), results.json, and
chart.png (clean WER against speed). All three are written atomically."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from transcriber.bench.metrics import CATEGORIES
from transcriber.bench.runner import Row
from transcriber.writers import write_atomic

#: metric key -> (title, how it is shown, whether lower is better)
METRICS: dict[str, tuple[str, str, bool]] = {
    "wer": ("WER against the verbatim reference", "{:.3f}", True),
    "clean_wer": ("WER against the clean reference", "{:.3f}", True),
    "filler_recall": ("Filler recall (share of spoken disfluencies removed)", "{:.2f}", False),
    "filler_precision": ("Filler precision (share of removals that were disfluencies)", "{:.2f}", False),
    "invented": ("Words invented (insertions against the clean reference)", "{:.0f}", True),
    "der": ("Diarization error rate (DER, no collar; needs <stem>.rttm)", "{:.3f}", True),
    "speaker_words": ("Speaker-attributed word accuracy (needs <stem>.rttm)", "{:.3f}", False),
    "jer": ("Jaccard error rate (JER, pyannote.metrics; needs <stem>.rttm)", "{:.3f}", True),
    "speaker_count": ("Share of recordings with the right speaker count (needs <stem>.rttm)", "{:.2f}", False),
    "cpwer": ("Speaker-attributed WER (cpWER, meeteval; needs <stem>.stm)", "{:.3f}", True),
    "rtf": ("Real-time factor (processing seconds per audio second)", "{:.3f}", True),
    "load_seconds": ("Model load time, seconds", "{:.1f}", True),
    "peak_ram_mb": ("Peak RAM, MB", "{:.0f}", True),
    "peak_vram_gb": ("Peak GPU memory in use, GB", "{:.2f}", True),
}
PER_RUN = ("load_seconds", "peak_ram_mb", "peak_vram_gb")


def results(recordings: list[str], rows: list[Row]) -> dict[str, Any]:
    return {
        "recordings": recordings,
        "rows": [
            {"config": r.config, "all": r.metrics(), "per_recording": {n: r.metrics(n) for n in recordings}}
            for r in rows
        ],
    }


def _table(key: str, data: dict[str, Any]) -> list[str]:
    title, fmt, lower = METRICS[key]
    columns = ["all"] if key in PER_RUN else [*data["recordings"], "all"]
    values = [
        [row["all"][key] if c == "all" else row["per_recording"][c][key] for c in columns] for row in data["rows"]
    ]
    best = []
    for j in range(len(columns)):
        present = [v[j] for v in values if v[j] is not None]
        best.append((min if lower else max)(present) if present else None)
    lines = [f"## {title}", "", "| configuration | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row, cells in zip(data["rows"], values, strict=True):
        shown = [
            "-" if v is None else f"**{fmt.format(v)}**" if fmt.format(v) == fmt.format(best[j]) else fmt.format(v)
            for j, v in enumerate(cells)
        ]
        lines.append(f"| {row['config']['name']} | " + " | ".join(shown) + " |")
    return [*lines, ""]


def markdown(data: dict[str, Any]) -> str:
    lines = ["# Benchmark", "", f"{len(data['recordings'])} recordings; best value per column in **bold**.", ""]
    lines += ["| configuration | backend | model | device | compute | batch | cleanup |", "|---" * 7 + "|"]
    for row in data["rows"]:
        c = row["config"]
        lines.append(f"| {c['name']} | {c['backend']} | {c['model']} | {c.get('device', '-')} | {c['compute_type']} "
                     f"| {c['batch_size']} | {c['cleanup']} |")  # fmt: skip
    lines.append("")
    for key in METRICS:
        if any(row["all"][key] is not None for row in data["rows"]):
            lines += _table(key, data) + (_removal_table(data) if key == "filler_precision" else [])
    return "\n".join(lines)


def _removal_table(data: dict[str, Any]) -> list[str]:
    """Recall / precision of disfluency removal per category (see `bench.metrics`), over all recordings."""
    lines = ["## Disfluency removal by category (recall / precision, all recordings)", ""]
    lines += ["| configuration | " + " | ".join(CATEGORIES) + " |", "|---" * (len(CATEGORIES) + 1) + "|"]
    for row in data["rows"]:
        shown = {k: "-" if v is None else f"{v:.2f}" for k, v in row["all"].items()}
        cells = [f"{shown[f'{c}_recall']} / {shown[f'{c}_precision']}" for c in CATEGORIES]
        lines.append(f"| {row['config']['name']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def chart(data: dict[str, Any]) -> bytes:
    """PNG: WER against the clean reference (or the verbatim one) over speed in times real time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = "clean_wer" if any(r["all"]["clean_wer"] is not None for r in data["rows"]) else "wer"
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=100)
    for row in data["rows"]:
        rtf, wer = row["all"]["rtf"], row["all"][key]
        if rtf and wer is not None:
            axes.scatter(1 / rtf, wer, s=40)
            axes.annotate(row["config"]["name"], (1 / rtf, wer), fontsize=7, xytext=(4, 4), textcoords="offset points")
    axes.set_xlabel("speed, times real time (higher is faster)")
    axes.set_ylabel(METRICS[key][0])
    axes.set_title("Accuracy against speed")
    axes.grid(alpha=0.3)
    axes.margins(x=0.3, y=0.15)  # room for the labels of the outermost points
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def write_report(output: Path, recordings: list[str], rows: list[Row]) -> dict[str, Any]:
    data = results(recordings, rows)
    write_atomic(output / "results.json", json.dumps(data, indent=2) + "\n")
    write_atomic(output / "report.md", markdown(data))
    write_atomic(output / "chart.png", chart(data))
    return data
