"""What the invoke tasks do, kept out of tasks.py so each task stays a few lines.

Every action takes its host facts (repo, env folder, sysfs and /dev roots, docker connection) as
arguments with real defaults, so tests can point them at stand-ins without patching.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from transcriber.catalog import BACKENDS, best_cached_asr, ready_offline
from transcriber.errors import EXIT_USAGE, ConfigError, TranscriberError
from transcriber.host.container import (
    ContainerSpec,
    GpuAccess,
    amd_access,
    host_user,
    run_command,
    run_container,
)
from transcriber.host.docker_engine import build_image, docker_client, require_image
from transcriber.host.doctor import SOURCE_LABEL, source_hash
from transcriber.host.envfiles import (
    KEYS,
    HostConfig,
    build_args,
    default_model,
    image_tag,
    load_host_config,
    model_cache,
    parse_env_file,
    write_local_env,
)
from transcriber.host.gpu import Gpu, detect, detect_choice
from transcriber.host.model_cache import download_model
from transcriber.host.rocm import advice
from transcriber.host.runs import HOLDER_ENV, Owner, clear_leftovers, holder, run_labels, run_name

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class HostPaths:
    """Where the host facts are read from; the defaults are the real machine."""

    repo: Path = REPO
    #: TRANSCRIBER_SYSFS_ROOT and TRANSCRIBER_NVIDIA_SMI stand in for /sys and nvidia-smi (tests, odd hosts).
    sys_root: Path = Path(os.environ.get("TRANSCRIBER_SYSFS_ROOT", "/sys"))
    dev_root: Path = Path("/dev")
    nvidia_smi: str = os.environ.get("TRANSCRIBER_NVIDIA_SMI", "nvidia-smi")
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    #: TRANSCRIBER_ENV_DIR points the tasks at another folder of env files (a second machine profile).
    env_dir: Path = Path(os.environ.get("TRANSCRIBER_ENV_DIR", REPO / "env"))

    @property
    def ray_token(self) -> Path:
        """The Ray cluster's token file: made by `invoke cluster-head`, copied to the other hosts."""
        return self.env_dir.resolve() / "ray-auth-token"

    def config(self, flags: dict[str, str | None] | None = None) -> HostConfig:
        return load_host_config(self.env_dir, self.environ, flags)

    def gpu(self, prefer: str | None = None) -> Gpu:
        """The GPU found for `prefer` (default TRANSCRIBER_GPU); `auto` is resolved by `detect` alone."""
        return detect(prefer or self.config().get("TRANSCRIBER_GPU", "auto"), self.sys_root, self.nvidia_smi)

    def kind(self, prefer: str | None = None) -> str:
        """rocm, cuda or cpu for a task: a pinned kind as it is (setup checked it), `auto` detected."""
        prefer = prefer or self.config().get("TRANSCRIBER_GPU", "auto")
        return self.gpu(prefer).kind if prefer == "auto" else detect_choice(prefer)


def in_container() -> bool:
    """True inside our image or the devcontainer (both set TRANSCRIBER_IN_CONTAINER=1), where tasks run
    `transcriber` directly. /.dockerenv is not used: any container has it, CI sandboxes included."""
    return os.environ.get("TRANSCRIBER_IN_CONTAINER") == "1"


def gpu_access(config: HostConfig, paths: HostPaths) -> GpuAccess:
    """Devices, groups and override for the container, from local.env (written by setup) and /dev."""
    kind = paths.kind(config.get("TRANSCRIBER_GPU", "auto"))
    if kind != "rocm":
        return GpuAccess(kind=kind)
    if not (paths.dev_root / "kfd").exists():
        raise ConfigError(
            f"{paths.dev_root / 'kfd'} does not exist: the amdgpu kernel driver is not loaded, so no container can "
            "reach the GPU; install the driver (amdgpu-install --usecase=rocm), or run on the CPU with --local"
        )
    access = amd_access(paths.dev_root, config.get("TRANSCRIBER_RENDER_NODE"), config.get("HSA_OVERRIDE_GFX_VERSION"))
    if gids := config.get("TRANSCRIBER_DEVICE_GIDS"):
        extra = tuple(int(g) for g in gids.split(","))
        access = GpuAccess(access.kind, access.devices, tuple(sorted({*access.group_ids, *extra})), access.hsa_override)
    return access


