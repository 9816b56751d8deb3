"""Logs: one line per event, key=value, and no personal data at any level, whoever logs it."""

from __future__ import annotations

import io
import logging

import pytest

from ops.logs import REDACTED, configure_logging, redact


@pytest.fixture
def log_stream():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.mark.parametrize("text", [
    "accepted applicant_name=扎西 case_no=5134221000120261123",
    "search q=%E5%8D%93%E7%8E%9B limit=20",
    "cert 11010519491231002X checked",
    "old id 110105491231002 checked",
    "call +86 13800000000 now",
    "phone=0834-1234567 given",
    "refused: 申请人 卓玛 的证件号码有误",
    "Tibetan name བཀྲ་ཤིས་ given",
    "comment=\"too slow, Zhaxi\" rating=2",
    r"params ('x', b'{\"n\":\"\xe6\x89\x8e\xe8\xa5\xbf\"}')",  # a bytes repr, as aiosqlite logs SQL arguments
    r'{"n": "\u624e\u897f"}',  # JSON-escaped
    '{"applicant_name": "Zhaxi", "cert_no": "E12345678"}',
])
def test_personal_data_is_replaced_in_any_message(text):
    out = redact(text)
    for secret in ("扎西", "卓玛", "11010519491231002X", "110105491231002", "13800000000", "0834-1234567",
                   "%E5%8D", "Zhaxi", "བཀྲ", r"\xe6\x89", r"\u624e", "E12345678"):
        assert secret not in out
    assert REDACTED in out


def test_ids_counts_and_codes_are_kept():
    line = ("sync pushed events=500 acked_seq=1234 took_ms=41 org=513422100201"
            " event_id=0190a3c4-1b2c-7d3e-8f40-1a2b3c4d5e6f")
    assert redact(line) == line


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error"])
def test_every_level_writes_one_redacted_line(log_stream, level):
    log = getattr(logging.getLogger("agent.test"), level)
    log("case saved applicant_name=%s cert=%s", "卓玛", "11010519491231002X")
    lines = log_stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{level.upper()} agent.test case saved applicant_name={REDACTED}")
    assert "卓玛" not in lines[0] and "11010519491231002X" not in lines[0]


def test_a_traceback_is_folded_into_the_same_line_and_redacted(log_stream):
    try:
        raise ValueError("bad applicant 扎西 13800000000")
    except ValueError:
        logging.getLogger("server.ingest.ingestor").exception("batch failed batch=7")
    lines = log_stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "Traceback" in lines[0] and "\\n" in lines[0]
    assert "扎西" not in lines[0] and "13800000000" not in lines[0]


def test_third_party_loggers_go_through_the_filter_too(log_stream):
    logging.getLogger("aiohttp.server").error("Error handling request /api/cases?q=%E5%8D%93%E7%8E%9B")
    assert "%E5" not in log_stream.getvalue()


def test_under_journald_lines_carry_a_syslog_priority(monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging("INFO", stream)
        logging.getLogger("agent.sync.syncer").warning("sync failed error=timeout")
        logging.getLogger("agent.sync.syncer").debug("not shown")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert stream.getvalue() == "<4>WARNING agent.sync.syncer sync failed error=timeout\n"


def test_an_unknown_level_is_refused():
    with pytest.raises(ValueError, match="VERBOSE"):
        configure_logging("VERBOSE", io.StringIO())
