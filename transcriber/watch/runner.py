"""The batch a watcher runs on each group of settled recordings: `run`'s own bookkeeping (plan, manifest,
raw cache, writers) with the model stages kept between groups, so the models load once.

A `Batch` is made anew per group (it reads the manifest, which a `run` between two groups may have
changed); the stages (engine, diarizer, cleanup LLM) and the plan they use live until `unload`.
"""

from __future__ import annotations

import time

from transcriber.api import make_stages
from transcriber.batch import Batch, Stages, _unusable_output
from transcriber.discovery import Recording
from transcriber.errors import BatchStopped, ConfigError
from transcriber.ownership import claim
from transcriber.plan import RunPlan, resolve_plan
from transcriber.progress import Reporter
from transcriber.settings import Settings
from transcriber.stages import LocalStages
from transcriber.summary import Summary


class Runner:
    """One watcher's model stages, made on the first group and freed by `unload` (reloaded when needed)."""

    def __init__(self, settings: Settings, reporter: Reporter, debug: bool = False) -> None:
        self.settings, self.reporter, self.debug = settings, reporter, debug
        self._stages: Stages | None = None
        self._plan: RunPlan | None = None
        self._used = False

    @property
    def loaded(self) -> bool:
        """Whether the stages ran since they were made (their models load on first use)."""
        return self._used

    def prepare(self) -> tuple[Stages, RunPlan]:
        """The stages and the plan they use, made if need be (the models themselves load on first use)."""
        if self._stages is None or self._plan is None:
            stages = make_stages(self.settings, self.reporter)
            if isinstance(stages, LocalStages):  # the models wait for the next recording
                stages.lasting = True
            try:
                plan = resolve_plan(self.settings, stages.resolve(), self.reporter.note)
                stages.use(plan)
            except BaseException:
                stages.close(None)
                raise
            self._stages, self._plan = stages, plan
            for line in plan.header():
                self.reporter.note(line)
        return self._stages, self._plan

    def run(self, recordings: list[Recording], unreadable: list[OSError]) -> Summary:
        """The recordings through every stage; a per-file failure is reported and counted, a condition that
        dooms every later file ends the group (`summary.stopped`). KeyboardInterrupt passes through, after
        the file in hand was written whole or abandoned (writes are atomic)."""
        started = time.perf_counter()
        stages, plan = self.prepare()
        self._used = True
        try:
            batch = Batch(plan, self.reporter, self.debug)
        except OSError as exc:  # a damaged manifest that cannot even be moved aside
            raise _unusable_output(self.settings, exc) from exc
        try:  # names no other source owns, and no file a run did not write (`transcriber.ownership`)
            recordings = claim(recordings, batch.manifest, self.settings.output, self.settings.formats)
        except ConfigError as exc:
            self.reporter.error(str(exc))
            batch.summary.stopped = True
            return batch.summary
        self.reporter.start(len(recordings) + len(unreadable))
        try:
            for problem in unreadable:
                batch.unlistable(problem)
            staged = plan.settings.cleanup == "llm"
            stages.clean_all(batch, stages.recognise_all(batch, recordings, staged))
        except BatchStopped as exc:
            batch.summary.stopped = True
            self.reporter.error(str(exc))
        batch.summary.wall_seconds = time.perf_counter() - started
        return batch.summary

    def unload(self) -> None:
        """Free the models (the next group loads them again)."""
        if self._stages is not None:
            self._stages.close(None)
            self._stages, self._plan, self._used = None, None, False
