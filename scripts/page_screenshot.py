"""Screenshot of a transcript page in headless chromium, as docs/html-page.png shows one.

    transcriber run -i tests/fixtures/diarize -o /tmp/pages --model tiny.en --speakers auto --speaker-names Ana,Ben
    python scripts/page_screenshot.py /tmp/pages/two_speakers.html docs/html-page.png --at 9.5

Needs Debian's chromium (apt-get install chromium) and playwright (the dev extra). `--at` plays to that
second and pauses, so the word being spoken is highlighted; `--view verbatim` shows the struck removals.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="a transcript page (<stem>.html)")
    parser.add_argument("png", type=Path, help="where the screenshot goes")
    parser.add_argument("--at", type=float, default=0.0, help="second of the recording to highlight")
    parser.add_argument("--view", choices=("clean", "verbatim"), default="clean")
    parser.add_argument("--size", default="1280x760", help="viewport WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(args.page.resolve().as_uri())
        while not page.evaluate("document.getElementById('player').readyState >= 1"):  # the page's CSP forbids
            page.wait_for_timeout(50)  # wait_for_function's eval
        page.click(f"button[data-view={args.view}]")
        page.evaluate("(t) => { document.getElementById('player').currentTime = t; }", args.at)
        page.wait_for_timeout(500)
        page.screenshot(path=str(args.png))
        browser.close()
    print(f"{args.png}: {args.png.stat().st_size} bytes")


if __name__ == "__main__":
    main()
