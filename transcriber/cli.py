"""Command line: `transcriber run`, `transcriber models`, `--version`.

Parsing imports nothing heavy (no torch, ctranslate2 or transformers), so `--help` is instant on any
machine. Flags default to None so that `load_settings` can tell "not given" from a value and let the
`TRANSCRIBER_*` environment variables fill in.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from transcriber.errors import (
    EXIT_FILES_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    TranscriberError,
    catch_signals,
    exit_interrupted,
    interrupted,
)
from transcriber.settings import DEVICES, Option, bench_keys, options
from transcriber.version import __version__

EXIT_CODES_HELP = (
    "exit codes: 0 every file done or skipped; 1 some files failed (each named on stderr); "
    "2 usage or configuration error, nothing ran; 130 interrupted (finished files kept, rerun resumes)"
)


WATCH_EXIT_CODES_HELP = (
    "exit codes: 130 stopped by Ctrl-C or SIGTERM (the normal end; finished files kept); 2 usage or configuration "
    "error; 75 its input folder was deleted while mounted (in a container: the restart mounts the folder made "
    "again); a fault (a full disk, an output that cannot be written, a lost GPU) pauses it, never ends it; "
    "with --health: 0 alive, 1 stuck, paused or stopped"
)


def _help(option: Option) -> str:
    """The flag's help: the declared text, then the choices, the default and the environment variable."""
    notes = []
    if option.spec.choices:
        notes.append(f"{'any' if option.kind is tuple else 'one'} of {', '.join(option.spec.choices)}")
    default = option.default
    if option.kind is not bool and default not in (None, dataclasses.MISSING):
        notes.append(f"default {','.join(default) if isinstance(default, tuple) else default}")
    return option.spec.help + (f" ({'; '.join(notes)})" if notes else "") + f" [{option.env}]"


#: What a changed value makes a rerun redo, by what the setting `affects`.
_REDOES = {"asr": "recognition and all after it", "diarize": "diarization and all after it",
           "output": "cleanup and the files", None: "nothing"}  # fmt: skip


