"""One logging set-up for both programs: one line per event, a fixed message then stable `key=value` fields, to
stdout for the journal, no timestamps (the journal adds them).

Every line passes through `redact()` before it is written, whatever its level or source (our code, aiohttp,
apscheduler, a traceback), so personal data cannot reach the journal even when a developer logs a whole object:

- mainland ID numbers (15 or 18 characters) and mobile phone numbers are replaced;
- the value of a `key=value` field whose key names personal data (`applicant_name=`, `cert_no=`, `phone=` ...);
- any run of non-ASCII letters: applicants' names are written in Chinese, Tibetan or Yi script, and our own messages
  are ASCII by rule, so a non-ASCII word in a log line is treated as personal data;
- percent-encoded UTF-8 (a name in a URL query).

Under journald (`$JOURNAL_STREAM` set) each line starts with a `<N>` syslog priority, so `journalctl -p warning`
works.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from typing import TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REDACTED = "[redacted]"

# Keys of `key=value` fields whose value is personal data, in any spelling we use on the wire or in forms.
PERSONAL_KEYS = ("applicant_name", "applicant", "cert_no", "id_no", "id_number", "phone", "mobile", "address",
                 "comment", "note", "q", "query", "staff")

_PATTERNS = [
    # 18-digit resident ID (last character may be X) and the old 15-digit one; not part of a longer digit run.
    re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])"),
    # mainland mobile numbers, with an optional +86 / 86 prefix.
    re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"),
    # `key=value` where the key names personal data; the value runs to the next space (or is quoted).
    re.compile(r"(?<![\w.])(?P<key>" + "|".join(PERSONAL_KEYS) + r")=(?:\"[^\"]*\"|'[^']*'|[^\s&,;]*)"),
    # the same as a JSON or dict field: "applicant_name": "..." (a struct or row logged whole).
    re.compile(r"(?P<key>[\"'](?:" + "|".join(PERSONAL_KEYS) + r")[\"']\s*:\s*)(?:\"(?:[^\"\\]|\\.)*\"|'[^']*')"),
    # percent-encoded bytes >= 0x80: UTF-8 text inside a URL.
    re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+"),
    # escaped non-ASCII: bytes reprs (\xe6\x89) and JSON escapes (\u624e) of names.
    re.compile(r"(?:\\x[89a-fA-F][0-9a-fA-F])+|(?:\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3}))+"),
    # non-ASCII letters and marks (Han, Tibetan, Yi, Mongolian, Uyghur ...); punctuation is left alone.
    re.compile(r"[^\x00-\x7f\u2000-\u206f\u3000-\u303f\uff00-\uff0f\uff1a-\uff20]+"),
]

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


def redact(text: str) -> str:
    """Replace personal data in one formatted log line (see the module docstring)."""
    for pattern in _PATTERNS:
        if "key" in pattern.groupindex:
            sep = "" if pattern.pattern.startswith("(?P<key>[") else "="
            text = pattern.sub(_keep_key(sep), text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _keep_key(sep: str) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps a field's key and redacts its value."""
    return lambda m: f"{m.group('key')}{sep}{REDACTED}"


class RedactingFormatter(logging.Formatter):
    """`LEVEL logger message key=value ...` on one line: tracebacks are folded with a literal `\\n`, and the whole
    line is redacted last, so nothing escapes the filter."""

    def __init__(self, *, syslog_prefix: bool) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s")
        self._syslog_prefix = syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record)).replace("\r", "").replace("\n", "\\n")
        if self._syslog_prefix:
            line = f"<{_PRIORITY.get(record.levelno, 6)}>{line}"
        return line


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records, redacted, one line each, to `stream` (stdout by default). Returns the handler."""
    if level.upper() not in LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(RedactingFormatter(syslog_prefix=bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log repeats every request, query strings included; our own lines say what matters.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines carry every SQL parameter; redaction would catch them, but they are noise anyway.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    return handler
