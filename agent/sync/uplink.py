"""HTTP to the county server. Maps every answer to a protocol type or to one of two error kinds:

- `TransientUplinkError` (connection failure, timeout, 429, 5xx): worth retrying, honouring Retry-After;
  `is_unreachable` when no connection could be opened at all (a smaller batch would not help);
- `RefusedRequestError` (any other 4xx): the same request will not succeed, so it is never retried.

Each exchange also measures the PC's clock offset against the server's `X-Server-Time-Ms` header.
"""

from __future__ import annotations

import gzip
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import msgspec
from multidict import CIMultiDictProxy
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from agent import __version__
from agent.errors import RefusedRequestError, TransientUplinkError
from protocol import API_PREFIX
from protocol.codes import CODES
from protocol.materials import CHUNK_TYPE, OFFSET_HEADER, AttachmentOffer, UploadState
from protocol.messages import (
    ErrorBody,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    ReferenceResponse,
    StaffList,
    StaffPush,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
GZIP_LEVEL = 6  # level 6 brings ~1.2 kB of JSON per event to ~140 bytes on the wire (perf-notes)
_encode = msgspec.json.Encoder()
_push_response = msgspec.json.Decoder(PushResponse)
_pull_response = msgspec.json.Decoder(PullResponse[msgspec.Raw])
_reference_response = msgspec.json.Decoder(ReferenceResponse)
_error_body = msgspec.json.Decoder(ErrorBody)
_upload_state = msgspec.json.Decoder(UploadState)
_staff_list = msgspec.json.Decoder(StaffList)


class Uplink:
    """One keep-alive session to the county. `offset_ms` is the last measured PC-minus-server clock offset."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float, attempts: int, backoff_initial_s: float,
                 backoff_max_s: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._ssl = ssl_context  # a county's own CA, this PC's client certificate (`ops.tls.client_context`)
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts = attempts
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._session: aiohttp.ClientSession | None = None
        self.offset_ms: int | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl) if self._ssl is not None else None,
                timeout=self._timeout,
                headers={"Authorization": f"Bearer {self._token}", "User-Agent": f"township-agent/{__version__}"},
            )
        return self._session

    async def push(self, request: PushRequest, *, attempts: int | None = None) -> PushResponse:
        """`attempts`: 1 when the caller would rather send a smaller batch than retry this one."""
        body = gzip.compress(_encode.encode(request), GZIP_LEVEL)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        raw = await self._retrying(lambda: self._exchange("POST", "/sync/push", data=body, headers=headers),
                                   attempts)
        return _push_response.decode(raw)

    async def pull(self, request: PullRequest, *, attempts: int | None = None) -> PullResponse[msgspec.Raw]:
        """One batch of the township's events after `request.cursor` (gzip both ways); event data left raw."""
        body = gzip.compress(_encode.encode(request), GZIP_LEVEL)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Accept-Encoding": "gzip"}
        raw = await self._retrying(lambda: self._exchange("POST", "/sync/pull", data=body, headers=headers),
                                   attempts)
        return _pull_response.decode(raw)

    async def staff(self, request: StaffPush) -> StaffList:
        """Send this PC's changes to the township's staff list; the answer is the whole list as the county has it."""
        body = _encode.encode(request)
        raw = await self._retrying(lambda: self._exchange("POST", "/staff", data=body,
                                                          headers={"Content-Type": "application/json"}))
        return _staff_list.decode(raw)

    async def reference(self) -> ReferenceResponse:
        raw = await self._retrying(lambda: self._exchange("GET", "/reference"))
        return _reference_response.decode(raw)

    async def _retrying(self, call: Callable[[], Awaitable[T]], attempts: int | None = None) -> T:
        initial, maximum = self._backoff
        # Full jitter: uniform in [0, initial * 2**n], capped, so PCs that lost the link together do not return in step.
        jitter = wait_random_exponential(multiplier=initial, max=maximum)

        def wait(state):  # honour Retry-After when the server sends it, else jittered exponential
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, TransientUplinkError) and error.retry_after_s is not None:
                return min(error.retry_after_s, maximum)
            return jitter(state)

        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts or self._attempts),
            wait=wait,
            retry=retry_if_exception_type(TransientUplinkError),
            reraise=True,
            before_sleep=lambda s: log.info("uplink retry attempt=%d error=%s", s.attempt_number,
                                            s.outcome.exception() if s.outcome else ""),
        ):
            with attempt:
                return await call()
        raise AssertionError("unreachable")

    # ---- attachments: the resumable upload (protocol/materials.py); the lane retries, not tenacity ----------

    async def offer_attachment(self, offer: AttachmentOffer) -> UploadState:
        raw = await self._retrying(lambda: self._exchange("POST", "/attachments", data=_encode.encode(offer),
                                                          headers={"Content-Type": "application/json"}), 1)
        return _upload_state.decode(raw)

    async def upload_offset(self, sha256: str) -> int:
        """The bytes of this file the county holds (HEAD)."""
        _, headers = await self._send("HEAD", f"/uploads/{sha256}")
        return int(headers.get(OFFSET_HEADER, "0"))

    async def upload_chunk(self, sha256: str, offset: int, chunk: bytes) -> tuple[int, bool]:
        """Send `chunk` at `offset`; (the bytes the county holds after it, whether the file is complete there)."""
        raw, headers = await self._send("PATCH", f"/uploads/{sha256}", data=chunk,
                                        headers={"Content-Type": CHUNK_TYPE, OFFSET_HEADER: str(offset)})
        if OFFSET_HEADER in headers:
            return int(headers[OFFSET_HEADER]), False
        state = _upload_state.decode(raw)
        return state.offset, state.is_complete

    async def _exchange(self, method: str, path: str, **kwargs) -> bytes:
        return (await self._send(method, path, **kwargs))[0]

    async def _send(self, method: str, path: str, **kwargs) -> tuple[bytes, CIMultiDictProxy[str]]:
        """One request: (the body, the headers) of a 2xx answer; else the error kind it is."""
        url = f"{self._base}{API_PREFIX}{path}"
        sent = time.time()
        try:
            async with self._client().request(method, url, **kwargs) as resp:
                raw = await resp.read()
                received = time.time()
                self._measure_offset(resp.headers.get("X-Server-Time-Ms"), sent, received)
                status = resp.status
                headers = resp.headers
                retry_after = resp.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as e:  # no connection at all
            raise TransientUplinkError(f"{method} {url}: {type(e).__name__}: {e}", is_unreachable=True) from e
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            timed_out = isinstance(e, TimeoutError | aiohttp.ServerTimeoutError)
            code = "county_timeout" if timed_out else "county_unreachable"
            raise TransientUplinkError(f"{method} {url}: {type(e).__name__}: {e}", code=code) from e
        if status < 300:
            return raw, headers
        try:
            error = _error_body.decode(raw)
            code, message = error.code, error.message + (f" ({error.detail})" if error.detail else "")
        except msgspec.DecodeError:
            code, message = "http_error", raw[:200].decode("utf-8", "replace")
        if status == 429 or status >= 500:
            # Staff read why: the county's own code when it has words for them (a quota), else busy or unavailable.
            reason = code if code in CODES and CODES[code].staff else "county_busy" if status == 429 \
                else "county_unavailable"
            raise TransientUplinkError(f"{method} {url}: HTTP {status} {code}: {message}", _seconds(retry_after),
                                       reason)
        raise RefusedRequestError(status, code, message)

    def _measure_offset(self, header: str | None, sent: float, received: float) -> None:
        if header is None:
            return
        try:
            server_ms = int(header)
        except ValueError:
            return
        # The server read its clock somewhere within the round trip; the midpoint halves the error.
        self.offset_ms = round((sent + received) / 2 * 1000) - server_ms


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
