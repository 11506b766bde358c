#!/usr/bin/env python3
"""Write docs/flags.md, the table of `transcriber run`'s flags, from the settings declaration.

Run it after adding or changing a setting; tests/test_docs.py fails while the page and the declaration differ.
"""

from __future__ import annotations

from pathlib import Path

from transcriber.cli import flag_table

PAGE = Path(__file__).resolve().parent.parent / "docs" / "flags.md"
HEAD = """# Flags of `transcriber run`

Generated from the settings declaration (`transcriber/settings.py`) by `python scripts/make_flag_table.py`;
do not edit by hand. Flags win over the environment variables, which win over the defaults (the invoke tasks
also read `env/` files). "A change redoes" is what a rerun with another value redoes for files already done.
Back to the [README](../README.md); what the run reads and writes is in [usage.md](usage.md).

"""


def page() -> str:
    return HEAD + flag_table()


if __name__ == "__main__":
    PAGE.write_text(page(), encoding="utf-8")
    print(f"wrote {PAGE}")
