"""The html pages in a real browser (Debian's chromium, driven by Playwright) on a real tiny.en run.

The run's input is the example recordings, one recording with a long silence in it (so there is a flag to
follow) and a corrupt file (so the index has a failed row). Every page must load without a console error,
play from a clicked word, switch views, jump to a flag, and the index must list every file.
"""

from __future__ import annotations

import json
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest

from tests.conftest import RECORDINGS, run_cli
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.errors import EXIT_FILES_FAILED
from transcriber.transcript import Transcript
from transcriber.writers import HtmlWriter

pytestmark = pytest.mark.usefixtures("tiny_en")
CHROMIUM = Path("/usr/bin/chromium")
SILENCE_SECONDS = 12
#: Where each seek of the player went, as it happened (playing moves currentTime on before a test can read it).
RECORD_SEEKS = """() => {
    window.seeks = [];
    document.getElementById("player").onseeking = (event) => window.seeks.push(event.target.currentTime);
}"""
PAUSE = "(() => { const p = document.getElementById('player'); p.pause(); return p.currentTime; })()"


def _pause_between(first: Path, second: Path, target: Path) -> None:
    """`first`, `SILENCE_SECONDS` of silence, then `second`, as a 16-bit WAV."""
    samples = np.concatenate([decode(first).samples, np.zeros(SILENCE_SECONDS * SAMPLE_RATE), decode(second).samples])
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of one real run (default formats, so html with embedded audio) with one failure."""
    inp, out = tmp_path_factory.mktemp("in"), tmp_path_factory.mktemp("out")
    shutil.copytree(RECORDINGS, inp, dirs_exist_ok=True)
    _pause_between(RECORDINGS / "meeting.flac", RECORDINGS / "notes" / "note café.ogg", inp / "with a pause.wav")
    (inp / "corrupt.mp3").write_bytes(b"\x00not audio at all" * 300)
    result = run_cli("run", "--input", str(inp), "--output", str(out), "--model", "tiny.en")
    assert result.returncode == EXIT_FILES_FAILED, result.stderr
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--autoplay-policy=no-user-gesture-required"]
        )
        yield browser
        browser.close()


class Page:
    """A page opened from file://, with every console error and uncaught exception it produced."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri())

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait_until(self, expression: str, seconds: float = 10.0) -> None:
        """Poll `expression` until it is true (Playwright's wait_for_function evaluates a string with eval, which
        the page's Content-Security-Policy forbids)."""
        for _ in range(int(seconds / 0.05)):
            if self.js(expression):
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"still false after {seconds} s: {expression}")

    def ready(self) -> None:
        """Wait until the player knows the audio's duration (so seeking works)."""
        self.wait_until("document.getElementById('player').readyState >= 1")


@pytest.fixture
def page_of(browser: Any) -> Iterator[Any]:
    opened: list[Page] = []

    def open_page(path: Path) -> Page:
        opened.append(Page(browser, path))
        return opened[-1]

    yield open_page
    for page in opened:
        page.page.close()


def _pages(run: Path) -> list[Path]:
    return sorted(p for p in run.rglob("*.html") if p.name != "index.html")


def test_every_page_loads_without_a_console_error(run: Path, page_of: Any) -> None:
    pages = _pages(run)
    assert len(pages) == 4
    for path in pages:
        page = page_of(path)
        page.ready()
        data = json.loads((path.with_suffix(".json")).read_text(encoding="utf-8"))
        shown = page.js("Array.from(document.querySelectorAll('.clean .w'), w => w.textContent).join(' ')")
        assert shown == data["clean_text"], path
        assert page.js("document.getElementById('player').duration") == pytest.approx(data["duration"], abs=0.1)
        assert page.errors == [], (path, page.errors)


