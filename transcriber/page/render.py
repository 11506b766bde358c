"""Filling the page templates: `{{name}}` replaced once each, every value escaped for where it goes.

Text goes in as HTML-escaped text; the page data goes in as JSON inside `<script type="application/json">`,
with `<`, `>` and `&` written as JSON escapes, so nothing a speaker said (`</script>`, `<img onerror>`) can
end the script element or become markup. The page's script puts the words in with `textContent` only.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from transcriber.page.view import page_data
from transcriber.transcript import Transcript

_SLOT = re.compile(r"\{\{(\w+)\}\}")
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@cache
def template(name: str) -> str:
    """A template shipped beside this module (`page.html`, `index.html`)."""
    return resources.files("transcriber.page").joinpath(name).read_text(encoding="utf-8")


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with each `{{name}}` replaced by `values[name]`, in one pass (a value is never filled again)."""
    return _SLOT.sub(lambda m: values[m.group(1)], text)


def script_json(data: Any) -> str:
    """`data` as JSON that is safe inside a `<script>` element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group()], text)


def render_page(transcript: Transcript, audio: str = "") -> str:
    """The self-contained page of `transcript`; `audio` is the player's source (a data: URI, a relative URL,
    or "" for none)."""
    data = page_data(transcript)
    return fill(
        template("page.html"),
        {
            "title": html.escape(data["title"]),
            "audio": f' src="{html.escape(audio)}"' if audio else "",
            "data": script_json(data),
        },
    )
