"""Prometheus text: families render with HELP/TYPE, escaped labels, and parse back."""

from __future__ import annotations

from ops.metrics import Family, parse, render


def test_families_render_in_the_text_format_and_parse_back():
    text = render([
        Family("x_events", "Events.").add(3),
        Family("x_requests_total", "Requests.", "counter").add(5, route="/api/v1/sync/push", status="200"),
        Family("x_age_seconds", "Age.").add(float("inf")),
        Family("x_info", 'A "quoted"\nlabel.').add(1, version='1"2\\3'),
    ])
    assert "# TYPE x_requests_total counter" in text
    assert 'x_requests_total{route="/api/v1/sync/push",status="200"} 5' in text
    assert "x_age_seconds +Inf" in text
    assert 'x_info{version="1\\"2\\\\3"} 1' in text
    assert text.endswith("\n")
    values = parse(text)
    assert values["x_events"] == 3
    assert values["x_age_seconds"] == float("inf")
