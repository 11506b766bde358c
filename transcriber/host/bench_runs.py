"""`invoke bench`: `transcriber bench` over a folder of recordings with references, here or in the image."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from transcriber.errors import ConfigError
from transcriber.host.actions import HostPaths, check_output, in_output, run_here, run_in_image
from transcriber.host.container import CONTAINER_INPUT, CONTAINER_OUTPUT
from transcriber.host.docker_engine import docker_client


def bench_args(input_dir: str, output: str | None, configs: str) -> tuple[Path, Path, str]:
    """The corpus folder, the report folder (default `<input>-bench` beside it) and the configurations."""
    source = Path(input_dir).expanduser().resolve()
    if not source.is_dir():
        raise ConfigError(f"--input {input_dir} is not a folder; give a folder of recordings with references")
    target = Path(output).expanduser().resolve() if output else source.parent / f"{source.name}-bench"
    check_output(target, "--output" if output else "the report folder")
    return source, target, configs


def bench_local(source: Path, target: Path, configs: str, cache: Path | None = None) -> int:
    command = [sys.executable, "-m", "transcriber", "bench", "--input", str(source), "--output", str(target)]
    return in_output(target, lambda: run_here([*command, "--configs", configs], cache))


def bench_in_container(
    paths: HostPaths, source: Path, target: Path, configs: str, connect: Callable[[], object] = docker_client
) -> int:
    """`transcriber bench` inside the image; a configs file is copied into the report folder to reach it."""
    spec_file = Path(configs).expanduser()
    if spec_file.is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec_file, target / spec_file.name)
        configs = f"{CONTAINER_OUTPUT}/{spec_file.name}"
    command = ["bench", "--input", CONTAINER_INPUT, "--output", CONTAINER_OUTPUT, "--configs", configs]
    return run_in_image(paths, source, target, lambda config, access: command, connect)
