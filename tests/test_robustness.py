"""A batch that nothing can break: faults inside the engine, a full or read-only disk, hostile names and
state files, permissions (as a non-root user), early signals and a closed stderr. Real model, real audio."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import transcriber
from tests.support.runs import RECORDINGS, load_transcripts, run_cli
from transcriber.api import run
from transcriber.engines.faster_whisper import FasterWhisperEngine
from transcriber.engines.languages import whisper_languages
from transcriber.errors import EXIT_FILES_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from transcriber.progress import Reporter
from transcriber.settings import load_settings
from transcriber.state import STATE_DIR, Manifest
from transcriber.summary import Summary

pytestmark = pytest.mark.usefixtures("tiny_en")
MEETING = RECORDINGS / "meeting.flac"
NOTE = RECORDINGS / "notes" / "note café.ogg"


def _run(inp: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("run", "--input", str(inp), "--output", str(out), "--model", "tiny.en", *extra)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def _in_process(inp: Path, out: Path, **flags: str) -> tuple[Summary, str]:
    """One batch in this process (so a test can reach into the engine), with its stderr text."""
    stream = io.StringIO()
    settings = load_settings({"input": str(inp), "output": str(out), "model": "tiny.en", **flags}, environ={})
    summary = run(settings, Reporter(stream))
    return summary, stream.getvalue()


def _fail_one(monkeypatch: pytest.MonkeyPatch, target: str, exc: BaseException) -> None:
    real = FasterWhisperEngine.transcribe

    def transcribe(self: FasterWhisperEngine, samples, source: str):  # type: ignore[no-untyped-def]
        if source == target:
            raise exc
        return real(self, samples, source=source)

    monkeypatch.setattr(FasterWhisperEngine, "transcribe", transcribe)


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("CTranslate2: unsupported model operation"),
        ValueError("operands could not be broadcast together"),
        MemoryError(),
        RuntimeError("CUDA failed with error out of memory"),
        KeyError("alignment_heads"),
    ],
    ids=["runtime", "value", "memory", "gpu-oom", "bug"],
)
def test_an_engine_error_fails_one_file_and_the_batch_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, exc: BaseException
) -> None:
    _fail_one(monkeypatch, "meeting.flac", exc)
    summary, stderr = _in_process(RECORDINGS, tmp_path / "out", formats="json")
    assert summary.exit_code == EXIT_FILES_FAILED
    assert (summary.done, summary.failed) == (2, ["meeting.flac"])
    [line] = _errors(stderr)
    assert line.startswith(f"error: {RECORDINGS / 'meeting.flac'}: recognise: "), line
    assert "--model" in line  # what to do
    assert set(load_transcripts(tmp_path / "out")) == {"interviews/interview with Ana.mp3", "notes/note café.ogg"}


def test_a_lost_gpu_stops_the_batch_at_once_and_keeps_finished_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fail_one(monkeypatch, "meeting.flac", RuntimeError("CUDA error: an illegal memory access was encountered"))
    summary, stderr = _in_process(RECORDINGS, tmp_path / "out", formats="json")
    assert summary.exit_code == EXIT_FILES_FAILED and summary.stopped
    [line] = _errors(stderr)
    assert "meeting.flac: recognise: the GPU stopped responding" in line
    assert "note café" not in stderr, "no file after the lost device may be tried"
    assert set(load_transcripts(tmp_path / "out")) == {"interviews/interview with Ana.mp3"}


def test_a_cleanup_error_names_the_clean_stage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import transcriber.batch

    real = transcriber.batch.apply_cleanup

    def cleanup(transcript, mode, llm):  # type: ignore[no-untyped-def]
        if transcript.source == "notes/note café.ogg":
            raise IndexError("list index out of range")
        return real(transcript, mode, llm)

    monkeypatch.setattr(transcriber.batch, "apply_cleanup", cleanup)
    summary, stderr = _in_process(RECORDINGS, tmp_path / "out", formats="json")
    [line] = _errors(stderr)
    assert f"{NOTE}: clean: IndexError" in line and "--cleanup rules" in line
    assert summary.done == 2


@contextlib.contextmanager
def _small_tmpfs(folder: Path) -> Iterator[bool]:
    """A 4 MB tmpfs at `folder` (True), or False where this machine does not let us mount one."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True)
    try:
        yield mounted.returncode == 0
    finally:
        while mounted.returncode == 0 and subprocess.run(["umount", "-l", str(folder)], check=False).returncode == 0:
            pass  # the tmpfs and any bind mount over it