def setup_env(paths: HostPaths, prefer: str) -> tuple[Gpu, dict[str, str]]:
    """Detect the GPU and write env/local.env with what was found; returns both."""
    gpu = paths.gpu(prefer)
    if prefer in ("rocm", "cuda") and gpu.kind != prefer:
        where = "/sys/class/kfd (is the amdgpu driver loaded?)" if prefer == "rocm" else "nvidia-smi"
        raise ConfigError(f"--gpu {prefer}: no such GPU found in {where}; use --gpu auto or --gpu cpu")
    values = {"TRANSCRIBER_GPU": gpu.kind}
    if gpu.kind == "rocm":
        nodes = [paths.dev_root / "kfd", paths.dev_root / gpu.render_node.removeprefix("/dev/")]
        gids = sorted({n.stat().st_gid for n in nodes if n.exists()})
        values |= {
            "TRANSCRIBER_GFX_TARGET": gpu.gfx_target,
            "HSA_OVERRIDE_GFX_VERSION": advice(gpu.gfx_target).hsa_override,
            "TRANSCRIBER_RENDER_NODE": gpu.render_node,
            "TRANSCRIBER_DEVICE_GIDS": ",".join(str(g) for g in gids),
        }
    local = paths.env_dir / "local.env"
    kept = parse_env_file(local) if local.is_file() else {}
    values |= {key: value for key, value in kept.items() if key.startswith("TRANSCRIBER_MODEL_") and key in KEYS}
    write_local_env(local, values, _local_header(gpu))
    return gpu, values


def _local_header(gpu: Gpu) -> str:
    memory = f" ({gpu.vram_gb:.1f} GB)" if gpu.vram_gb else ""
    return (
        f"Written by `invoke setup` for {gpu.name}{memory}, with the model it fetched or found.\nRerun setup "
        "after a hardware change."
    )


def setup_model(paths: HostPaths, gpu: Gpu, cache: Path, say: Callable[[str], None] = print) -> str:
    """The ASR model the tasks use on this GPU, in the cache and recorded in env/local.env: env's choice,
    fetched unless cached; without the Hub, the best catalog model already in the cache, said so."""
    wanted = default_model(paths.config(), gpu.kind)
    if ready_offline(wanted, cache):
        chosen = wanted
    else:
        try:
            download_model(cache, wanted)
            chosen = wanted
        except TranscriberError as exc:
            found = best_cached_asr(cache)
            if found is None:
                raise
            say(f"{exc}".split(". Without the Hub")[0].rstrip(".") + ".")
            say(f"using {found}, which is in the model cache; once the Hub is reachable: invoke models --download "
                f"{wanted}, then rerun setup")  # fmt: skip
            chosen = found
    local = paths.env_dir / "local.env"
    values = parse_env_file(local) if local.is_file() else {}
    values = {key: value for key, value in values.items() if key in KEYS}
    write_local_env(local, values | {f"TRANSCRIBER_MODEL_{gpu.kind.upper()}": chosen}, _local_header(gpu))
    return chosen


def build(
    paths: HostPaths, gpu_kind: str, target: str = "runtime", connect: Callable[[], object] = docker_client
) -> str:
    """Build the image for `gpu_kind` (auto resolved), labelled with the hash of what it was built from;
    TRANSCRIBER_BUILD_ARGS feeds the Dockerfile's build arguments. Returns the tag."""
    if target not in ("runtime", "dev"):
        raise ConfigError(f"--target {target}: choose runtime or dev")
    kind = paths.kind(gpu_kind)
    config = paths.config()
    client = connect()
    tag = image_tag(config, kind, target)
    labels = {SOURCE_LABEL: source_hash(paths.repo)}
    build_image(client, paths.repo, kind, tag, target=target, labels=labels, buildargs=build_args(config))
    return tag


