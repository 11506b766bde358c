"""Invoke tasks: `invoke --list` is the menu. Each task is thin; the logic is in transcriber/host/.

The host needs only `invoke` and `docker` (pip install invoke docker); the heavy stack lives in the image.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke import Context, Exit, task

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transcriber.catalog import ready_offline
from transcriber.errors import EXIT_USAGE, ConfigError, TranscriberError
from transcriber.host import actions, bench_runs, node_containers
from transcriber.host.doctor import run_checks
from transcriber.host.envfiles import default_model, model_cache
from transcriber.host.model_cache import DIARIZERS, download_model, import_model

PATHS = actions.HostPaths()


@contextmanager
def _user_errors() -> Iterator[None]:
    """A mistake the user can fix ends the task with its one-line message and exit code, not a traceback."""
    try:
        yield
    except TranscriberError as exc:
        raise Exit(f"error: {exc}", code=exc.exit_code or EXIT_USAGE) from None


def _cache() -> Path:
    """The model cache every task uses (TRANSCRIBER_MODEL_CACHE): `invoke models` fills it, the container
    mounts it, and a --local run reads it as its HF_HOME."""
    return model_cache(PATHS.config())


def _here_or_in_image(local: bool, here: Callable[[], int], image: Callable[[], int]) -> None:
    """Run on this machine (--local, or inside our container) or in the image; exit with the run's code."""
    with _user_errors():
        code = here() if local or actions.in_container() else image()
    if code:
        raise Exit(code=code)


@task(
    help={
        "gpu": "auto (detect), rocm, cuda or cpu",
        "no_build": "skip building the image",
        "no_models": "skip downloading the default model",
        "diarizer": "pyannote: also fetch the pyannote diarization pipeline (gated: HF_TOKEN from the environment)",
    }
)
def setup(c: Context, gpu: str = "auto", no_build: bool = False, no_models: bool = False, diarizer: str = "") -> None:
    """Detect the GPU, write env/local.env, build the image and fetch the default model. Safe to rerun."""
    with _user_errors():
        if diarizer not in ("", "embedding", *DIARIZERS):
            raise ConfigError(f"--diarizer {diarizer}: choose pyannote (or embedding, which needs no download)")
        found, values = actions.setup_env(PATHS, gpu)
        print(f"GPU: {found.name} ({found.kind}); wrote {PATHS.env_dir / 'local.env'}: {values}")
        config = PATHS.config()
        if not no_build:
            actions.docker_client()
            print("image:", actions.build(PATHS, found.kind))
        if not no_models:
            cache = model_cache(config)
            asr = actions.setup_model(PATHS, found, cache)
            print(f"model {asr}: {cache} (recorded in {PATHS.env_dir / 'local.env'})")
            if diarizer in DIARIZERS:
                where = cache if ready_offline(diarizer, cache) else download_model(cache, diarizer)
                print(f"model {diarizer}: {where}")
            if found.kind != "cpu" and not no_build:  # once per new image or GPU: the result is cached
                actions.selftest_in_container(PATHS)
    print("ready: invoke transcribe --input DIR")


@task(
    help={
        "input": "folder of recordings (or one file)",
        "output": "folder for transcripts (default: <input>-transcripts beside it)",
        "backend": "pipeline (Whisper, then cleanup), multimodal (one audio LLM, --model voxtral-mini-3b ...) or "
        "seamless (SeamlessM4T v2, which can also translate: --extra '--translate-to de')",
        "model": "ASR model name, repo id or folder (default: env/ per GPU)",
        "formats": "comma-separated: txt,md,srt,vtt,json",
        "local": "run on this machine without Docker",
        "extra": "more `transcriber run` flags, quoted: --extra '--language de --cleanup none'",
        "ray_address": "HOST:PORT of a Ray head: run as the driver of that cluster (from a host with a Ray node)",
        "token_file": "with --ray-address: the cluster's token file (default: env/ray-auth-token)",
        "wait": "if a run left by a killed invoke still writes to --output, let it finish first (default: stop it)",
    }
)
def transcribe(
    c: Context,
    input: str | None = None,
    output: str | None = None,
    backend: str = "pipeline",
    model: str | None = None,
    formats: str | None = None,
    local: bool = False,
    extra: str = "",
    ray_address: str | None = None,
    token_file: str | None = None,
    wait: bool = False,
) -> None:
    """Transcribe a folder in the container (GPU passed in), or on this machine with --local."""
    if not input:
        raise Exit("error: --input is required: invoke transcribe --input FOLDER", code=EXIT_USAGE)
    with _user_errors():
        source, target, flags = actions.transcribe_args(input, output, model, formats, backend, extra)
    token = Path(token_file).expanduser() if token_file else None

    def in_image() -> int:
        if ray_address:
            return node_containers.transcribe_on_cluster(PATHS, source, target, flags, ray_address, token)
        return actions.transcribe_in_container(PATHS, source, target, flags, wait=wait)

    def here() -> int:
        chosen = actions.with_model(flags, PATHS.config(), PATHS.kind())
        cluster = ["--cluster", "ray", "--ray-address", ray_address] if ray_address else []
        return actions.transcribe_local(source, target, [*chosen, *cluster], _cache())

    _here_or_in_image(local, here, in_image)


