"""The Ray actors of one batch: one per GPU or CPU slot, files kept flowing to them, their deaths survived.

Each worker holds `IN_FLIGHT` files at a time (`ray.wait` takes whichever finishes first), so none waits
for the driver between files and there is no barrier per stage. A worker that dies takes its files with it:
they go back to the queue for the others, up to `MAX_RETRIES` times each, and the dead worker is dropped.
When none is left the batch stops; what was finished is kept, and a rerun does the rest.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from transcriber.cluster.connect import START_ONE
from transcriber.errors import BatchStopped, ConfigError
from transcriber.plan import Recognition, RunPlan
from transcriber.progress import Reporter
from transcriber.settings import Settings

#: Cores one CPU worker takes: a CTranslate2 model gains little past four threads, and each worker holds a copy.
CPU_SLOT = 4
#: Files sent to a worker before its first one is back: enough to hide the transfer, few enough to spread work.
IN_FLIGHT = 2
#: Times a file is sent to another worker after the one holding it died.
MAX_RETRIES = 2
#: Seconds the workers get to start and resolve their models (a node may have to pull the image's layers).
START_SECONDS = 300.0

T = TypeVar("T")
#: Called with each task's result; and with a task given up on, and why.
Done = Callable[[T, "Member", dict[str, Any]], None]
GiveUp = Callable[[T, str], None]


@dataclass
class Member:
    """One worker and what it did, for the summary's per-worker line."""

    number: int
    handle: Any
    node: str = "?"
    pid: int = 0
    load: int = 0
    files: int = 0
    audio: float = 0.0
    last: float = 0.0
    llm_stats: dict[str, Any] | None = None
    died: str = ""

    def line(self, since: float) -> str:
        wall = max(self.last - since, 1e-9)
        speed = f"{self.audio / wall:.1f} audio-s per wall-s" if self.files else "idle"
        state = f"; died ({self.died})" if self.died else ""
        plural = "" if self.files == 1 else "s"
        return (
            f"worker {self.number} (node {self.node}, pid {self.pid}): {self.files} file{plural}, "
            f"{self.audio:.1f} s audio, {speed}{state}"
        )


