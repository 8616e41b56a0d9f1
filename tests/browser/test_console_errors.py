"""The shared console-error check: what it catches, and how a test takes expected ones out."""

from __future__ import annotations


def test_console_errors_and_uncaught_exceptions_are_recorded(page, console_errors):
    page.set_content(
        "<script>console.error('boom'); setTimeout(() => missingFunction(), 0);</script>"
    )
    page.wait_for_function("() => true")
    page.wait_for_timeout(100)
    assert any("console.error: boom" in error for error in console_errors)
    assert any("uncaught:" in e and "missingFunction" in e for e in console_errors)
    console_errors.take("boom", "missingFunction")
    assert console_errors == []