def flag_table() -> str:
    """Every flag of `transcriber run` as a Markdown table, from the settings declaration: docs/flags.md is this
    (scripts/make_flag_table.py writes it; a test keeps the two equal)."""
    rows = ["| flag | environment variable | default | choices | a change redoes | what it does |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for option in options():
        default = option.default
        if default is dataclasses.MISSING:
            shown = "required"
        elif isinstance(default, tuple):
            shown = ",".join(default) or "(none)"
        else:
            shown = "(none)" if default in (None, "") else str(default).lower() if option.kind is bool else str(default)
        flags = ", ".join(f"`{name}`" for name in (option.flag, option.spec.short) if name)
        cells = [flags, f"`{option.env}`", f"`{shown}`", ", ".join(option.spec.choices), _REDOES[option.spec.affects],
                 option.spec.help]  # fmt: skip
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    rows.append("| `--debug` | | | | nothing | show the traceback behind each error (for bug reports) |")
    return "\n".join(rows) + "\n"


def _run_arguments(run: argparse.ArgumentParser) -> None:
    for option in options():
        names = [option.flag, *([option.spec.short] if option.spec.short else [])]
        kwargs: dict[str, Any] = {"dest": option.name, "help": _help(option)}
        if option.kind is bool:
            kwargs |= {"action": "store_const", "const": not option.default}
        elif option.kind in (int, float) and option.spec.parse is None:
            kwargs["type"] = option.kind  # a custom parse may take words too, e.g. "auto"
        run.add_argument(*names, **kwargs)
    run.add_argument("--debug", action="store_true", help="show the traceback behind each error (for bug reports)")


def _seconds(text: str) -> float:
    """A positive number of seconds or minutes, for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number")
    return value


def _watch_arguments(watch: argparse.ArgumentParser) -> None:
    _run_arguments(watch)
    watch.add_argument(
        "--settle",
        type=_seconds,
        default=5.0,
        help="seconds a recording's size and mtime must stay unchanged before it is read (default 5)",
    )
    watch.add_argument(
        "--poll",
        type=_seconds,
        metavar="SECONDS",
        help="look for changes every SECONDS instead of through inotify (network shares, where inotify sees nothing)",
    )
    watch.add_argument(
        "--idle-unload",
        type=_seconds,
        metavar="MINUTES",
        help="free the models after MINUTES without a new recording (they load again for the next)",
    )
    watch.add_argument(
        "--health",
        action="store_true",
        help="only check the watcher of --output: exit 0 if its loop is alive, 1 if stuck, paused or stopped",
    )


def _selftest_arguments(selftest: argparse.ArgumentParser) -> None:
    selftest.add_argument("--model", default="auto", help="Whisper model to test (default: the run's auto choice)")
    selftest.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICES)} (default auto)")
    selftest.add_argument("--force", action="store_true", help="test again even if a result is cached")


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--input", "-i", required=True, help="folder of recordings with references beside them")
    bench.add_argument(
        "--configs",
        required=True,
        help="a .json/.toml file, or ';'-separated items, each a model name or key=value pairs joined by ',' "
        f"(keys: {', '.join(bench_keys())}), e.g. 'tiny.en; model=tiny.en,cleanup=none'",
    )
    bench.add_argument("--output", "-o", default="bench-report", help="folder for the report (default bench-report)")
    bench.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def _run(args: argparse.Namespace) -> int:
    """transcribe a folder (or one file) of recordings

    Transcribe every recording under --input into --output, skipping files already done. Each flag can also be
    set by the environment variable named in its help (e.g. TRANSCRIBER_MODEL).
    """
    from transcriber.api import run
    from transcriber.progress import make_reporter
    from transcriber.selftest import check_before_run
    from transcriber.settings import load_settings

    settings = load_settings(vars(args))
    reporter = make_reporter(settings.quiet)
    check_before_run(settings.backend, settings.device, settings.model, reporter.note)
    summary = run(settings, reporter, debug=args.debug)
    if not settings.quiet or summary.exit_code != EXIT_OK or summary.lost_speech:
        print(summary.render(), file=sys.stderr)
    return summary.exit_code


def _watch(args: argparse.Namespace) -> int:
    """watch a folder: transcribe what is there, then each new or changed recording once it has settled

    Run the batch over --input once, then wait for new or changed recordings and transcribe each when its size
    and mtime have stayed unchanged for --settle seconds. The same manifest, cache, lock and outputs as `run`, so
    a watch and a later run agree on what is done. Ends with 130 on Ctrl-C or SIGTERM, after the file in hand.
    """
    if args.health:
        from pathlib import Path

        from transcriber.watch.status import health

        output = args.output or os.environ.get("TRANSCRIBER_OUTPUT")
        if not output:
            print("error: --health needs --output (the watched output folder)", file=sys.stderr)
            return EXIT_USAGE
        healthy, line = health(Path(output))
        print(("healthy: " if healthy else "unhealthy: ") + line)
        return EXIT_OK if healthy else EXIT_FILES_FAILED
    from transcriber.selftest import check_before_run
    from transcriber.settings import load_settings
    from transcriber.watch.service import WatchOptions, watch

    settings = load_settings(vars(args))
    check_before_run(settings.backend, settings.device, settings.model, lambda line: print(line, file=sys.stderr))
    return watch(settings, WatchOptions(args.settle, args.poll, args.idle_unload), debug=args.debug)


def _bench(args: argparse.Namespace) -> int:
    """compare configurations on your recordings: report.md, results.json, chart.png

    Run each configuration over --input (recordings with optional <stem>.ref.txt verbatim and <stem>.clean.txt
    clean references) and write report.md, results.json and chart.png to --output. Plain faster-whisper with
    each pipeline model runs too, as the baseline.
    """
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
    """check that the GPU transcribes a reference recording as the CPU does (run by `transcriber run`)

    Transcribe the shipped reference recording on the GPU and on the CPU with the same model; FAIL (exit 1) with
    the fix if the GPU text is empty, truncated or different. Cached per GPU, driver, image and model in the
    model cache.
    """
    from transcriber.selftest import selftest_command

    if args.device not in DEVICES:
        print(f"error: --device {args.device} is not one of {', '.join(DEVICES)}", file=sys.stderr)
        return EXIT_USAGE
    return selftest_command(args.model, args.device, args.force)


def _models(args: argparse.Namespace) -> int:
    """list every model in the catalog: speech recognition (asr), cleanup LLMs and audio LLMs, with size, VRAM
    by precision and whether each is cached"""
    from transcriber.catalog import render_catalog

    print(render_catalog())
    return EXIT_OK


#: Each subcommand: what adds its flags (None: it has none) and what runs it. The runner's docstring is the
#: help, like an invoke task's: its first paragraph the line in `transcriber --help`, the rest the description.
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None] | None, Callable[[argparse.Namespace], int]]] = {
    "run": (_run_arguments, _run),
    "watch": (_watch_arguments, _watch),
    "models": (None, _models),
    "selftest": (_selftest_arguments, _selftest),
    "bench": (_bench_arguments, _bench),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transcriber",
        description="Folders of recordings in, clean and verbatim transcripts out.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add_arguments, command) in COMMANDS.items():
        summary, _, description = inspect.cleandoc(command.__doc__ or "").partition("\n\n")
        # the others end 0, 1 or 2 as their help says
        epilog = {"run": EXIT_CODES_HELP, "watch": WATCH_EXIT_CODES_HELP}.get(name)
        command_parser = sub.add_parser(name, help=" ".join(summary.split()), description=description or None,
                                        epilog=epilog)  # fmt: skip
        if add_arguments is not None:
            add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    catch_signals()
    from transcriber.progress import TolerantStream

    stderr, sys.stderr = sys.stderr, TolerantStream(sys.stderr)
    try:
        code = _dispatch(args)
    finally:
        sys.stderr = stderr
    return exit_interrupted() if code == EXIT_INTERRUPTED else code


def _dispatch(args: argparse.Namespace) -> int:
    """Run one command; every way it can end is an exit code and at most one line, unless --debug."""
    debug = getattr(args, "debug", False)
    try:
        return COMMANDS[args.command][1](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if interrupted():  # a KeyboardInterrupt that an import or a library turned into an error of its own
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        if isinstance(exc, TranscriberError):
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        if debug:  # a bug, or a library error nobody foresaw: one line unless --debug
            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        print(
            f"error: unexpected {type(exc).__name__}: {detail}; rerun with --debug for the traceback", file=sys.stderr
        )
        return EXIT_FILES_FAILED
