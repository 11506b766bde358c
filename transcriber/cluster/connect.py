"""Joining a Ray cluster (or starting one in this process), with one clear line when that cannot be done.

Ray's own `ray.init` can block for good on an address that answers but is no Ray head (a web server, a
head that is shutting down), in C++ code where Ctrl-C does not reach. So a join is tried first in a child
process with a deadline; only an address that passed is joined here.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from transcriber.errors import ConfigError, catch_signals

#: How to get a cluster, for every "cannot connect" message.
START_ONE = (
    "start one with `ray start --head` (or `invoke cluster-head`) and pass its HOST:PORT, "
    "or use --ray-address local for a cluster inside this process"
)
_REACH_SECONDS = 5.0
#: Seconds a trial join may take: Ray retries a head that does not answer as one for a minute, or for ever.
PROBE_SECONDS = 30.0
_TOKEN_HELP = (
    "the cluster wants its token: copy the head's token file (`ray get-auth-token`, ~/.ray/auth_token, or "
    "env/ray-auth-token with invoke cluster-head) to ~/.ray/auth_token here, or set RAY_AUTH_TOKEN"
)
_PROBE = (
    "import logging, sys, ray\n"
    "ray.init(address=sys.argv[1], logging_level=logging.ERROR, log_to_driver=False)\n"
    "print('joined')\n"
)


def _require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise ConfigError("--cluster ray needs ray, which is not installed: pip install -e '.[cluster]'") from exc


def _check_reachable(address: str, flag: str) -> None:
    """Fail fast on a HOST:PORT that is malformed or where nobody listens."""
    if address.startswith("ray://"):
        raise ConfigError(f"{flag} {address}: Ray Client addresses (ray://) are not supported; give the head's "
                          "HOST:PORT (its GCS port, 6379 by default) from a machine that runs a Ray node")  # fmt: skip
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{flag} {address!r} must be auto, local or HOST:PORT (port 1-65535) of a Ray head node")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_REACH_SECONDS).close()
    except OSError as exc:
        raise ConfigError(f"{flag} {address}: no Ray head answers there ({exc.strerror or exc}); "
                          f"{START_ONE}") from exc  # fmt: skip


def _use_token_if_present() -> None:
    """Token authentication where a token is at hand: Ray 2.60's `ray start --head` turns it on and writes
    ~/.ray/auth_token, but a driver joining by address sends the token only when told to."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
    if os.environ.get("RAY_AUTH_TOKEN") or Path(path).is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def _probe(address: str, flag: str) -> None:
    """Join `address` in a child process, which is killed after `PROBE_SECONDS`; one line on failure."""
    child = subprocess.Popen(
        [sys.executable, "-c", _PROBE, address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = child.communicate(timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise ConfigError(f"{flag} {address}: no Ray cluster answered within {PROBE_SECONDS:.0f} s (is it a head's "
                          f"GCS port, 6379 by default, of a running cluster?); {START_ONE}") from None  # fmt: skip
    except BaseException:
        os.killpg(child.pid, signal.SIGKILL)
        raise
    if "joined" in out:
        return
    if "InvalidAuthToken" in err or "Unauthenticated" in err:
        raise ConfigError(f"{flag} {address}: {_TOKEN_HELP}")
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith((" ", "Traceback"))]
    detail = " ".join((lines[-1] if lines else "no answer").split())[:200]
    if address == "auto":
        raise ConfigError(f"--ray-address auto: no Ray cluster runs on this host and RAY_ADDRESS is unset; {START_ONE}")
    raise ConfigError(f"{flag} {address}: cannot connect: {detail}; {START_ONE}")


def connect(address: str) -> str:
    """`ray.init` for `--ray-address`; returns a line describing the cluster joined."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    _use_token_if_present()  # before ray is imported: it reads the mode once, as it loads
    _require_ray()
    flag = "--ray-address"
    if address == "auto" and os.environ.get("RAY_ADDRESS"):
        address, flag = os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    if address not in ("auto", "local"):
        _check_reachable(address, flag)
    if address != "local":
        _probe(address, flag)
    import ray

    # Ray says, at WARNING, that it turned on token authentication for a new cluster: news, not a problem.
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ConfigError(f"{flag} {address}: cannot connect: {detail}; {START_ONE}") from exc
    catch_signals()  # ray.init put its own SIGTERM handler in place of ours: SIGTERM ends the batch as 130
    resources = ray.cluster_resources()
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return (
        f"ray: {nodes} node(s), {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs "
        f"({'started here' if address == 'local' else 'joined ' + address})"
    )


def disconnect() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