def transcribe_args(
    input_dir: str, output: str | None, model: str | None, formats: str | None, backend: str, extra: str
) -> tuple[Path, Path, list[str]]:
    """Check the folders and build the flags `transcriber run` gets besides --input and --output."""
    source = Path(input_dir).expanduser().resolve()
    if not source.exists():
        raise ConfigError(f"--input {input_dir} does not exist; give a folder of recordings")
    target = Path(output).expanduser().resolve() if output else default_output(source)
    check_output(target, "--output" if output else "the output folder")
    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend}: choose one of {', '.join(BACKENDS)}")
    flags = ["--backend", backend]
    if model:
        flags += ["--model", model]
    if formats:
        flags += ["--formats", formats]
    try:
        passed = shlex.split(extra)
    except ValueError as exc:
        raise ConfigError(f"--extra {extra}: {exc}; quote it as a shell would: --extra '--language de'") from None
    return source, target, [*flags, *passed]


def check_output(target: Path, flag: str) -> None:
    """A one-line error unless `target` is a folder this user can write, or can be made one; nothing is made
    here, so a refused run leaves nothing behind."""
    existing = next(p for p in (target, *target.parents) if os.path.lexists(p))
    if existing == target and not target.is_dir():
        raise ConfigError(f"{flag} {target} is a file, not a folder; choose a folder for the transcripts")
    if not existing.is_dir():
        raise ConfigError(f"{flag} {target} lies under {existing}, which is a file; choose a folder for the "
                          "transcripts")  # fmt: skip
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "cannot be written" if existing == target else f"cannot be made: {existing} is not writable"
        raise ConfigError(f"{flag} {target} {what} by you; choose a folder you can write to")


def make_output(target: Path) -> bool:
    """Make the output folder (one line if that fails now); True if it was made here."""
    if target.is_dir():
        return False
    try:
        target.mkdir(parents=True)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(f"--output {target}: {exc.strerror}; choose a folder you can write to") from None
    return True


def in_output(target: Path, run: Callable[[], int]) -> int:
    """`run` writing into `target` (made if missing). A run that exits 2 did nothing (a bad flag, a missing
    model): in a folder made for it, what it left (its lock) is taken away again, and the folder too."""
    made = make_output(target)
    code = run()
    if code == EXIT_USAGE and made:
        state = target / ".transcriber"
        (state / "lock").unlink(missing_ok=True)
        for folder in (state, target):  # no state folder where the run was refused before taking the lock
            try:
                folder.rmdir()
            except FileNotFoundError:
                continue
            except OSError:  # not empty: it holds something of someone's
                break
    return code


def default_output(source: Path) -> Path:
    """`<folder>-transcripts` beside the recordings folder; for one file, the same folder its whole
    folder's run would use, so transcripts never land among the recordings."""
    folder = source if source.is_dir() else source.parent
    return folder.parent / f"{folder.name}-transcripts"


def flag_value(flags: Sequence[str], name: str) -> str | None:
    """The value the CLI will see for `name` (`--x v` or `--x=v`; the last one wins, as argparse does)."""
    found = None
    for i, flag in enumerate(flags):
        if flag == name and i + 1 < len(flags):
            found = flags[i + 1]
        elif flag.startswith(f"{name}="):
            found = flag.split("=", 1)[1]
    return found


def transcribe_local(source: Path, target: Path, flags: Sequence[str], cache: Path | None = None) -> int:
    """`transcriber run` on this machine, in this Python, with the tasks' model cache; returns its exit code."""
    command = [sys.executable, "-m", "transcriber", "run", "--input", str(source), "--output", str(target), *flags]
    return in_output(target, lambda: run_here(command, cache))


def run_here(command: Sequence[str], cache: Path | None = None) -> int:
    """Run `command` here and return its exit code. It gets its own process group, and Ctrl-C, SIGTERM and
    SIGHUP of this process are handed to it once each (SIGINT, SIGTERM, SIGTERM), so it stops as it would
    alone: summary written, 130. `cache` becomes its HF_HOME: the cache `invoke models` fills."""
    env = None if cache is None else {**os.environ, "HF_HOME": str(cache)}
    process = subprocess.Popen(command, env=env, process_group=0)

    def forward(signum: int, frame: object) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.signal(number, forward) for number in caught}
    try:
        code = process.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - code if code < 0 else code  # killed by a signal: the shell's 128 + its number


