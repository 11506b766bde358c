"""Finding recordings: recursion, hidden files, the output folder, symlink loops and odd names."""

from __future__ import annotations

from pathlib import Path

from transcriber.discovery import discover


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_walks_recursively_and_mirrors_the_tree(tmp_path: Path) -> None:
    _touch(tmp_path / "a.wav")
    _touch(tmp_path / "sub dir" / "Ünïcödé talk.M4A")
    _touch(tmp_path / "deep" / "er" / "clip.mp4")
    _touch(tmp_path / "readme.txt")
    found = discover(tmp_path, tmp_path / "elsewhere")
    assert [r.relative.as_posix() for r in found] == ["a.wav", "deep/er/clip.mp4", "sub dir/Ünïcödé talk.M4A"]
    assert [r.output_stem.as_posix() for r in found] == ["a", "deep/er/clip", "sub dir/Ünïcödé talk"]


def test_skips_hidden_files_and_the_output_folder(tmp_path: Path) -> None:
    _touch(tmp_path / ".secret.wav")
    _touch(tmp_path / ".cache" / "x.wav")
    _touch(tmp_path / "transcripts" / "old.wav")
    _touch(tmp_path / "keep.wav")
    found = discover(tmp_path, tmp_path / "transcripts")
    assert [r.relative.as_posix() for r in found] == ["keep.wav"]


def test_symlink_loops_end(tmp_path: Path) -> None:
    _touch(tmp_path / "music" / "song.flac")
    (tmp_path / "music" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = discover(tmp_path, tmp_path / "out")
    assert [r.relative.as_posix() for r in found] == ["music/song.flac"]


def test_one_file_as_input(tmp_path: Path) -> None:
    target = _touch(tmp_path / "one.ogg")
    found = discover(target, tmp_path / "out")
    assert [(r.path, r.output_stem.as_posix()) for r in found] == [(target, "one")]


def test_a_folder_named_like_audio_is_listed_to_be_reported(tmp_path: Path) -> None:
    (tmp_path / "trap.wav").mkdir()
    _touch(tmp_path / "trap.wav" / "inner.wav")
    found = discover(tmp_path, tmp_path / "out")
    assert [r.relative.as_posix() for r in found] == ["trap.wav"]
