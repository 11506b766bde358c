"""One run from settings to summary, with the model stages chosen here: what `transcriber run` and the Python
API (`transcribe_folder`) both call.

The order is the user's: the recordings are found first (an empty folder is said before any model is looked
for), then the stages start (here, or Ray actors with `--cluster ray`), the plan is resolved once with what
they resolve, and `run_batch` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transcriber.batch import Stages, find_recordings, run_batch
from transcriber.plan import resolve_plan
from transcriber.progress import Reporter, make_reporter
from transcriber.settings import Settings, load_settings, options
from transcriber.stages import LocalStages
from transcriber.summary import Summary


def make_stages(settings: Settings, reporter: Reporter) -> Stages:
    """Where the model stages run: in this process, or on Ray actors (`--cluster ray`)."""
    if settings.cluster == "ray":
        from transcriber.cluster.stages import RayStages

        return RayStages(settings, reporter)
    return LocalStages(settings, reporter)


def run(settings: Settings, reporter: Reporter, debug: bool = False) -> Summary:
    """Find the recordings, start the stages, resolve the plan, run the batch."""
    recordings = find_recordings(settings)
    stages = make_stages(settings, reporter)
    try:
        plan = resolve_plan(settings, stages.resolve(), reporter.note)
    except BaseException:
        stages.close(None)
        raise
    return run_batch(plan, stages, reporter, recordings, debug)


def transcribe_folder(
    input: str | Path, output: str | Path, *, reporter: Reporter | None = None, **settings: Any
) -> Summary:
    """Transcribe every recording under `input` (a folder, or one file) into `output`, skipping those already
    done, as `transcriber run` does; `settings` are its flags by field name (model="tiny.en", cleanup="rules",
    formats="txt,json", speakers=2, ...), checked as the CLI checks them. The environment's TRANSCRIBER_*
    variables are not read. Progress goes to `reporter` (default: none, errors only, on stderr).

    Raises a `transcriber.errors.TranscriberError` for a usage problem (nothing ran); a file that fails is
    in the returned summary's `failed`, and the others are done."""
    unknown = sorted(set(settings) - {option.name for option in options()})
    if unknown:
        raise TypeError(f"transcribe_folder() got unknown settings {', '.join(unknown)}; see transcriber.Settings")
    flags = {"input": str(input), "output": str(output), **settings}
    loaded = load_settings({k: v for k, v in flags.items() if v is not None}, environ={})
    return run(loaded, reporter or make_reporter(quiet=True))