@task(
    help={
        "input": "folder of recordings to watch",
        "output": "folder for transcripts (default: <input>-transcripts beside it); one watcher per output folder",
        "backend": "pipeline (Whisper, then cleanup) or multimodal (one audio LLM)",
        "model": "ASR model name, repo id or folder (default: env/ per GPU)",
        "formats": "comma-separated: txt,md,srt,vtt,json",
        "settle": "seconds a recording must stay unchanged before it is read (default 5)",
        "poll": "look for changes every SECONDS instead of inotify (network shares)",
        "idle_unload": "free the models after MINUTES without new recordings",
        "extra": "more `transcriber watch` flags, quoted: --extra '--language de'",
        "local": "watch on this machine, in the foreground, without Docker",
        "status": "show the watchers (or the one of --input/--output): state, files done, last file, last error",
        "logs": "print the watcher's recent log lines",
        "stop": "stop the watcher (the file in hand is finished or abandoned whole) and remove its container",
    }
)
def watch(
    c: Context,
    input: str | None = None,
    output: str | None = None,
    backend: str = "pipeline",
    model: str | None = None,
    formats: str | None = None,
    settle: str | None = None,
    poll: str | None = None,
    idle_unload: str | None = None,
    extra: str = "",
    local: bool = False,
    status: bool = False,
    logs: bool = False,
    stop: bool = False,
) -> None:
    """Watch a folder in a detached container (back after a crash or reboot): transcribe recordings as they settle."""
    from transcriber.host import watch as watcher

    with _user_errors():
        if status or logs or stop:
            target = watcher.target_of(input, output)
            if status:
                print("\n".join(watcher.watch_status(target)))
            elif logs:
                print(watcher.watch_logs(target), end="")
            else:
                for name, code in watcher.stop_watch(target):
                    print(f"stopped {name} (exit {code})")
            return
        if not input:
            raise ConfigError("--input is required: invoke watch --input FOLDER")
        source, target, flags = actions.transcribe_args(input, output, model, formats, backend, extra)
        timing = {"--settle": settle, "--poll": poll, "--idle-unload": idle_unload}
        flags += [part for flag, value in timing.items() if value is not None for part in (flag, value)]
        if local or actions.in_container():
            command = [sys.executable, "-m", "transcriber", "watch", "--input", str(source), "--output", str(target)]
            raise Exit(code=subprocess.run([*command, *flags], check=False).returncode)
        spec = watcher.start_watch(PATHS, source, target, flags)
    print(f"watching {source} -> {target} in {spec.name} (invoke watch --status, --logs, --stop)")


@task(
    help={
        "input": "folder of recordings with <stem>.ref.txt and <stem>.clean.txt references",
        "configs": "a .json/.toml file, or ';'-separated items: a model name or key=value,key=value "
        "(default: the model setup recorded)",
        "output": "folder for report.md, results.json, chart.png (default: <input>-bench beside it)",
        "local": "run on this machine without Docker",
    }
)
def bench(
    c: Context,
    input: str | None = None,
    configs: str | None = None,
    output: str | None = None,
    local: bool = False,
) -> None:
    """Compare models and settings on your recordings: accuracy, cleanup, speed and memory, with a chart."""
    if not input:
        raise Exit("error: --input is required: invoke bench --input FOLDER", code=EXIT_USAGE)
    with _user_errors():
        configs = configs or default_model(PATHS.config(), PATHS.kind())
        source, target, spec = bench_runs.bench_args(input, output, configs)
    _here_or_in_image(
        local,
        lambda: bench_runs.bench_local(source, target, spec, _cache()),
        lambda: bench_runs.bench_in_container(PATHS, source, target, spec),
    )


