"""Command line: `transcriber run`, `transcriber models`, `--version`.

Parsing imports nothing heavy (no torch, ctranslate2 or transformers), so `--help` is instant on any
machine. Flags default to None so that `load_settings` can tell "not given" from a value and let the
`TRANSCRIBER_*` environment variables fill in.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from transcriber import __version__
from transcriber.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, TranscriberError
from transcriber.settings import BACKENDS, CLEANUP_MODES, CLEANUPS, COMPUTE_TYPES, DEVICES, LLM_QUANTS
from transcriber.writers import FORMATS

EXIT_CODES_HELP = (
    "exit codes: 0 every file done or skipped; 1 some files failed (each named on stderr); "
    "2 usage or configuration error, nothing ran; 130 interrupted (finished files kept, rerun resumes)"
)


def _add_run(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="transcribe a folder (or one file) of recordings",
        description="Transcribe every recording under --input into --output, skipping files already done. "
        "Each flag can also be set by an environment variable, TRANSCRIBER_<FLAG> (e.g. TRANSCRIBER_MODEL).",
        epilog=EXIT_CODES_HELP,
    )
    run.add_argument("--input", "-i", help="folder of recordings (searched recursively) or one file")
    run.add_argument("--output", "-o", help="folder for transcripts; mirrors the input tree")
    run.add_argument("--formats", help=f"comma-separated, from {','.join(FORMATS)} (default: all)")
    run.add_argument(
        "--backend",
        help=f"one of {', '.join(BACKENDS)} (default pipeline: Whisper then cleanup; multimodal: one audio LLM "
        "hears the audio, --model voxtral-mini-3b|qwen2-audio-7b-instruct|qwen2.5-omni-7b; seamless: "
        "SeamlessM4T v2, --model seamless-m4t-v2-large)",
    )
    run.add_argument(
        "--translate-to",
        help="with --backend seamless: write the transcript in this language (de, fr, ... or Seamless's deu, fra)",
    )
    run.add_argument(
        "--multimodal-verbatim",
        action="store_const",
        const=True,
        help="ask the audio LLM for a verbatim transcript, then clean it with --cleanup (so edits are checked)",
    )
    run.add_argument("--vram", type=float, help="GPU memory budget in GB for the audio LLM plan (default: detected)")
    run.add_argument(
        "--model",
        help="catalog name (see `transcriber models`), repo id or model folder; "
        "default auto: large-v3-turbo on a GPU, small on the CPU",
    )
    run.add_argument("--device", help=f"one of {', '.join(DEVICES)} (default auto: the GPU if CTranslate2 sees one)")
    run.add_argument(
        "--compute-type", help=f"one of {', '.join(COMPUTE_TYPES)} (default auto: float16 on GPU, int8 on CPU)"
    )
    run.add_argument("--language", help="language code such as en or de, or auto to detect (default auto)")
    run.add_argument("--cleanup", help=f"one of {', '.join(CLEANUPS)} (default rules)")
    run.add_argument(
        "--cleanup-model",
        help="for --cleanup llm: qwen2.5-3b-instruct, phi-3-mini, gemma-2-2b, smollm2-135m-instruct, a repo id, "
        "a folder or a .gguf file (default auto: qwen2.5-3b-instruct)",
    )
    run.add_argument(
        "--cleanup-mode",
        help=f"one of {', '.join(CLEANUP_MODES)} (default delete: the LLM may only remove words)",
    )
    run.add_argument(
        "--llm-quant",
        help=f"one of {', '.join(LLM_QUANTS)} (default auto: bf16 if it fits the GPU, else 8-bit, else 4-bit)",
    )
    run.add_argument(
        "--batch-size",
        help="speech chunks per model call; above 1 uses faster-whisper's batched pipeline (default auto: "
        "from free VRAM and the model's size on a GPU, batched on the CPU too, which measured faster)",
    )
    run.add_argument("--beam-size", type=int, help="beam search width (default 5)")
    run.add_argument(
        "--no-vad",
        dest="vad",
        action="store_const",
        const=False,
        help="transcribe silence too (VAD is on by default and stops hallucinated text)",
    )
    run.add_argument("--force", action="store_const", const=True, help="redo files already done")
    run.add_argument(
        "--quiet", "-q", action="store_const", const=True, help="no progress or summary; errors still print"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transcriber",
        description="Folders of recordings in, clean and verbatim transcripts out.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    sub.add_parser("models", help="list the model catalog and what is cached locally")
    selftest = sub.add_parser(
        "selftest",
        help="check that the GPU transcribes a reference recording as the CPU does (run by `transcriber run`)",
        description="Transcribe the shipped reference recording on the GPU and on the CPU with the same model; "
        "FAIL (exit 1) with the fix if the GPU text is empty, truncated or different. Cached per GPU, driver, "
        "image and model in the model cache.",
    )
    selftest.add_argument("--model", default="auto", help="Whisper model to test (default: the run's auto choice)")
    selftest.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICES)} (default auto)")
    selftest.add_argument("--force", action="store_true", help="test again even if a result is cached")
    bench = sub.add_parser(
        "bench",
        help="compare configurations on your recordings: report.md, results.json, chart.png",
        description="Run each configuration over --input (recordings with optional <stem>.ref.txt verbatim and "
        "<stem>.clean.txt clean references) and write report.md, results.json and chart.png to --output. "
        "Plain faster-whisper with each pipeline model runs too, as the baseline.",
    )
    bench.add_argument("--input", "-i", required=True, help="folder of recordings with references beside them")
    bench.add_argument(
        "--configs",
        required=True,
        help="a .json/.toml file, or ';'-separated items, each a model name or key=value pairs joined by ',' "
        "(keys: backend, model, compute_type, batch_size, cleanup, cleanup_model, cleanup_mode, device, language, "
        "beam_size), e.g. 'tiny.en; model=tiny.en,cleanup=none'",
    )
    bench.add_argument("--output", "-o", default="bench-report", help="folder for the report (default bench-report)")
    bench.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    return parser


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    from transcriber.batch import run_batch
    from transcriber.progress import make_reporter
    from transcriber.selftest import check_before_run
    from transcriber.settings import load_settings

    settings = load_settings(vars(args))
    reporter = make_reporter(settings.quiet)
    check_before_run(settings.backend, settings.device, settings.model, reporter.note)
    summary = run_batch(settings, reporter)
    if not settings.quiet or summary.exit_code != EXIT_OK:
        print(summary.render(), file=sys.stderr)
    return summary.exit_code


def _bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from transcriber.extras import require

    require("bench", "transcriber bench", "jiwer", "whisper_normalizer", "matplotlib")
    from transcriber.bench.report import write_report
    from transcriber.bench.runner import parse_configs, run_bench
    from transcriber.progress import make_reporter

    configs = parse_configs(args.configs)
    recordings, rows = run_bench(Path(args.input), configs, make_reporter(args.quiet))
    data = write_report(Path(args.output), recordings, rows)
    print(f"{'configuration':<48} {'WER':>6} {'clean WER':>9} {'RTF':>6}")
    for row in data["rows"]:
        shown = ["-" if row["all"][k] is None else f"{row['all'][k]:.3f}" for k in ("wer", "clean_wer", "rtf")]
        print(f"{row['config']['name'][:48]:<48} {shown[0]:>6} {shown[1]:>9} {shown[2]:>6}")
    print(f"report: {Path(args.output) / 'report.md'}")
    return EXIT_OK


def _selftest(args: argparse.Namespace) -> int:
    from transcriber.selftest import selftest_command

    if args.device not in DEVICES:
        print(f"error: --device {args.device} is not one of {', '.join(DEVICES)}", file=sys.stderr)
        return EXIT_USAGE
    return selftest_command(args.model, args.device, args.force)


def _models() -> int:
    import os

    from transcriber.models import CATALOG, model_status

    print(f"{'name':<16} {'params':>7} {'disk GB':>8} {'VRAM GB':>8}  {'status':<11} repo")
    for info in CATALOG.values():
        print(
            f"{info.name:<16} {info.params:>7} {info.disk_gb:>8.2f} {info.vram_gb:>8.1f}  "
            f"{model_status(info):<11} {info.repo}"
        )
    print(f"\ncache: {os.environ.get('HF_HOME', '~/.cache/huggingface')} (set HF_HOME to move it)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        commands = {"run": lambda: _run(args), "bench": lambda: _bench(args), "models": _models,
                    "selftest": lambda: _selftest(args)}  # fmt: skip
        return commands[args.command]()
    except TranscriberError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
