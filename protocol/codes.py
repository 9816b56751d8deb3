"""One table of error and refusal codes: HTTP status plus a message a person can act on.

Used for whole-request errors (an `ErrorBody`) and for per-event refusals inside a push response.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    status: int
    message: str


_CODES = [
    # whole request
    Code("bad_json", 400, "The request body is not valid JSON (gzip-compressed when Content-Encoding says so)."),
    Code("bad_request", 422, "The request does not have the expected shape; see `detail`."),
    Code("unauthorized", 401, "Missing or unknown bearer token. Register the agent with `county-server agents add`."),
    Code("forbidden", 403, "This token may not do that."),
    Code("not_found", 404, "No such resource."),
    Code("method_not_allowed", 405, "This resource does not accept that HTTP method; see /api/v1/openapi.json."),
    Code("too_large", 413, "The batch is too large; send fewer events per request."),
    Code("agent_mismatch", 403, "The batch names another agent than the token's. Check the agent's configuration."),
    Code("internal", 500, "The server failed; the request was not applied. It is safe to retry."),
    Code("login_required", 401, "Log in to the dashboard (or send the admin token as a bearer token); a session "
         "ends after a while without use."),
    Code("login_failed", 401, "Wrong name or password. An administrator sets passwords with "
         "`county-server users add` or `users password`."),
    # per event, inside a push response: the agent quarantines these and never retries them as they are
    Code("invalid_event", 422, "The event's fields are invalid; see `detail`."),
    Code("wrong_township", 403, "The case belongs to a township or village outside this agent's township."),
    Code("unknown_org", 422, "The org unit code is not in the county's org units."),
    Code("unknown_item", 422, "The service item code is not in the county's catalog."),
    Code("seq_reused", 409, "This agent already sent another event with the same seq: its store was reset or "
         "restored. Give the agent a new identity (`county-server agents add`)."),
    Code("event_id_reused", 409, "An event with this event_id but other content is already stored."),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


def status_of(code: str) -> int:
    return CODES[code].status


def message_of(code: str) -> str:
    return CODES[code].message