def _break_disk(how: str, out: Path, real: bool) -> None:
    """Fill the disk or make it read-only for real; without a tmpfs, make every later write fail the same way."""
    if real and how == "full":
        with contextlib.suppress(OSError), (out / "filler").open("wb") as handle:
            while True:
                handle.write(b"\0" * (1 << 16))
                handle.flush()
    elif real:  # a read-only bind mount over it: remounting the tmpfs itself is refused while the lock is open
        subprocess.run(["mount", "--bind", str(out), str(out)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(out)], check=True)
    else:
        import transcriber.atomic

        code = errno.ENOSPC if how == "full" else errno.EROFS

        def refuse(path: Path, data: object) -> str:
            raise OSError(code, os.strerror(code), str(path))

        transcriber.atomic.write_temp = refuse


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_a_full_or_read_only_disk_stops_the_batch_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    import transcriber.atomic

    monkeypatch.setattr(transcriber.atomic, "write_temp", transcriber.atomic.write_temp)
    out = tmp_path / "out"
    real_commit = Manifest.commit

    with _small_tmpfs(out) as real:

        def commit(self: Manifest, *args: object) -> None:
            real_commit(self, *args)  # type: ignore[arg-type]
            _break_disk(how, out, real)  # after the first file is safely done

        monkeypatch.setattr(Manifest, "commit", commit)
        summary, stderr = _in_process(RECORDINGS, out, formats="json")
        assert summary.exit_code == EXIT_FILES_FAILED and summary.stopped
        [line] = _errors(stderr)
        reason = "No space left on device" if how == "full" else "Read-only file system"
        assert line.startswith(f"error: {MEETING}: write: ") and reason in line, line
        assert "choose another --output" in line
        assert "note café" not in stderr
        assert set(load_transcripts(out)) == {"interviews/interview with Ana.mp3"}


