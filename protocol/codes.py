"""One table of error and refusal codes: HTTP status plus a message a person can act on.

Used for whole-request errors (an `ErrorBody`) and for per-event refusals inside a push response, by the county API
and by the agent's local API (whose messages township staff read: in Chinese).
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
    Code("too_large", 413, "The request body is too large (a push: send fewer events per request)."),
    Code("unsupported_encoding", 415, "The body's Content-Encoding is not supported: send it as gzip, deflate or "
         "uncompressed."),
    Code("json_required", 415, "请求内容须为 JSON。Send the body as JSON, with `Content-Type: application/json`."),
    Code("body_timeout", 408, "The request body did not arrive in time (a slow or stalled link); nothing was "
         "applied. It is safe to retry."),
    Code("quota_exceeded", 429, "This PC has sent its quota for today ([quotas] events_per_day, bytes_per_day of "
         "the server); nothing is lost: it keeps its events and sends them after midnight (China time). If the work "
         "is real, raise the quota."),
    Code("orphan_quota", 429, "Too many of this PC's events are waiting for the acceptance (受理) of their case "
         "([quotas] orphan_events); they stay on the PC until the PC that accepted those cases has uploaded."),
    Code("agent_revoked", 403, "The county revoked this PC (`county-server agents revoke`); its uploads are "
         "refused. The county re-admits it with `county-server agents rotate-token` and a new token."),
    Code("agent_mismatch", 403, "The batch names another agent than the token's. Check the agent's configuration."),
    Code("internal", 500, "The server failed; the request was not applied. It is safe to retry."),
    Code("login_required", 401, "Log in to the dashboard (or send the admin token as a bearer token); a session "
         "ends after a while without use."),
    Code("login_failed", 401, "Wrong name or password. An administrator sets passwords with "
         "`county-server users add` or `users password`."),
    Code("login_throttled", 429, "Too many failed logins for this account or from this address: try again after "
         "Retry-After seconds. An administrator can end the lock with `county-server users enable`."),
    Code("metrics_token_required", 401, "Send `Authorization: Bearer <[metrics] token>` of the server config, or "
         "scrape the metrics listener on `[metrics] host`:`port`."),
    # per event, inside a push response: the agent quarantines these and never retries them as they are
    Code("invalid_event", 422, "The event's fields are invalid; see `detail`."),
    Code("wrong_township", 403, "The case belongs to a township or village outside this agent's township."),
    Code("unknown_org", 422, "The org unit code is not in the county's org units."),
    Code("unknown_item", 422, "The service item code is not in the county's catalog."),
    Code("seq_reused", 409, "This agent already sent another event with the same seq: its store was reset or "
         "restored. Give the agent a new identity (`county-server agents add`)."),
    Code("event_id_reused", 409, "An event with this event_id but other content is already stored."),
    Code("implausible_time", 422, "The event's time (the PC's clock corrected by its measured offset) is outside "
         "what the county accepts: from 10 years before to 1 day after the server's clock. Set the PC's clock right "
         "and record the action again."),
    # the agent's local API (127.0.0.1): read by staff
    Code("host_not_allowed", 403, "这个地址不是本机办件代理的地址。请用 http://127.0.0.1:端口/ 打开办件工作台。"),
    Code("cross_origin", 403, "其他网页不能修改本机的办件数据。请在办件工作台中操作。"),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


def status_of(code: str) -> int:
    return CODES[code].status


def message_of(code: str) -> str:
    return CODES[code].message
