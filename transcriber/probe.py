"""Whether a file whose suffix says nothing is a recording: what FFmpeg (through PyAV) can open with audio.

Discovery takes the usual audio and video suffixes on sight and never probes what is plainly not media
(documents, images, subtitles, archives: `NOT_MEDIA`); anything else is opened here, so a `.mka`, `.m4b`,
`.mts` or a recording saved under an odd name is transcribed, and what is not a recording is listed with
its reason instead of vanishing from the counts.
"""

from __future__ import annotations

import stat
from pathlib import Path

#: Suffixes never probed (and never listed): what a folder of recordings also holds.
NOT_MEDIA = frozenset(
    ".txt .md .json .srt .vtt .ass .ssa .sub .lrc .pdf .doc .docx .odt .rtf .csv .tsv .xls .xlsx .ods .ppt .pptx "
    ".odp .key .pages .numbers .jpg .jpeg .png .gif .webp .bmp .svg .heic .heif .tif .tiff .ico .psd .raw .cr2 .nef "
    ".zip .gz .tgz .bz2 .xz .zst .tar .7z .rar .html .htm .xml .yaml .yml .toml .ini .cfg .conf .log .py .sh .js "
    ".exe .dll .so .dylib .bin .db .sqlite .iso .dmg .lnk .url .webloc .ics .vcf .eml .msg .epub .mobi .torrent "
    ".part .crdownload .tmp .bak .swp .nfo .cue .m3u .m3u8 .pls .xspf .sfk .pkf .reapeaks .peak".split()
)


def not_a_recording(path: Path) -> str | None:
    """None if FFmpeg opens `path` and finds an audio track; else why it is not transcribed, in a few words."""
    import av

    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size == 0:
        return "empty (0 bytes)"
    try:
        with path.open("rb") as handle, av.open(handle, metadata_errors="ignore") as container:
            if not container.streams.audio:
                return "FFmpeg reads it, but it has no audio track"
    except (av.error.FFmpegError, OSError, ValueError, RuntimeError, EOFError, IndexError):
        return "not a format FFmpeg can read"
    return None
