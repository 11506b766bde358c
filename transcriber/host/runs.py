"""Which run containers of ours exist for an output folder, and who started them.

Every batch container (`invoke transcribe`, bench, selftest) is named and labelled with the host output
folder it writes and with its owner: this host, the pid of the invoke that started it and that process's
start time (a pid alone may be reused). So a later `invoke transcribe` on the same output can tell a run
that is still someone's (refuse, naming it) from a leftover whose invoke was killed with SIGKILL (stop and
remove it, or wait for it), through the engine alone. The owner also goes into the container's
environment, so the run's output lock names the container and the invoke behind it, not "pid 1".

Standard library only: this is the host side.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcriber.errors import OutputLockedError

#: The label holding the host output folder a run container writes to; its presence marks a run of ours.
OUTPUT_LABEL = "transcriber.run.output"
#: The label holding the owner: "<host> <pid> <start ticks>" of the invoke process that started it.
OWNER_LABEL = "transcriber.run.owner"
#: The environment variable the run's output lock writes as its holder (see transcriber/state.py).
HOLDER_ENV = "TRANSCRIBER_LOCK_HOLDER"
#: Seconds a run gets after SIGTERM to write its summary, before the engine kills it.
STOP_GRACE_S = 20


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or "" where there is
    no /proc (macOS) or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # the name in parentheses may hold spaces


@dataclass(frozen=True)
class Owner:
    """The process that started a run container, as written in its label."""

    host: str
    pid: int
    started: str = ""

    @classmethod
    def me(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), _start_ticks(os.getpid()))

    @classmethod
    def parse(cls, label: str) -> Owner | None:
        parts = label.split(" ")
        if len(parts) not in (2, 3) or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2] if len(parts) == 3 else "")

    def label(self) -> str:
        return f"{self.host} {self.pid} {self.started}".rstrip()

    def alive(self) -> bool:
        """Whether the owner still runs. On another host it cannot be told, so it counts as running."""
        if self.host != socket.gethostname():
            return True
        if self.started:
            return _start_ticks(self.pid) == self.started
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def run_name(image: str, output: Path) -> str:
    """`<image name>-run-<output folder>-<6 hex>`: readable in `docker ps`, unique on the engine."""
    base = image.rsplit("/", 1)[-1].split(":", 1)[0]
    folder = re.sub(r"[^A-Za-z0-9_.-]+", "-", output.name).strip("-.")[:40] or "output"
    return f"{base}-run-{folder}-{secrets.token_hex(3)}"


def run_labels(output: Path, owner: Owner) -> dict[str, str]:
    return {OUTPUT_LABEL: str(output), OWNER_LABEL: owner.label()}


def holder(name: str, owner: Owner) -> str:
    """How the output lock names a run in a container, for the one who finds the folder locked."""
    return f"container {name}, started by invoke pid {owner.pid} on {owner.host}"


def runs_of(client: Any, output: Path) -> list[Any]:
    """The run containers of ours (running or not) that write to `output`."""
    found = client.containers.list(all=True, filters={"label": f"{OUTPUT_LABEL}={output}"}, ignore_removed=True)
    return [c for c in found if c.labels.get(OUTPUT_LABEL) == str(output)]


def say(message: str) -> None:
    """A line on stderr; after SIGHUP the terminal is gone, and the message with it, not the run's shutdown."""
    with suppress(OSError):
        print(message, file=sys.stderr, flush=True)


def clear_leftovers(client: Any, output: Path, wait: bool = False, say: Callable[[str], None] = say) -> None:
    """Before a run writes to `output`: a running container of someone's invoke is refused (or, `wait`,
    waited for); a leftover one, whose invoke is gone, is stopped (or waited for) and removed, and so is a
    leftover that has finished. A container whose invoke still runs is that invoke's to remove."""
    for container in runs_of(client, output):
        owner = Owner.parse(container.labels.get(OWNER_LABEL, ""))
        leftover = owner is not None and not owner.alive()
        running = container.status in ("running", "restarting", "paused")
        if running and wait:
            say(f"waiting for the run in container {container.name} to finish (docker logs -f {container.name})")
            container.wait()
        elif running and not leftover:
            who = f"started by invoke pid {owner.pid} on {owner.host}" if owner else "of an unknown owner"
            raise OutputLockedError(
                f"another transcriber run (container {container.name}, {who}) is writing to {output}; wait for "
                "it to finish (--wait) or choose another --output"
            )
        elif running:
            say(
                f"a leftover run is still writing to {output}: container {container.name}, whose invoke (pid "
                f"{owner.pid if owner else '?'}) is gone; stopping and removing it (--wait lets it finish)"
            )
            container.stop(timeout=STOP_GRACE_S)
        if leftover:
            container.remove(force=True)
