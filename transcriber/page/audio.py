"""The sound of a transcript page (`--html-audio`): embedded, linked, or none.

`embed` decodes the recording as the batch does (`transcriber.audio`, 16 kHz mono) and encodes it as Opus
at `OPUS_BITRATE` in WebM through PyAV: speech stays clear, an hour is about 14 MB (19 MB as base64 in the
page), and the page works from anywhere, mailed or copied alone. WebM because Chrome, Firefox and Safari
(15 and later) all play Opus in it. `link` points the player at the recording by a path relative to the
page, so it plays where the input and output folders keep their places (a local run, not a container's
mounts).
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from urllib.parse import quote

HTML_AUDIO = ("embed", "link", "none")
OPUS_BITRATE = 32_000


def opus_webm(recording: Path, track: int | None = None) -> bytes:
    """The recording (its audio `track`, chosen as for recognition when None) as mono Opus in WebM, in memory."""
    import av

    from transcriber.audio import SAMPLE_RATE, decode  # numpy and PyAV: only when a page embeds its audio

    frame_samples = SAMPLE_RATE  # one second a frame: PyAV cuts them into libopus's 20 ms frames
    samples = decode(recording, track=track).samples
    buffer = io.BytesIO()
    # bitexact: no random track ids, so one recording always gives the same page (a Ray run writes what a local
    # run writes, byte for byte)
    with av.open(buffer, "w", format="webm", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.bit_rate = OPUS_BITRATE
        stream.layout = "mono"
        for start in range(0, len(samples), frame_samples):
            chunk = samples[start : start + frame_samples]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def page_audio(recording: Path, page: Path, mode: str, track: int | None = None) -> str:
    """The `<audio>` source for the page at `page` of `recording`: a data: URI, a relative URL, or ""."""
    if mode == "embed":
        return "data:audio/webm;base64," + base64.b64encode(opus_webm(recording, track)).decode("ascii")
    if mode == "link":
        return quote(os.fsencode(os.path.relpath(recording.resolve(), page.parent.resolve())))
    return ""