def test_clicking_a_word_plays_from_its_start_and_highlights_it(run: Path, page_of: Any) -> None:
    page = page_of(run / "meeting.html")
    page.ready()
    words = page.page.locator(".clean .w")
    target = words.nth(words.count() // 2)
    start = float(target.get_attribute("data-start"))
    assert start > 1.0
    page.js(RECORD_SEEKS)
    target.click()
    assert page.js("window.seeks[0]") == pytest.approx(start, abs=0.1)
    page.js(PAUSE)
    middle = (start + float(target.get_attribute("data-end"))) / 2
    page.js(f"document.getElementById('player').currentTime = {middle}")
    spoken = "document.querySelector('.clean .w.now')?.dataset.start"
    page.wait_until(f"{spoken} === '{target.get_attribute('data-start')}'")
    now = page.js("document.getElementById('player').currentTime")
    page.page.keyboard.press("ArrowRight")
    assert page.js("document.getElementById('player').currentTime") == pytest.approx(now + 5, abs=0.1)
    page.page.keyboard.press("Space")
    assert page.js("document.getElementById('player').paused") is False
    page.page.keyboard.press("Space")
    assert page.js("document.getElementById('player').paused") is True
    assert page.errors == []


def test_the_switch_shows_the_verbatim_text_with_removals_struck(run: Path, page_of: Any) -> None:
    page = page_of(run / "meeting.html")
    data = json.loads((run / "meeting.json").read_text(encoding="utf-8"))
    clean, verbatim = page.page.locator(".clean").first, page.page.locator(".verbatim").first
    assert clean.is_visible() and not verbatim.is_visible()
    page.page.click("button[data-view=verbatim]")
    assert verbatim.is_visible() and not clean.is_visible()
    struck = page.js("Array.from(document.querySelectorAll('.verbatim del'), d => d.textContent).join('')")
    assert struck.replace(" ", "") == "".join(e["text"] for e in data["edits"]).replace(" ", "")
    assert page.page.locator(".verbatim del").first.is_visible()
    shown = page.js("Array.from(document.querySelectorAll('.verbatim .w'), w => w.textContent).join(' ')")
    assert shown == data["verbatim_text"]
    page.page.click("button[data-view=clean]")
    assert clean.is_visible() and not verbatim.is_visible()


def test_a_flag_jumps_to_its_segment(run: Path, page_of: Any) -> None:
    data = json.loads((run / "with a pause.json").read_text(encoding="utf-8"))
    gap = next(f for f in data["flags"] if f["kind"] == "gap")
    assert gap["end"] - gap["start"] >= SILENCE_SECONDS - 2
    page = page_of(run / "with a pause.html")
    page.ready()
    page.page.set_viewport_size({"width": 1100, "height": 300})
    flags = page.page.locator("[data-flag]")
    assert flags.count() == len(data["flags"])
    flag = page.page.locator("[data-flag=gap]").first
    page.js(RECORD_SEEKS)
    flag.click()
    assert page.js("window.seeks[0]") == pytest.approx(gap["start"], abs=0.1)
    segment = page.page.locator(f"#seg-{flag.get_attribute('data-segment')}")
    assert "target" in segment.get_attribute("class")
    on_screen = "(el) => { const r = el.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; }"
    assert segment.is_visible() and page.js(on_screen, segment.element_handle())
    assert page.errors == []


def test_the_index_lists_every_file_and_why_one_failed(run: Path, page_of: Any) -> None:
    page = page_of(run / "index.html")
    assert page.js("document.getElementById('folder').textContent") == run.name
    rows = page.page.locator("tbody tr")
    assert rows.count() == 5
    names = [rows.nth(k).get_attribute("data-name") for k in range(5)]
    assert sorted(names) == sorted([
        "corrupt.mp3", "interviews/interview with Ana.mp3", "meeting.flac", "notes/note café.ogg", "with a pause.wav",
    ])  # fmt: skip
    failed = page.page.locator("tr[data-status=failed]")
    assert failed.count() == 1 and failed.get_attribute("data-name") == "corrupt.mp3"
    assert "corrupt.mp3" in failed.inner_text() and "not decodable" in failed.inner_text()
    for k in range(5):
        link = rows.nth(k).locator("a")
        if rows.nth(k).get_attribute("data-status") == "done":
            assert (run / unquote(link.get_attribute("href"))).is_file()
    with page.page.expect_navigation():
        page.page.click("text=meeting.flac")
    assert page.page.url.endswith("/meeting.html")
    assert page.errors == []


def test_a_transcript_that_says_script_shows_it_as_text(run: Path, page_of: Any, tmp_path: Path) -> None:
    transcript = Transcript.from_json((run / "meeting.json").read_text(encoding="utf-8"))
    hostile = '</script><script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    transcript.segments[0].clean_text = hostile
    transcript.speakers = []
    path = tmp_path / "hostile.html"
    path.write_text(HtmlWriter().render(transcript), encoding="utf-8")
    page = page_of(path)
    page.page.wait_for_timeout(200)
    assert page.js("window.pwned") is None
    assert page.js("document.querySelector('#seg-0 .clean').textContent") == hostile
    assert page.errors == []
