"""Which cases stand behind a figure, as an SQL predicate both SQL backends share (`?` placeholders; PostgreSQL
numbers them), and the code ranges the dashboard reads by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.storage.dashboard import CASE_FIGURES, CaseFilter

OPEN = "state IN ('in_progress', 'suspended')"  # the exact predicate of the partial index cases_open_due


def upper_bound(prefix: str) -> str:
    """The exclusive upper bound of codes starting with `prefix` (digits: the last one + 1, 9 -> ':')."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def case_where(f: CaseFilter, json_field: Callable[..., str]) -> tuple[str, list[Any]]:
    """The SQL predicate of the cases behind one figure (`?` placeholders): the same rules as
    `server.model.rollups.contributions`. `json_field(key, integer)` reads a key of the case body in the dialect."""
    assert f.figure in CASE_FIGURES, f.figure
    terms = ["org_code >= ?", "org_code < ?"]
    params: list[Any] = [f.prefix, upper_bound(f.prefix)]

    def period(column: str) -> None:
        if f.date_from is not None:
            terms.append(f"{column} >= ?")
            params.append(f.date_from)
        if f.date_to is not None:
            terms.append(f"{column} <= ?")
            params.append(f.date_to)

    figure = f.figure
    if figure in ("accepted", "online", "in_progress"):
        terms.append(OPEN if figure == "in_progress" else "state <> 'rejected'")
        if figure == "online":
            terms.append("channel = 'online'")
        period("accepted_on")
    elif figure.startswith("completed") or figure == "trips_le1":
        terms.append("state = 'completed'")
        terms.append({"completed": "true", "completed_on_time": "is_on_time = 1", "completed_late": "is_on_time = 0",
                      "completed_no_due_date": "is_on_time IS NULL",
                      "trips_le1": f"{json_field('trips', True)} <= 1"}[figure])
        period("completed_on")
    elif figure in ("rejected", "withdrawn"):
        terms.append(f"state = '{figure}'")
        period("closed_on")
    elif figure in ("evaluations", "good_ratings", "bad_ratings", "bad_pending", "bad_followed_up"):
        terms.append({"evaluations": "rating IS NOT NULL",
                      "good_ratings": f"rating IN ({', '.join(str(int(r)) for r in f.good_ratings)})",
                      "bad_ratings": "rating IN (1, 2)",
                      "bad_pending": "rating IN (1, 2) AND followed_up_on IS NULL",
                      "bad_followed_up": "rating IN (1, 2) AND followed_up_on IS NOT NULL"}[figure])
        period("rated_on")
    else:  # overdue_open, due_soon: open cases against as_of, whatever the period
        terms += [OPEN, "due_on < ?" if figure == "overdue_open" else "due_on >= ? AND due_on <= ?"]
        params += [f.as_of] if figure == "overdue_open" else [f.as_of, f.due_until]
    if f.category is not None:
        terms.append("category = ?")
        params.append(f.category)
    if f.channel is not None:
        terms.append("channel = ?")
        params.append(f.channel)
    return " AND ".join(terms), params

