"""The watcher's container request, rendered from a run's: the same GPU, user and isolation, plus a name of
its output folder's, the `unless-stopped` restart policy and a health check (the engine tests run it)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_container import _host
from tests.test_raynode import AMD
from transcriber.host.actions import container_spec
from transcriber.host.watch import target_of, watch_command, watch_spec, watcher_name


def test_one_name_per_output_folder() -> None:
    first, second = Path("/srv/calls/out put!"), Path("/home/ana/out put!")
    assert re.fullmatch(r"transcriber-watch-out-put-[0-9a-f]{8}", watcher_name(first))
    assert watcher_name(first) == watcher_name(Path("/srv/calls/out put!"))
    assert watcher_name(first) != watcher_name(second), "same folder name, other place: another watcher"


def test_the_watcher_gets_the_runs_request_and_comes_back(tmp_path: Path) -> None:
    host = _host(tmp_path, **AMD)
    source, target = tmp_path / "drop", tmp_path / "drop-transcripts"
    source.mkdir()
    kwargs = watch_spec(host, source, target, ["--formats", "txt", "--settle", "2"]).docker_kwargs()
    run = container_spec(host, ("run",), source, target).docker_kwargs()  # what `invoke transcribe` sends
    for key in ("image", "devices", "group_add", "user", "security_opt", "ipc_mode", "network_mode", "environment"):
        assert kwargs[key] == run[key], key
    # The run's folders, as mounts: Docker's binds would make a deleted folder again, as root, at a restart.
    assert "volumes" not in kwargs and {m["Type"] for m in kwargs["mounts"]} == {"bind"}
    mounts = {m["Source"]: {"bind": m["Target"], "mode": "ro" if m["ReadOnly"] else "rw"} for m in kwargs["mounts"]}
    assert mounts == run["volumes"]
    assert mounts[str(source)] == {"bind": "/data/in", "mode": "ro"}
    assert kwargs["network_mode"] == "none"
    assert kwargs["restart_policy"] == {"Name": "unless-stopped"}
    assert kwargs["name"] == watcher_name(target)
    assert kwargs["labels"] == {"transcriber.watch": str(target), "transcriber.watch.input": str(source)}
    assert kwargs["command"][:5] == ["watch", "--input", "/data/in", "--output", "/data/out"]
    assert kwargs["healthcheck"]["test"] == ["CMD", "python", "-m", "transcriber", "watch", "--health", "--output",
                                             "/data/out"]  # fmt: skip
    args = watch_spec(host, source, target, []).cli_args()
    assert "--restart=unless-stopped" in args
    assert "--health-cmd=python -m transcriber watch --health --output /data/out" in args


def test_the_pipeline_gets_envs_model_unless_one_is_given() -> None:
    assert watch_command(["--formats", "txt"], "small")[5:] == ("--model", "small", "--formats", "txt")
    assert "small" not in watch_command(["--model=tiny.en"], "small")
    assert "small" not in watch_command(["--backend", "multimodal"], "small")


def test_status_logs_and_stop_find_the_watcher_by_either_folder(tmp_path: Path) -> None:
    (tmp_path / "drop").mkdir()
    assert target_of(str(tmp_path / "drop"), None) == tmp_path / "drop-transcripts"
    assert target_of(str(tmp_path / "drop"), str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    assert target_of(None, None) is None


def test_the_host_reads_the_status_where_the_watcher_keeps_its_state() -> None:
    from transcriber import state
    from transcriber.watch import status

    assert status.STATE_DIR == state.STATE_DIR
