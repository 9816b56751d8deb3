"""The server's exceptions, in a leaf module so that every layer can raise them without importing another layer."""

from __future__ import annotations

# A bad or missing setting or reference file; the message names the file, the key and what was expected. Raised by
# the configuration loader both programs share (and by the reference files' reader).
from ops.settings import ConfigError as ConfigError
from protocol.codes import CODES, message_of


class ApiError(Exception):
    """A whole-request error answered with `ErrorBody`; `code` is a key of `protocol.codes.CODES`. `fields` maps a
    parameter to what is wrong with it, for the page to show on that control."""

    def __init__(self, code: str, detail: str | None = None, fields: dict[str, str] | None = None, *,
                 retry_after_s: int | None = None) -> None:
        assert code in CODES, code
        super().__init__(f"{code}: {detail or message_of(code)}")
        self.code = code
        self.detail = detail
        self.fields = fields
        self.retry_after_s = retry_after_s  # sent as Retry-After (429: a quota or a login lock)


def invalid_filter(field: str, message: str) -> ApiError:
    """A dashboard filter the server cannot use; `message` (Chinese) says what to fix and is shown on the filter."""
    return ApiError("invalid_filter", message, {field: message})


class UnknownTownship(ValueError):
    """`agents add` named a township code that is not in the county's org units."""


class ClientGone(Exception):
    """The client went away in the middle of its request (a cut upload): nothing of it was applied, and nobody is
    left to answer. Logged at INFO ("client went away"), answered as 499 (never sent), never counted as a 5xx."""
