"""A recording's outputs: their names, the writer of each format, and writing them all with the manifest entry
that owns them, switched in at once (`transcriber.journal`), so a recording never has half of its outputs.
"""

from __future__ import annotations

from transcriber.discovery import Recording
from transcriber.journal import switch
from transcriber.ownership import source_id
from transcriber.page.audio import page_audio
from transcriber.settings import Settings
from transcriber.state import Manifest
from transcriber.transcript import Transcript
from transcriber.writers import HtmlWriter, VerbatimWriter, Writer, get_writer


def output_names(recording: Recording, formats: tuple[str, ...]) -> list[str]:
    """Output file names relative to the output folder, the verbatim text last (stems come from discovery,
    which plans them for the whole batch so that no two recordings share one)."""
    stem = recording.output_stem.as_posix()
    return [f"{stem}.{fmt}" for fmt in formats] + [f"{stem}.{VerbatimWriter.extension}"]


def _writer(fmt: str, recording: Recording, settings: Settings) -> Writer:
    """The writer of `fmt` (or of the verbatim text); the html page's with its audio (`--html-audio`)."""
    if fmt == VerbatimWriter.extension:
        return VerbatimWriter()
    if fmt != HtmlWriter.extension:
        return get_writer(fmt)
    page = settings.output / f"{recording.output_stem.as_posix()}.{fmt}"
    return HtmlWriter(page_audio(recording.path, page, settings.html_audio, settings.track))


def write_outputs(
    transcript: Transcript, recording: Recording, digest: str, settings: Settings, manifest: Manifest, out_hash: str,
    only: set[str] | None = None,
) -> None:  # fmt: skip
    """Every format (or those named in `only`) and the manifest entry that owns them all, switched in at once
    (`transcriber.journal`)."""
    names = output_names(recording, settings.formats)
    formats = [*settings.formats, VerbatimWriter.extension]
    stem = recording.output_stem.as_posix()
    entry = {"source": source_id(recording.path), "relative": recording.relative.as_posix(),
             "content_hash": digest, "settings_hash": out_hash, "outputs": names}  # fmt: skip
    files = [
        (settings.output / name, _writer(fmt, recording, settings).render(transcript))
        for name, fmt in zip(names, formats, strict=True)
        if only is None or name in only
    ]
    switch(settings.output, [*files, (manifest.path, manifest.staged(stem, entry))])
    manifest.commit(stem, entry)