@task(
    help={
        "gpu": "auto, rocm, cuda or cpu (default: TRANSCRIBER_GPU from env/local.env)",
        "target": "runtime (tagged transcriber:<kind>) or dev (tagged transcriber:<kind>-dev)",
    }
)
def build(c: Context, gpu: str | None = None, target: str = "runtime") -> None:
    """Build the container image (TRANSCRIBER_BUILD_ARGS passes Dockerfile build arguments)."""
    with _user_errors():
        print("image:", actions.build(PATHS, gpu or PATHS.config().get("TRANSCRIBER_GPU", "auto"), target))


@task(
    help={
        "download": "catalog name (Whisper, or a transformers recogniser such as parakeet-tdt-0.6b-v3), pyannote "
        "(the diarization pipeline) or repo id to fetch from the Hub into the model cache; a gated repo takes "
        "HF_TOKEN from the environment",
        "import_": "a CTranslate2 model folder (or tiny.en, the bundled copy), a transformers model folder with "
        "--name of a recogniser, or a pyannote pipeline folder with --name pyannote, to put into the model cache",
        "name": "with --import: the catalog name, pyannote or repo id the folder is (default: the folder's name)",
    }
)
def models(c: Context, download: str | None = None, import_: str | None = None, name: str | None = None) -> None:
    """List the model catalog, or download or import one model into the host model cache."""
    with _user_errors():
        cache = model_cache(PATHS.config())
        if download:
            print(download_model(cache, download))
            return
        if import_:
            print(import_model(cache, import_, name))
            return
    c.run(f"{sys.executable} -m transcriber models", env={"HF_HOME": str(cache), "TRANSCRIBER_MODEL_CACHE": str(cache)})


_RAY_HELP = {
    "node_ip": "this host's address, the one the other nodes reach (default: the default route's)",
    "ports_from": "first of this node's block of fixed ports (raylet and agents from here, worker ports from +10); "
    "a second node on one host needs another block",
    "worker_ports": "ports for Ray's worker processes, one each: at least one per actor (GPU or CPU slot) plus a "
    "few for tasks; raise it on a many-core node, or bound the slots with --num-cpus",
    "num_cpus": "CPU slots Ray offers on this node (default: Ray counts them)",
    "num_gpus": "GPUs Ray offers on this node (default: Ray counts them)",
    "token_file": "the cluster's token file (default: env/ray-auth-token; cluster-head makes it, copy it to the "
    "other hosts)",
}


def _ray_node(
    address: str | None, node_ip: str | None, port: int, ports_from: int, worker_ports: int,
    num_cpus: str | None, num_gpus: str | None, token_file: str | None,
) -> node_containers.RayNode:  # fmt: skip
    """What cluster-head (`address` None) or cluster-worker asked for: CPU/GPU counts checked, the token file
    resolved (default: the env folder's)."""
    given = {kind: n for kind, n in (("cpus", num_cpus), ("gpus", num_gpus)) if n is not None}
    for kind, n in given.items():
        if not n.isdigit():
            raise Exit(f"error: --num-{kind} {n}: give a whole number", code=EXIT_USAGE)
    resources = tuple(f"--num-{kind}={n}" for kind, n in given.items())
    token = Path(token_file).expanduser().resolve() if token_file else PATHS.ray_token
    return node_containers.RayNode(address, node_ip, port, ports_from, resources, worker_ports, token_file=token)


def _port_ranges(ports: tuple[int, ...]) -> str:
    """6379-6385,6390-6405: the ports to open between the hosts, as firewalls take them."""
    runs: list[list[int]] = []
    for port in sorted(ports):
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


