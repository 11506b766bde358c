"""The Ray node request: the run's GPU request made into a named node on the host's network, every port fixed.

What only an AMD host has (device nodes, their GIDs, the gfx override) is checked here through the real
docker SDK against the stand-in Engine API; the two-node cluster itself forms on a real engine in
tests/test_docker_engine.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import docker
import pytest

from tests.fake_docker import FakeEngine
from tests.test_container import _host
from transcriber.errors import ConfigError
from transcriber.host.actions import (
    RayNode,
    _spec,
    ray_node_spec,
    start_ray_node,
    transcribe_in_container,
    transcribe_on_cluster,
)
from transcriber.host.raynode import AUTH_ENV, RayPorts, detect_node_ip, ensure_token, head_address, require_token

AMD = {"TRANSCRIBER_GPU": "rocm", "TRANSCRIBER_RENDER_NODE": "/dev/dri/renderD128",
       "HSA_OVERRIDE_GFX_VERSION": "11.0.1", "TRANSCRIBER_DEVICE_GIDS": "44"}  # fmt: skip


def test_every_port_is_fixed_once() -> None:
    head = RayPorts(6380, gcs=6379)
    flags = head.flags()
    fixed = {flag.split("=")[0]: int(flag.split("=")[1]) for flag in flags}
    assert fixed == {
        "--port": 6379, "--node-manager-port": 6380, "--object-manager-port": 6381,
        "--dashboard-agent-grpc-port": 6382, "--dashboard-agent-listen-port": 6383, "--metrics-export-port": 6384,
        "--runtime-env-agent-port": 6385, "--min-worker-port": 6390, "--max-worker-port": 6405,
    }  # fmt: skip
    listening = head.listening()
    assert len(listening) == len(set(listening)) == 7 + 16
    assert set(listening) == {*fixed.values(), *range(6390, 6406)}
    worker = RayPorts(6480)
    assert not any(flag.startswith("--port=") for flag in worker.flags())
    assert not set(worker.listening()) & set(listening), "a second node on one host needs its own block"


def test_bad_ports_and_addresses_are_usage_errors() -> None:
    with pytest.raises(ConfigError, match="overlap the head port 6379"):
        RayPorts(6370, gcs=6379)
    with pytest.raises(ConfigError, match="must lie in 1024-65535"):
        RayPorts(65530)
    with pytest.raises(ConfigError, match="--worker-ports 1: give at least 2"):
        RayPorts(6380, workers=1)
    assert RayPorts(6380, workers=64).flags()[-1] == "--max-worker-port=6453"
    assert head_address("10.0.0.2:6379") == "10.0.0.2:6379" and head_address("10.0.0.2") == "10.0.0.2:6379"
    with pytest.raises(ConfigError, match="give the head as HOST:PORT"):
        head_address("10.0.0.2:ray")
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", detect_node_ip()) or pytest.fail("no IPv4 address detected")


def test_head_gets_the_runs_gpu_request(tmp_path: Path) -> None:
    host = _host(tmp_path, **AMD)
    spec = ray_node_spec(host, RayNode(node_ip="192.168.1.10", resources=("--num-gpus=1",)))
    kwargs = spec.docker_kwargs()
    run = _spec(host, ("run",), None, None).docker_kwargs()  # what `invoke transcribe` sends
    for key in ("image", "devices", "group_add", "user", "security_opt", "ipc_mode", "shm_size"):
        assert kwargs[key] == run[key], key
    assert kwargs["environment"] == {**run["environment"], **AUTH_ENV}
    dev = host.dev_root
    assert kwargs["devices"] == [f"{dev}/kfd:/dev/kfd:rwm", f"{dev}/dri/renderD128:/dev/dri/renderD128:rwm"]
    assert "44" in kwargs["group_add"] and "seccomp=unconfined" in kwargs["security_opt"]
    assert kwargs["environment"]["HSA_OVERRIDE_GFX_VERSION"] == "11.0.1"
    assert kwargs["environment"]["HF_HUB_OFFLINE"] == "1"
    assert kwargs["volumes"] == {
        str(tmp_path / "cache"): {"bind": "/models", "mode": "rw"},
        str(tmp_path / "env" / "ray-auth-token"): {"bind": "/run/transcriber-ray-token", "mode": "ro"},
        str(tmp_path / "ray" / "transcriber-ray-head-6380"): {"bind": "/tmp/ray", "mode": "rw"},
    }
    assert (tmp_path / "ray" / "transcriber-ray-head-6380").is_dir(), "made as the caller, not by the engine as root"
    assert kwargs["network_mode"] == "host" and "ports" not in kwargs
    assert (kwargs["name"], kwargs["labels"], kwargs["restart_policy"]) == (
        "transcriber-ray-head-6380", {"transcriber.ray": "head"}, {"Name": "no"})  # fmt: skip
    assert kwargs["entrypoint"] == ["ray"]
    command = kwargs["command"]
    assert command[:3] == ["start", "--block", "--head"]
    assert {"--node-ip-address=192.168.1.10", "--include-dashboard=false", "--num-gpus=1"} <= set(command)
    # The same request as `docker run` flags, as `invoke shell` renders it.
    args = spec.cli_args()
    assert {"--network=host", "--name=transcriber-ray-head-6380", "--entrypoint=ray",
            "--restart=no", "--group-add=44", "--env=HSA_OVERRIDE_GFX_VERSION=11.0.1"} <= set(args)  # fmt: skip


def test_worker_joins_the_head(tmp_path: Path) -> None:
    host = _host(tmp_path, TRANSCRIBER_GPU="cpu")
    spec = ray_node_spec(host, RayNode("10.0.0.2:6379", "10.0.0.3", ports_from=7000))
    command = spec.docker_kwargs()["command"]
    assert "--address=10.0.0.2:6379" in command and "--node-ip-address=10.0.0.3" in command
    assert not {"--head", "--include-dashboard=false"} & set(command), "Ray refuses head-only flags on a worker"
    assert spec.name == "transcriber-ray-worker-7000" and spec.labels == {"transcriber.ray": "worker"}


def test_a_batch_keeps_no_network(engine: FakeEngine, tmp_path: Path) -> None:
    """The fields a Ray node adds leave a run's request as it was: no network, no entrypoint, and only the
    run's own labels (its output and owner), never the Ray node's, which `cluster-stop` acts on."""
    host = _host(tmp_path, TRANSCRIBER_GPU="cpu")
    engine.images["transcriber:cpu"] = {}
    source = tmp_path / "in"
    source.mkdir()
    client = docker.DockerClient(base_url=engine.url, version="1.43")
    assert transcribe_in_container(host, source, tmp_path / "out", [], connect=lambda: client) == 0
    create = engine.call("POST", "/containers/create")
    assert create.body["HostConfig"]["NetworkMode"] == "none"
    assert set(create.body["Labels"]) == {"transcriber.run.output", "transcriber.run.owner"}
    assert create.body["Labels"]["transcriber.run.output"] == str(tmp_path / "out")
    assert not create.body.get("Entrypoint")


def test_missing_image_is_one_line(engine: FakeEngine, tmp_path: Path) -> None:
    from transcriber.errors import TranscriberError

    host = _host(tmp_path, TRANSCRIBER_GPU="cpu")
    client = docker.DockerClient(base_url=engine.url, version="1.43")
    with pytest.raises(TranscriberError, match=r"image transcriber:cpu is not built: run `invoke build`"):
        start_ray_node(host, RayNode(node_ip="10.0.0.3"), connect=lambda: client)


def test_the_head_makes_the_token_once_and_a_worker_needs_it(tmp_path: Path) -> None:
    token = ensure_token(tmp_path / "env" / "ray-auth-token")
    secret = token.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", secret) and token.stat().st_mode & 0o777 == 0o600
    assert ensure_token(token).read_text() == secret, "a second head start keeps the token the workers have"
    assert require_token(token) == token
    with pytest.raises(ConfigError, match=r"--token-file .*/missing: no Ray token there; copy the head's file .*scp"):
        require_token(tmp_path / "missing")
    (tmp_path / "empty").write_text("")
    with pytest.raises(ConfigError, match="no Ray token there"):
        require_token(tmp_path / "empty")


def test_the_driver_joins_this_hosts_node(engine: FakeEngine, tmp_path: Path) -> None:
    """`invoke transcribe --ray-address`: the run's request on the host's network, in the node's process
    namespace with its Ray folder, the token file mounted and named, never its content."""
    host = _host(tmp_path, TRANSCRIBER_GPU="cpu")
    engine.images["transcriber:cpu"] = {}
    source = tmp_path / "in"
    source.mkdir()
    client = docker.DockerClient(base_url=engine.url, version="1.43")
    with pytest.raises(ConfigError, match=r"--token-file .*ray-auth-token: no Ray token there"):
        transcribe_on_cluster(host, source, tmp_path / "out", [], "10.0.0.2:6379", connect=lambda: client)
    secret = ensure_token(host.ray_token).read_text()
    with pytest.raises(ConfigError, match="no Ray node runs on this host"):
        transcribe_on_cluster(host, source, tmp_path / "out", [], "10.0.0.2:6379", connect=lambda: client)
    with pytest.raises(ConfigError, match=r"--ray-address 10\.0\.0\.2:x: give the head as HOST:PORT"):
        transcribe_on_cluster(host, source, tmp_path / "out", [], "10.0.0.2:x", connect=lambda: client)
    engine.listed = {
        "Name": "/transcriber-ray-head-6380",
        "Config": {"Tty": False, "Labels": {"transcriber.ray": "head"}},
    }
    with pytest.raises(ConfigError, match="keeps no Ray folder on this host"):
        transcribe_on_cluster(host, source, tmp_path / "out", [], "10.0.0.2:6379", connect=lambda: client)
    node_tmp = tmp_path / "ray" / "transcriber-ray-head-6380"
    engine.listed = {"Name": "/transcriber-ray-head-6380", "State": {"Status": "running"},
                     "Config": {"Tty": False, "Labels": {"transcriber.ray": "head"}},
                     "Mounts": [{"Source": str(node_tmp), "Destination": "/tmp/ray"}]}  # fmt: skip
    code = transcribe_on_cluster(host, source, tmp_path / "out", ["--extra-flag"], "10.0.0.2", connect=lambda: client)
    assert code == 0
    create = engine.call("POST", "/containers/create").body
    assert create["HostConfig"]["NetworkMode"] == "host"
    assert create["HostConfig"]["PidMode"] == "container:transcriber-ray-head-6380"
    assert {f"{host.ray_token}:/run/transcriber-ray-token:ro", f"{node_tmp}:/tmp/ray:rw",
            f"{source}:/data/in:ro"} <= set(create["HostConfig"]["Binds"])  # fmt: skip
    assert {"RAY_AUTH_MODE=token", "RAY_AUTH_TOKEN_PATH=/run/transcriber-ray-token"} <= set(create["Env"])
    assert secret not in str(create)
    assert create["Cmd"][:5] == ["run", "--input", "/data/in", "--output", "/data/out"]
    assert create["Cmd"][-5:] == ["--extra-flag", "--cluster", "ray", "--ray-address", "10.0.0.2:6379"]
