"""The html page without a browser: its size, its escaping, its data (times, removals) and its audio."""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
from pathlib import Path
from urllib.parse import unquote

import av

from tests.conftest import RECORDINGS, load_transcripts
from transcriber.audio import decode
from transcriber.page.audio import OPUS_BITRATE, opus_webm, page_audio
from transcriber.page.render import render_page, template
from transcriber.page.view import page_data
from transcriber.transcript import Edit, Segment, Transcript, Word
from transcriber.writers import HtmlWriter

PAGE_CODE_LIMIT = 50 * 1024
HOSTILE = '</script><script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> & "quotes"'


def _data_of(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


def test_page_code_is_small_and_offline(example_run: Path) -> None:
    for name in ("page.html", "index.html"):
        assert len(template(name).encode()) < PAGE_CODE_LIMIT, name
    transcript = Transcript.from_dict(load_transcripts(example_run)["meeting.flac"])
    page = render_page(transcript)
    code = page.replace(json.dumps(_data_of(page), ensure_ascii=False, separators=(",", ":")), "")
    assert len(code.encode()) < PAGE_CODE_LIMIT
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page), "nothing may load from the network"
    assert page.count("<audio") == 1


def test_hostile_text_stays_text() -> None:
    words = [Word(0.0, 0.5, " </script><script>window.pwned"), Word(0.5, 1.0, " =")]
    seg = Segment(0, 0.0, 1.0, HOSTILE, HOSTILE, words=words)
    transcript = Transcript("<i>talk.wav", 1.0, "en", "tiny.en", "faster-whisper", [seg])
    page = HtmlWriter('x" onload="alert(1)').render(transcript)
    assert page.count("<script") == 2, "only the page's own two script elements"
    assert "<img" not in page and "<i>" not in page
    assert 'src="x&quot; onload=&quot;alert(1)"' in page
    assert "<title>&lt;i&gt;talk · transcript</title>" in page
    data = _data_of(page)
    assert [w[2] for w in data["segments"][0]["clean"]] == HOSTILE.split()


def test_verbatim_words_carry_times_and_the_cleanups_removals(example_run: Path) -> None:
    data = load_transcripts(example_run)["meeting.flac"]
    transcript = Transcript.from_dict(data)
    view = page_data(transcript)
    removed = "".join(p[0] for s in view["segments"] for w in s["verbatim"] for p in w[2] if p[1])
    assert removed.replace(" ", "") == "".join(e.text for e in transcript.edits).replace(" ", "")
    kept = " ".join("".join(p[0] for p in w[2] if not p[1]) for s in view["segments"] for w in s["verbatim"])
    assert " ".join(kept.split()).lower().replace(",", "") != ""
    words = [w for s in transcript.segments for w in s.words]
    verbatim = [w for s in view["segments"] for w in s["verbatim"]]
    assert [w[0] for w in verbatim] == [round(w.start, 2) for w in words]
    clean = [w for s in view["segments"] for w in s["clean"]]
    assert " ".join(w[2] for w in clean) == data["clean_text"]
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(clean)), "clean words keep time order"


def test_a_removal_inside_a_token_strikes_only_its_part() -> None:
    words = [Word(0.0, 0.4, " I-I"), Word(0.4, 0.8, " think")]
    seg = Segment(0, 0.0, 0.8, "I-I think", "I think", words=words)
    transcript = Transcript("a.wav", 1.0, "en", "m", "e", [seg], cleanup="rules", edits=[Edit(0, 2, "I-", "stutter")])
    (first, second) = page_data(transcript)["segments"][0]["verbatim"]
    assert first == [0.0, 0.4, [["I-", 1], ["I", 0]], 0]
    assert second == [0.4, 0.8, [["think", 0]], 0]


def test_embedded_audio_is_opus_at_about_32_kbps(tmp_path: Path) -> None:
    recording = RECORDINGS / "meeting.flac"
    data = opus_webm(recording)
    seconds = decode(recording).duration
    with av.open(io.BytesIO(data), "r") as webm:
        assert webm.streams.audio[0].codec_context.name == "opus"
        assert webm.duration is not None and abs(webm.duration / 1e6 - seconds) < 0.1
    assert len(data) * 8 / seconds < OPUS_BITRATE * 1.25
    page = tmp_path / "out" / "meeting.html"
    uri = page_audio(recording, page, "embed")
    embedded = base64.b64decode(uri.removeprefix("data:audio/webm;base64,"), validate=True)
    assert embedded[:4] == data[:4] == b"\x1aE\xdf\xa3" and abs(len(embedded) - len(data)) < 64  # muxer ids differ
    link = page_audio(recording, page, "link")
    assert not link.startswith("/") and (page.parent / unquote(link)).resolve() == recording.resolve()
    assert page_audio(recording, page, "none") == ""