@task(help={**_RAY_HELP, "port": "the head's port (Ray's GCS), which workers join"})
def cluster_head(
    c: Context,
    node_ip: str | None = None,
    port: int = 6379,
    ports_from: int = 6380,
    worker_ports: int = 16,
    num_cpus: str | None = None,
    num_gpus: str | None = None,
    token_file: str | None = None,
) -> None:
    """Start a Ray head node in the image (detached), with token authentication.

    The node gets the GPU, model cache and user a run gets; the token file is made unless it exists."""
    node = _ray_node(None, node_ip, port, ports_from, worker_ports, num_cpus, num_gpus, token_file)
    with _user_errors():
        spec = node_containers.start_ray_node(PATHS, node)
    ip = next(a.split("=", 1)[1] for a in spec.command if a.startswith("--node-ip-address="))
    print(f"Ray head {spec.name} started at {ip}:{port}, listening on TCP {_port_ranges(node.ports.listening())}")
    token = node.token_file
    print(f"token: {token} (copy it to each other host, same place: scp {token} HOST:{token})")
    print(f"on each GPU host: invoke cluster-worker --address {ip}:{port}")


@task(help={**_RAY_HELP, "address": "the head, HOST:PORT (as cluster-head printed it)"})
def cluster_worker(
    c: Context,
    address: str | None = None,
    node_ip: str | None = None,
    ports_from: int = 6380,
    worker_ports: int = 16,
    num_cpus: str | None = None,
    num_gpus: str | None = None,
    token_file: str | None = None,
) -> None:
    """Start a Ray worker node in the image (detached) that joins the head at --address, with the head's token."""
    if not address:
        raise Exit("error: --address is required: invoke cluster-worker --address HEAD:6379", code=EXIT_USAGE)
    port = node_containers.HEAD_PORT
    node = _ray_node(address, node_ip, port, ports_from, worker_ports, num_cpus, num_gpus, token_file)
    with _user_errors():
        spec = node_containers.start_ray_node(PATHS, node)
    print(f"Ray worker {spec.name} joined {address}, listening on TCP {_port_ranges(node.ports.listening())}")


@task
def cluster_stop(c: Context) -> None:
    """Stop and remove the Ray node containers of this host (started by cluster-head or cluster-worker)."""
    with _user_errors():
        names = node_containers.stop_ray_nodes()
    print("stopped: " + (", ".join(names) if names else "no Ray node was running"))


@task(help={"command": "run this bash command in the image instead of an interactive shell"})
def shell(c: Context, command: str | None = None) -> None:
    """Open a bash shell in the image as a run gets it: GPU, model cache, user and isolation."""
    with _user_errors():
        argv = actions.shell_argv(PATHS, command)
    if command is None:
        os.execvp(argv[0], argv)
    raise Exit(code=subprocess.run(argv, check=False).returncode)


@task(help={"fast": "leave out the tests marked slow (Docker builds, Ray clusters, many full runs)"})
def test(c: Context, fast: bool = False) -> None:
    """Run the test suite (what CI runs after installing everything: bash .ci/run)."""
    marker = " -m 'not slow'" if fast else ""
    c.run(f"{sys.executable} -m pytest -q{marker}", pty=sys.stdout.isatty())


@task
def lock(c: Context) -> None:
    """Regenerate requirements.lock for the images (Python 3.12, manylinux x86-64, hashes).

    Pins already in the lock are kept (uv prefers the output file's versions): only what changed resolves anew."""
    c.run(
        "uv pip compile pyproject.toml containers/lock-extras.in --python-version 3.12 "
        "--python-platform x86_64-manylinux_2_28 --extra llm --extra multimodal --extra quant --extra bench "
        "--extra diarize --extra cluster --extra watch --generate-hashes --override containers/lock-overrides.txt "
        "-o requirements.lock"
    )


@task(help={"model": "the ASR model your runs use (default: env's TRANSCRIBER_MODEL_<GPU>)"})
def doctor(c: Context, model: str | None = None) -> None:
    """Check Docker, groups, GPU access, gfx override, image, models and disk; each PASS or FAIL with the fix."""
    with _user_errors():
        checks = run_checks(
            PATHS.config(),
            PATHS.repo,
            PATHS.sys_root,
            PATHS.dev_root,
            nvidia_smi=PATHS.nvidia_smi,
            model=model,
            selftest=lambda: actions.selftest_in_container(PATHS),
        )
    for check in checks:
        print(check)
    if not all(check.ok for check in checks):
        raise Exit(code=1)
