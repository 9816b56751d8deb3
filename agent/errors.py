"""Exceptions of the agent, named for the condition. A leaf module: imports nothing of the agent."""

from __future__ import annotations

# A setting is missing or has the wrong type; the message names file, key, value and what is expected. Raised by the
# configuration loader both programs share.
from ops.settings import ConfigError as ConfigError


class InvalidInput(Exception):
    """A staff entry that cannot be stored. `fields` maps a form field to a message in plain Chinese; `detail` is the
    technical text behind it (a library's message), for ops; `code` the answer's code (`protocol.codes`)."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, detail: str | None = None, *,
                 code: str = "invalid_input") -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.detail = detail
        self.code = code


class CaseNotFound(Exception):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"case {case_id} not found")
        self.case_id = case_id


class EventNotQuarantined(Exception):
    """A resend or dismiss named an event that is not (or no longer) quarantined."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event {event_id} is not quarantined")
        self.event_id = event_id


class ConflictNotFound(Exception):
    """A settle named an event that is not (or no longer) an open conflict."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event {event_id} is not an open conflict")
        self.event_id = event_id


class TransientUplinkError(Exception):
    """The county could not be reached or answered 429/5xx: retry later. `retry_after_s` honours Retry-After.
    `code` (of `protocol.codes`) says which, in words staff can read; the message is the technical text.
    `is_unreachable`: not even a connection could be opened (a smaller batch would not help)."""

    def __init__(self, message: str, retry_after_s: float | None = None, code: str = "county_unreachable", *,
                 is_unreachable: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.code = code
        self.is_unreachable = is_unreachable


class RefusedRequestError(Exception):
    """The county refused the whole request (4xx): retrying the same request will not help. Carries a hint."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class StaffRefused(Exception):
    """Sign-in or staff management refused: `code` of `protocol.codes` (sign_in_failed, sign_in_locked, ...).
    `retry_after_s`: when a locked staff id may try again."""

    def __init__(self, code: str, detail: str | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(f"{code}: {detail or ''}")
        self.code = code
        self.detail = detail
        self.retry_after_s = retry_after_s