def test_odd_names_fifo_and_long_names(tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    raw_in = os.fsencode(inp)
    shutil.copy(os.fsencode(NOTE), os.path.join(raw_in, b"caf\xe9 latin-1.ogg"))
    long_name = "a very long recording name " + "x" * 220 + ".ogg"  # 251 bytes: its outputs would pass 255
    shutil.copy(NOTE, inp / long_name)
    os.mkfifo(inp / "pipe.wav")
    result = _run(inp, out, "--formats", "json,md")
    assert result.returncode == EXIT_FILES_FAILED, result.stderr
    [line] = _errors(result.stderr)
    assert "pipe.wav: decode: is not a regular file" in line
    assert b"caf\xe9 latin-1.json" in os.listdir(os.fsencode(out))
    transcripts = load_transcripts(out)
    assert "caf\\xe9 latin-1.ogg" in transcripts, "undecodable bytes are shown escaped inside the files"
    assert (out / "caf\udce9 latin-1.md").read_text().startswith("# caf\\xe9 latin-1\n")
    [long_json] = [p for p in out.glob("a very long*.json")]
    assert len(os.fsencode(long_json.name)) <= 255 and "~" in long_json.name
    assert transcripts[long_name]["clean_text"]
    assert not [p for p in out.rglob("*") if "transcriber-tmp" in p.name]


@pytest.mark.parametrize("case", ["file", "through-file"])
def test_an_output_that_cannot_be_a_folder_is_one_line(tmp_path: Path, case: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    out = blocker if case == "file" else blocker / "out"
    result = _run(NOTE, out)
    assert result.returncode == EXIT_USAGE
    assert _errors(result.stderr) == result.stderr.strip().splitlines()[-1:]
    assert "give a folder you can write to" in result.stderr


@pytest.mark.parametrize("language", ["xx", "de"])
def test_a_language_the_engine_cannot_do_is_refused(tmp_path: Path, language: str) -> None:
    result = _run(NOTE, tmp_path / "out", "--language", language)
    assert result.returncode == EXIT_USAGE
    assert f"--language {language}" in result.stderr or f"--language '{language}'" in result.stderr
    assert not (tmp_path / "out" / "note café.txt").exists()


def test_an_unknown_language_is_named_before_a_missing_model(tmp_path: Path) -> None:
    """With `--model auto` and nothing cached (an empty offline cache), the typo is the error the user sees."""
    result = run_cli("run", "--input", str(NOTE), "--output", str(tmp_path / "out"), "--model", "auto",
                     "--language", "xx", env={"HF_HOME": str(tmp_path / "empty-cache")})  # fmt: skip
    assert result.returncode == EXIT_USAGE
    assert _errors(result.stderr) == ["error: --language 'xx' is not a language the engine knows; use auto or one "
                                      "of " + ", ".join(whisper_languages())]  # fmt: skip
    # Without the typo, auto takes the best model at hand (the bundled tiny.en) and says so in one line.
    no_typo = run_cli("run", "--input", str(NOTE), "--output", str(tmp_path / "out"), "--model", "auto",
                      env={"HF_HOME": str(tmp_path / "empty-cache")})  # fmt: skip
    assert no_typo.returncode == 0, no_typo.stderr
    assert "using tiny.en, the best model at hand" in no_typo.stderr
    # A model named outright is never swapped: its absence is the error.
    named = run_cli("run", "--input", str(NOTE), "--output", str(tmp_path / "out2"), "--model", "small",
                    env={"HF_HOME": str(tmp_path / "empty-cache")})  # fmt: skip
    assert named.returncode == EXIT_USAGE and "is not in the Hugging Face cache" in named.stderr, named.stderr


def test_a_missing_cleanup_llm_is_named_before_any_file_is_recognised(tmp_path: Path) -> None:
    result = run_cli("run", "--input", str(NOTE), "--output", str(tmp_path / "out"), "--model", "tiny.en",
                     "--cleanup", "llm", "--cleanup-model", "phi-3-mini",
                     env={"HF_HOME": str(tmp_path / "empty-cache")})  # fmt: skip
    assert result.returncode == EXIT_USAGE
    assert _errors(result.stderr) == result.stderr.strip().splitlines()[-1:]
    assert "model 'phi-3-mini' (microsoft/Phi-3-mini-4k-instruct) is not in the Hugging Face cache" in result.stderr
    raw = tmp_path / "out" / STATE_DIR / "raw"
    assert not raw.exists() or not any(raw.iterdir()), "no file was recognised first"


@pytest.mark.parametrize("delay", [0.1, 0.3, 0.8])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_early_signal_is_interrupted_not_a_traceback(tmp_path: Path, delay: float, sig: signal.Signals) -> None:
    args = ["run", "-i", str(NOTE), "-o", str(tmp_path / "o"), "--model", "tiny.en"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "transcriber", *args], stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(delay)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    if stderr.startswith("Fatal Python error: init_"):
        return  # the signal came while the interpreter itself was starting, before any of our code could run
    assert "Traceback" not in stderr
    # Before Python itself is up (the first milliseconds) the signal's default action ends the process.
    assert process.returncode in {EXIT_INTERRUPTED, -sig}, stderr
    assert process.returncode == -sig or "interrupted" in stderr


@pytest.mark.parametrize("delay", [0.03, 0.06, 0.1, 0.15])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_early_signal_to_the_console_script_is_130(tmp_path: Path, delay: float, sig: signal.Signals) -> None:
    """The `transcriber` console script, which imports its entry point before any of our code runs."""
    from importlib.metadata import entry_points

    [script] = [e for e in entry_points(group="console_scripts") if e.name == "transcriber"]
    assert script.value == "transcriber.launch:main", "the console script must enter through the light front door"
    wrapper = f"import sys; from {script.module} import {script.attr}; sys.exit({script.attr}())"  # as pip writes it
    args = ["run", "-i", str(NOTE), "-o", str(tmp_path / "o"), "--model", "tiny.en"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-c", wrapper, *args], stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(delay)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    if stderr.startswith("Fatal Python error: init_") or (process.returncode == -sig and not stderr):
        return  # the signal came while the interpreter itself was starting, before any of our code could run
    if stderr.rstrip().endswith("KeyboardInterrupt") and "transcriber" not in stderr:
        return  # in the wrapper's own first line (`import sys`), before its import of our entry point
    assert "Traceback" not in stderr
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr


def test_a_closed_stderr_pipe_does_not_stop_the_batch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-m", "transcriber", "run", "-i", str(RECORDINGS), "-o", str(out), "--model", "tiny.en"]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert process.stderr is not None
    process.stderr.readline()  # like `2>&1 | head -1`
    process.stderr.close()
    assert process.wait(timeout=300) == EXIT_OK
    assert len(load_transcripts(out)) == 3


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder a non-root user can reach (pytest's tmp_path sits under a root-only folder)."""
    folder = Path(tempfile.mkdtemp(prefix="transcriber-perm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def reachable_checkout() -> Iterator[None]:
    """The nobody user runs this checkout's venv and source. A checkout in a root-only folder (`mktemp -d`
    makes one 0700) gets search permission for others (o+x, not listing) on its folders' ancestors for the
    test, and their modes back after it."""
    changed = []
    for folder in {*Path(sys.prefix).resolve().parents, *Path(transcriber.__file__).resolve().parents}:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
            changed.append((folder, stat.S_IMODE(mode)))
    yield
    for folder, mode in changed:
        folder.chmod(mode)


def _as_nobody(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0:
        pytest.skip("switching to the nobody user needs root")
    command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-m", "transcriber"]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOME": env["HOME"]}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=full_env, timeout=300, check=False)


@pytest.mark.usefixtures("reachable_checkout")
def test_permissions_as_a_non_root_user(shared_dir: Path) -> None:
    inp = shared_dir / "in"
    shutil.copytree(RECORDINGS, inp)
    for folder in (inp, *[p for p in inp.rglob("*") if p.is_dir()]):
        folder.chmod(0o755)
    (inp / "interviews").chmod(0o000)  # an unreadable subfolder
    secret = inp / "secret.ogg"
    shutil.copy(NOTE, secret)
    secret.chmod(0o000)  # an unreadable file
    home = shared_dir / "home"
    home.mkdir(mode=0o777)
    read_only = shared_dir / "read-only"
    read_only.mkdir(mode=0o755)  # root's: nobody cannot write in it
    env = {"HOME": str(home)}

    for out in (read_only, read_only / "under"):
        result = _as_nobody("run", "-i", str(inp), "-o", str(out), "--model", "tiny.en", env=env)
        assert result.returncode == EXIT_USAGE, result.stderr
        assert _errors(result.stderr) == [result.stderr.strip().splitlines()[-1]]
        assert "Permission denied; give a folder you can write to" in result.stderr

    out = shared_dir / "out"
    out.mkdir()
    os.chown(out, 65534, 65534)
    result = _as_nobody("run", "-i", str(inp), "-o", str(out), "--model", "tiny.en", "--formats", "json", env=env)
    assert result.returncode == EXIT_FILES_FAILED, result.stderr
    errors = _errors(result.stderr)
    assert len(errors) == 2, result.stderr
    assert any(f"{inp / 'interviews'}: cannot be listed (Permission denied)" in e for e in errors)
    assert any(f"{secret}: decode: " in e and "Permission denied" in e for e in errors)
    assert "Traceback" not in result.stderr
    assert set(load_transcripts(out)) == {"meeting.flac", "notes/note café.ogg"}


def test_debug_shows_the_traceback_behind_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fail_one(monkeypatch, "note café.ogg", ValueError("bad shape"))
    stream = io.StringIO()
    settings = load_settings({"input": str(NOTE), "output": str(tmp_path / "out"), "model": "tiny.en"}, environ={})
    summary = run(settings, Reporter(stream), debug=True)
    assert summary.failed == ["note café.ogg"]
    assert "Traceback (most recent call last)" in stream.getvalue()
    assert "raise exc\nValueError: bad shape" in stream.getvalue()


def test_a_new_package_version_redoes_recognition(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import transcriber.plan

    out = tmp_path / "out"
    assert _in_process(NOTE, out)[0].done == 1
    assert _in_process(NOTE, out)[0].skipped == 1
    monkeypatch.setattr(transcriber.plan, "__version__", "99.0")
    summary, stderr = _in_process(NOTE, out)
    assert summary.done == 1 and "] transcribing" in stderr
    assert json.loads((out / "note café.json").read_text())["settings"]["version"] == "99.0"


def test_a_model_that_cannot_load_stops_the_batch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(self: FasterWhisperEngine, *args: object) -> None:
        raise RuntimeError("Unable to open file 'model.bin' in model")

    monkeypatch.setattr(FasterWhisperEngine, "__init__", broken)
    summary, stderr = _in_process(RECORDINGS, tmp_path / "out")
    assert summary.exit_code == EXIT_FILES_FAILED and summary.stopped
    assert _errors(stderr) == [
        "error: model tiny.en: cannot be loaded (Unable to open file 'model.bin' in model); check --model"
    ]
    assert "[2/3]" not in stderr


def test_a_read_only_output_folder_is_called_read_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(out)], capture_output=True)
    try:
        if mounted.returncode != 0:  # no mounting here: the same question asked of a file system that answers it
            original = os.statvfs

            def statvfs(path: object) -> os.statvfs_result:
                fields = list(original(path))  # type: ignore[arg-type]
                fields[8] |= os.ST_RDONLY
                return os.statvfs_result(fields)

            with contextlib.ExitStack() as stack:
                patch = stack.enter_context(pytest.MonkeyPatch.context())
                patch.setattr(os, "statvfs", statvfs)
                patch.setattr(os, "access", lambda *args, **kwargs: False)
                from transcriber.errors import unwritable

                assert unwritable(out).strerror == "Read-only file system"
            return
        result = _run(NOTE, out)
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(out)], check=False)
    assert result.returncode == EXIT_USAGE
    [line] = _errors(result.stderr)
    assert "Read-only file system" in line and "Permission denied" not in line, line


def test_control_characters_in_names_are_escaped_in_messages(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(NOTE, inp / "fine.ogg")
    (inp / "bad\nname\x1b[31m.wav").write_bytes(b"RIFF\0\0\0\0WAVE not audio")
    result = _run(inp, tmp_path / "out", "--formats", "txt")
    assert result.returncode == EXIT_FILES_FAILED
    [line] = _errors(result.stderr)
    assert "bad\\nname\\x1b[31m.wav: decode:" in line, line
    assert "\x1b" not in result.stderr and "bad\nname" not in result.stderr


def test_a_failed_download_is_one_line(tmp_path: Path) -> None:
    env = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}  # refused
    result = run_cli("run", "-i", str(NOTE), "-o", str(tmp_path / "out"), "--model", "nobody/not-a-model", env=env)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.strip().splitlines()[-1:] == _errors(result.stderr), result.stderr
    [line] = _errors(result.stderr)
    assert line.startswith("error: could not download model 'nobody/not-a-model'") and "Check the network" in line