def container_spec(paths: HostPaths, command: Sequence[str], source: Path | None, target: Path | None) -> ContainerSpec:
    """The one request every container of ours gets (runs, bench, `invoke shell`), from the host facts."""
    config = paths.config()
    access = gpu_access(config, paths)
    cache = model_cache(config)
    cache.mkdir(parents=True, exist_ok=True)
    return ContainerSpec(
        image=image_tag(config, access.kind),
        command=tuple(command),
        input_dir=None if source is None else source if source.is_dir() else source.parent,
        output_dir=target,
        model_cache=cache,
        gpu=access,
        user=host_user(),
        shm_size=config.get("TRANSCRIBER_SHM_SIZE", "8g"),
        extra_env={"CT2_CUDA_ALLOCATOR": allocator} if (allocator := config.get("CT2_CUDA_ALLOCATOR")) else {},
    )


def run_in_image(
    paths: HostPaths,
    source: Path,
    target: Path,
    command: Callable[[HostConfig, GpuAccess], Sequence[str]],
    connect: Callable[[], object] = docker_client,
    adjust: Callable[[Any, ContainerSpec], ContainerSpec] = lambda client, spec: spec,
    wait: bool = False,
) -> int:
    """Run a `transcriber` command in the image with the GPU, the folders and the model cache; its exit code.

    `command` gets the host config and the GPU access, so it can fill in defaults that depend on them;
    `adjust` changes the request with the engine at hand (a Ray driver joins a node there). The container
    is named and labelled with `target` and this invoke (see host/runs.py): a leftover of a killed invoke
    on the same output is stopped and removed first (or waited for, `wait`).
    """
    config = paths.config()
    spec = container_spec(paths, (), source, target)
    spec = replace(spec, command=tuple(command(config, spec.gpu)))
    client = connect()
    spec = adjust(client, spec)
    require_image(client, spec.image)
    clear_leftovers(client, target, wait)
    owner, name = Owner.me(), run_name(spec.image, target)
    env = {**spec.extra_env, HOLDER_ENV: holder(name, owner)}
    spec = replace(spec, name=name, labels=run_labels(target, owner), extra_env=env)
    return in_output(target, lambda: run_container(client, spec))


def shell_argv(paths: HostPaths, command: str | None, connect: Callable[[], object] = docker_client) -> list[str]:
    """`docker run` for `invoke shell`: bash in the image with the same request as a run (no folders).
    Standard input is always passed (`echo ls | invoke shell`, a piped -c); a terminal only where there is
    one, so CI and pipes work."""
    spec = container_spec(paths, (), None, None)
    require_image(connect(), spec.image)
    tty = ["-it"] if sys.stdin.isatty() else ["-i"]
    bash = [] if command is None else ["-c", command]
    return ["docker", "run", "--rm", *tty, *spec.cli_args(), "--entrypoint", "bash", spec.image, *bash]


def selftest_in_container(paths: HostPaths, connect: Callable[[], object] = docker_client) -> int:
    """`transcriber selftest` in the image with the GPU (its PASS/FAIL line is printed): 0 PASS, 1 FAIL.
    The result is cached in the model cache per GPU, driver and image, so a rerun is quick."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)

        def command(config: HostConfig, access: GpuAccess) -> list[str]:
            return ["selftest", "--model", default_model(config, access.kind)]

        return run_in_image(paths, folder, folder / "out", command, connect)


def transcribe_command(source: Path, flags: Sequence[str]) -> Callable[[HostConfig, GpuAccess], Sequence[str]]:
    """The in-image `transcriber run`; the ASR model defaults to env's model for the GPU kind."""

    def command(config: HostConfig, access: GpuAccess) -> Sequence[str]:
        return run_command(with_model(flags, config, access.kind), "" if source.is_dir() else source.name)

    return command


def with_model(flags: Sequence[str], config: HostConfig, kind: str) -> list[str]:
    """`flags` with the ASR model env gives (the one setup fetched or found) unless they name one; the
    audio-LLM backends choose their own."""
    pipeline = flag_value(flags, "--backend") in (None, "pipeline")
    return (
        ["--model", default_model(config, kind), *flags]
        if pipeline and flag_value(flags, "--model") is None
        else [*flags]
    )


def transcribe_in_container(
    paths: HostPaths,
    source: Path,
    target: Path,
    flags: Sequence[str],
    connect: Callable[[], object] = docker_client,
    wait: bool = False,
) -> int:
    """`transcriber run` inside the image."""
    return run_in_image(paths, source, target, transcribe_command(source, flags), connect, wait=wait)