def placements(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """(node address, actor options) per worker: one per GPU (`num_gpus=1`), or per `CPU_SLOT` cores of a node
    without one, each pinned to its node. A node started with `--num-cpus 0` and no GPU (a head kept free)
    gets none."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    options = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        resources = node.get("Resources", {})
        cpus, gpus = resources.get("CPU", 0.0), int(resources.get("GPU", 0)) if settings.device != "cpu" else 0
        address, pin = node["NodeManagerAddress"], NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        if gpus:
            options += [
                (address, {"num_gpus": 1, "num_cpus": min(1.0, cpus / gpus), "scheduling_strategy": pin})
            ] * gpus
        elif cpus >= 1:
            slots = max(1, int(cpus // CPU_SLOT))
            options += [(address, {"num_cpus": cpus / slots, "scheduling_strategy": pin})] * slots
    return options


class Pool:
    """The workers: started and checked at once, so a cluster that cannot serve is a usage error before any file."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        import ray

        from transcriber.cluster.worker import Worker

        self.reporter = reporter
        actor = ray.remote(Worker)
        started = time.perf_counter()
        self.members = [
            Member(n, actor.options(max_restarts=0, **opts).remote(settings, node), node)
            for n, (node, opts) in enumerate(placements(settings), start=1)
        ]
        self.retired: list[Member] = []
        if not self.members:
            raise ConfigError(f"the Ray cluster has no CPU or GPU a worker could use; {START_ONE}")
        self.recognition = self._describe(time.perf_counter() - started + START_SECONDS)
        self.started = time.perf_counter()
        reporter.note(f"ray: {len(self.members)} workers ready in {self.started - started:.1f} s")

    def _describe(self, timeout: float) -> Recognition:
        """Each worker's node, pid and settings keys; those that cannot serve, or resolve other keys than the
        first (another model, device or precision), are dropped with a note. Returns the first's recognition."""
        import ray

        refs = {m.handle.describe.remote(): m for m in self.members}
        ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
        keys, recognition, errors = None, None, []
        for ref in ready:
            member, info = refs[ref], ray.get(ref)
            member.pid = info["pid"]
            for note in info["notes"]:
                self.reporter.note(f"worker {member.number} (node {member.node}): {note}")
            keys = keys or info["keys"]
            recognition = recognition or info["recognition"]
            if info["keys"] is None or info["keys"] != keys:
                why = info["error"] or f"its models resolve otherwise ({info['keys'][0]}); give --model and --device"
                errors.append(f"node {member.node}: {why}")
                self._drop(member, why)
            else:
                self.reporter.note(f"worker {member.number}: node {member.node}, pid {member.pid}")
        for ref in late:
            self._drop(refs[ref], f"not started within {timeout:.0f} s")
        if recognition is None:
            reason = "; ".join(errors) or f"none started within {timeout:.0f} s (see `ray status`)"
            raise ConfigError(f"no Ray worker can serve this batch: {reason}")
        return recognition

    def use(self, plan: RunPlan) -> None:
        """Hand every worker the run's plan; one whose node resolves otherwise is dropped, as in `_describe`."""
        import ray

        refs = {m.handle.use.remote(plan): m for m in self.members}
        for ref, member in refs.items():
            why = ray.get(ref)
            if why is not None:
                self.reporter.note(f"worker {member.number} (node {member.node}): dropped: {why}")
                self._drop(member, why)
        if not self.members:
            raise ConfigError("no Ray worker can serve this batch: none agrees with the plan")

    def _drop(self, member: Member, why: str) -> None:
        import ray

        if member in self.members:
            self.members.remove(member)
            member.died = why
            self.retired.append(member)
            ray.kill(member.handle, no_restart=True)

    def run(self, tasks: Iterable[T], send: Callable[[Member, T], Any], done: Done[T], give_up: GiveUp[T]) -> None:
        """Send each task to a worker (`send` returns the ObjectRef) and hand each result to `done`; a task
        whose worker died is resent elsewhere, and after `MAX_RETRIES` handed to `give_up` with the reason."""
        flow = _Flow(iter(tasks))
        flying: dict[Any, tuple[Member, _Try[T]]] = {}
        while True:
            for level in range(1, IN_FLIGHT + 1):  # every worker one file before any gets its second
                for member in self.members:
                    if member.load < level and (item := flow.next()) is not None:
                        flying[send(member, item.task)] = (member, item)
                        member.load += 1
            if not flying:
                if flow.exhausted():
                    return
                raise BatchStopped(f"no Ray worker is left ({self._deaths()}); finished files are kept: check the "
                                   "cluster (`ray status`) and rerun")  # fmt: skip
            self._collect(flying, flow, done, give_up)

    def _collect(
        self, flying: dict[Any, tuple[Member, _Try[T]]], flow: _Flow[T], done: Done[T], give_up: GiveUp[T]
    ) -> None:
        import ray
        from ray.exceptions import NodeDiedError, ObjectLostError, RayActorError, WorkerCrashedError

        [ref], _ = ray.wait(list(flying), num_returns=1)
        member, item = flying.pop(ref)
        member.load -= 1
        try:
            result = ray.get(ref)
        except (RayActorError, WorkerCrashedError, NodeDiedError, ObjectLostError) as exc:
            result = {"error": " ".join(str(exc).split())[:200], "fatal": True}
            self._drop(member, f"{type(exc).__name__}")
        if not result.get("fatal"):
            if "duration" in result and "error" not in result:  # a file recognised (cleaning one adds no file)
                member.files += 1
                member.audio += result["duration"]
            member.last = time.perf_counter()
            member.llm_stats = result.get("stats", member.llm_stats)
            done(item.task, member, result)
            return
        self._drop(member, "its device failed")
        item.deaths.append(f"worker {member.number} on node {member.node}")
        if len(item.deaths) > MAX_RETRIES:
            give_up(item.task, f"{len(item.deaths)} workers died on it ({', '.join(item.deaths)}; last: "
                               f"{result['error']})")  # fmt: skip
        else:
            if self.members:  # else the batch stops, and says so
                self.reporter.note(f"worker {member.number} (node {member.node}) died; its file goes to another worker")
            flow.retry(item)

    def _deaths(self) -> str:
        return "; ".join(f"worker {m.number} on node {m.node}: {m.died}" for m in self.retired) or "none started"

    def lines(self) -> list[str]:
        return [m.line(self.started) for m in sorted(self.members + self.retired, key=lambda m: m.number)]

    def close(self) -> None:
        """Kill the workers (also on Ctrl-C), so no actor outlives the batch holding a GPU."""
        for member in list(self.members):
            self._drop(member, "")


@dataclass
class _Try(Generic[T]):
    task: T
    deaths: list[str] = field(default_factory=list)


class _Flow(Generic[T]):
    """Tasks taken from the source only when a worker has room (so files are planned as they are sent),
    retries first."""

    def __init__(self, source: Iterator[T]) -> None:
        self.source, self.retries = source, deque[_Try[T]]()
        self._ended = False

    def next(self) -> _Try[T] | None:
        if self.retries:
            return self.retries.popleft()
        if self._ended:
            return None
        task = next(self.source, None)
        self._ended = task is None
        return None if task is None else _Try(task)

    def retry(self, item: _Try[T]) -> None:
        self.retries.append(item)

    def exhausted(self) -> bool:
        return self._ended and not self.retries
