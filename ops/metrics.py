"""Prometheus text exposition (format 0.0.4), enough for gauges and counters with labels. No client library: both
programs compute their figures on each scrape from the database and a few in-process counters."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Family:
    """One metric family: `name`, `help`, `type` ("gauge" or "counter") and its samples (labels, value)."""

    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, value))
        return self


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(float(v))


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(families: list[Family]) -> str:
    lines: list[str] = []
    for f in families:
        lines.append(f"# HELP {f.name} {f.help.replace(chr(92), chr(92) * 2).replace(chr(10), ' ')}")
        lines.append(f"# TYPE {f.name} {f.type}")
        for labels, value in f.samples:
            if labels:
                inner = ",".join(f'{k}="{_label(str(v))}"' for k, v in sorted(labels.items()))
                lines.append(f"{f.name}{{{inner}}} {_value(value)}")
            else:
                lines.append(f"{f.name} {_value(value)}")
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, float]:
    """`name{labels}` -> value of every sample in `text`; for tests and `doctor`."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out
