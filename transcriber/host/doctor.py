"""`invoke doctor`: each thing a container run needs, PASS or FAIL with the fix."""

from __future__ import annotations

import getpass
import grp
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transcriber.catalog import ready_offline
from transcriber.errors import TranscriberError
from transcriber.host.docker_engine import DockerUnavailableError, docker_client
from transcriber.host.envfiles import HostConfig, default_model, image_tag, model_cache
from transcriber.host.gpu import Gpu, detect
from transcriber.host.rocm import ALLOCATOR, advice

MIN_FREE_GB = 25  # the ROCm image is about 20 GB unpacked, large-v3-turbo 1.6 GB, a cleanup LLM 6 GB
#: What the image is built from: the package itself too, or a code change would leave a "current" image.
IMAGE_INPUTS = ("containers", "requirements.lock", "pyproject.toml", "transcriber")
SOURCE_LABEL = "org.transcriber.source-hash"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report; `detail` says what was found, and on a FAIL what to do."""

    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def source_hash(repo: Path) -> str:
    """Hash of what the image is built from; stored as an image label, so doctor can tell a stale image."""
    digest = hashlib.sha256()
    for item in IMAGE_INPUTS:
        root = repo / item
        for path in sorted(root.rglob("*") if root.is_dir() else [root]):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(path.relative_to(repo).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _docker_checks(tag: str, repo: Path, connect: Callable[[], object]) -> list[Check]:
    try:
        client = connect()
    except DockerUnavailableError as exc:
        return [Check("Docker engine", False, str(exc))]
    checks = [Check("Docker engine", True, "reachable")]
    try:
        image = client.images.get(tag)  # type: ignore[attr-defined]
    except Exception:
        return [*checks, Check("image", False, f"{tag} is not built: run `invoke build` (or `invoke setup`)")]
    current = source_hash(repo)
    built = (image.labels or {}).get(SOURCE_LABEL, "")
    if built != current:
        stale = f"{tag} is older than containers/, the lock or transcriber/: run `invoke build`"
        return [*checks, Check("image", False, stale)]
    return [*checks, Check("image", True, f"{tag} is current ({current})")]


def _group_check() -> Check:
    if os.getuid() == 0:
        return Check("docker group", True, "running as root")
    try:
        docker_gid = grp.getgrnam("docker").gr_gid
    except KeyError:
        return Check("docker group", False, "no docker group on this machine: install Docker (it creates it)")
    if docker_gid in os.getgroups():
        return Check("docker group", True, f"{getpass.getuser()} is in it")
    return Check(
        "docker group", False, "you are not in the docker group: `sudo usermod -aG docker $USER`, log in again"
    )


def _gpu_checks(gpu: Gpu, config: HostConfig, dev_root: Path) -> list[Check]:
    if gpu.kind == "cpu" and config.get("TRANSCRIBER_GPU") == "cpu":
        where = config.sources.get("TRANSCRIBER_GPU", "the configuration")
        return [Check("GPU", True, f"CPU, as {where} chooses (TRANSCRIBER_GPU=cpu)")]
    if gpu.kind == "cpu":
        return [
            Check(
                "GPU",
                False,
                "no AMD (/sys/class/kfd) or NVIDIA (nvidia-smi) GPU found: runs fall back to the "
                "CPU; for AMD install the amdgpu driver and ROCm, then rerun `invoke setup`",
            )
        ]
    checks = [Check("GPU", True, f"{gpu.name}, {gpu.vram_gb:.1f} GB")]
    if gpu.kind != "rocm":
        return checks
    for node in (dev_root / "kfd", dev_root / gpu.render_node.removeprefix("/dev/")):
        ok = os.access(node, os.R_OK | os.W_OK)
        fix = "" if ok else ": add yourself to the groups owning it (`sudo usermod -aG render,video $USER`)"
        checks.append(Check(f"access {node}", ok, ("read/write" if ok else "no read/write access") + fix))
    row = advice(gpu.gfx_target)
    wanted, configured = row.hsa_override, config.get("HSA_OVERRIDE_GFX_VERSION")
    source = config.sources.get("HSA_OVERRIDE_GFX_VERSION", "nowhere")
    if wanted and configured != wanted:
        checks.append(
            Check(
                "gfx override",
                False,
                f"{gpu.gfx_target} wants HSA_OVERRIDE_GFX_VERSION={wanted}, "
                f"but {source} sets {configured or 'nothing'}: rerun `invoke setup` or fix that file",
            )
        )
    else:
        checks.append(Check("gfx override", True, f"HSA_OVERRIDE_GFX_VERSION={configured or '(none)'}: {row.why}"))
    allocator = config.get("CT2_CUDA_ALLOCATOR")
    ok = allocator == ALLOCATOR or not row.allocator_required
    fix = "" if ok else f": set CT2_CUDA_ALLOCATOR={ALLOCATOR} (env/defaults.env has it; the ROCm image sets it)"
    checks.append(Check("CTranslate2 allocator", ok, f"CT2_CUDA_ALLOCATOR={allocator or '(default)'}{fix}"))
    return checks


def _model_check(cache: Path, model: str) -> Check:
    """Whether the run finds `model` in the cache the container mounts, read as the run reads it."""
    try:
        cached = ready_offline(model, cache)
    except TranscriberError as exc:
        return Check("models", False, str(exc))
    if cached:
        return Check("models", True, f"{model} is cached in {cache}")
    fix = f"run `invoke models --download {model}` (or --import a folder)"
    return Check("models", False, f"{model} is not in {cache}: {fix}")


def run_checks(
    config: HostConfig,
    repo: Path,
    sys_root: Path = Path("/sys"),
    dev_root: Path = Path("/dev"),
    connect: Callable[[], object] = docker_client,
    nvidia_smi: str = "nvidia-smi",
    model: str | None = None,
    selftest: Callable[[], int] | None = None,
) -> list[Check]:
    """Every check; `model` is the one the runs use (default: env's model for the GPU kind). `selftest`, when
    given, runs `transcriber selftest` in the image once the GPU, its access and the image passed (the only
    check that sees whether the GPU computes right) and returns its exit code."""
    gpu = detect(config.get("TRANSCRIBER_GPU", "auto"), sys_root, nvidia_smi)
    tag = image_tag(config, gpu.kind)
    checks = [*_docker_checks(tag, repo, connect), _group_check(), *_gpu_checks(gpu, config, dev_root)]
    if selftest is not None and gpu.kind != "cpu" and all(c.ok for c in checks):
        ok = selftest() == 0
        checks.append(Check("GPU self-test", ok, "the GPU transcribes the reference recording as the CPU does"
                            if ok else "the GPU gives wrong text: see the FAIL line above for the fix"))  # fmt: skip
    cache = model_cache(config)
    checks.append(_model_check(cache, model or default_model(config, gpu.kind)))
    probe = cache if cache.exists() else next(p for p in [cache, *cache.parents] if p.exists())
    free = shutil.disk_usage(probe).free / 2**30
    checks.append(Check("disk space", free >= MIN_FREE_GB, f"{free:.0f} GB free at {probe} (want {MIN_FREE_GB})"))
    return checks
