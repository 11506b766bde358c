"""The docs a newcomer reads: a short README whose links all lead somewhere, and a flag table that is the
settings declaration's own (generated, and kept equal here)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_the_flag_table_is_generated_from_the_settings() -> None:
    page = runpy.run_path(str(ROOT / "scripts" / "make_flag_table.py"))["page"]()
    assert (ROOT / "docs" / "flags.md").read_text(encoding="utf-8") == page, (
        "docs/flags.md is out of date: run python scripts/make_flag_table.py"
    )
    from transcriber.settings import options

    for option in options():
        assert f"`{option.flag}`" in page and f"`{option.env}`" in page


def test_the_readme_is_short_and_names_the_two_commands_and_the_tests() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert "invoke setup && invoke transcribe" in text and "bash .ci/run" in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_to_a_file_leads_to_one(page: Path) -> None:
    for target, _ in _LINK.findall(page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
