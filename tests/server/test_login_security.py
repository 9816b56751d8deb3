"""Dashboard logins as an attacker tries them: guessing (throttled per account and per address, 429 with Retry-After,
the right password included while locked), common passwords (refused when set), a session kept alive forever (ended
at its absolute lifetime), a login posted by another site's form (JSON only), and disabled accounts."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner, Result

from server.accounts.users import password_problem
from server.app import build_app
from server.cli import main
from server.config import load_config
from server.http.dashboard import ACCOUNTS
from server.model.login_throttle import ADDRESS, NAME, Limits, Tally, count_failure, retry_after_s
from tests.server.helpers import CountyServer, config_text

PASSWORD = "县政务服务看板 2026!"


async def _cli(*args: str, stdin: str | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), input=stdin)


async def _login(server: CountyServer, name: str, password: str, **kwargs) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        kwargs = kwargs or {"json": {"name": name, "password": password}}
        async with s.post(f"{server.url}/api/v1/session", **kwargs) as r:
            return r.status, await r.json(), dict(r.headers)


@pytest.fixture
async def county(tmp_path: Path):
    """Limits small enough to reach: 3 failures per account, 6 per address, in a minute; a 1-minute lock."""
    path = tmp_path / "server.toml"
    path.write_text(config_text(tables="[dashboard]\nlogin_failures_per_account = 3\nlogin_failures_per_address = 6\n"
                                       "login_window_minutes = 1\nlogin_lock_minutes = 1\n", where=tmp_path),
                    encoding="utf-8")
    config = load_config(path)
    app = await build_app(config)
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as session:
        county = CountyServer(str(server.make_url("")).rstrip("/"), app, config, session)
        await app[ACCOUNTS].add("zhangsan", PASSWORD)
        yield county


async def test_guessing_one_account_locks_it_with_429_even_for_the_right_password(county, caplog):
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        assert (await _login(county, "zhangsan", "wrong guess 2026"))[0] == 401
    status, body, headers = await _login(county, "zhangsan", PASSWORD)
    assert status == 429 and body["code"] == "login_throttled"
    assert 0 < int(headers["Retry-After"]) <= 60
    assert any("login locked name=zhangsan" in r.getMessage() for r in caplog.records)
    # Another account is not locked by it.
    await county.app[ACCOUNTS].add("lisi", PASSWORD)
    assert (await _login(county, "lisi", PASSWORD))[0] == 200


async def test_guessing_many_names_from_one_address_locks_the_address(county, caplog):
    caplog.set_level(logging.WARNING)
    for n in range(6):
        assert (await _login(county, f"guess{n}", "wrong guess 2026"))[0] == 401
    status, body, headers = await _login(county, "zhangsan", PASSWORD)
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert any("login locked address=127.0.0.1" in r.getMessage() for r in caplog.records)
    assert not any("guess" in r.getMessage() for r in caplog.records)  # unknown names may be mistyped passwords


async def test_unknown_and_known_names_lock_alike(county):
    for name in ("zhangsan", "nobody"):
        for _ in range(3):
            await _login(county, name, "wrong guess 2026")
    assert (await _login(county, "zhangsan", "x"))[0] == (await _login(county, "nobody", "x"))[0] == 429


def test_a_lock_ends_after_its_time_and_the_window_forgets_old_failures():
    limits = Limits(per_account=3, per_address=100, window_s=60, lock_s=300)
    tally, locked = Tally(), []
    for t in (0, 10, 20):
        tally, is_locked = count_failure(tally, NAME, limits, t)
        locked.append(is_locked)
    assert locked == [False, False, True] and tally == Tally((), 320)
    assert retry_after_s([tally.locked_until], 21) == 299
    assert retry_after_s([tally.locked_until], 321) is None
    for t in (400, 470, 540):  # never 3 within a minute
        tally, is_locked = count_failure(tally, NAME, limits, t)
        assert not is_locked
    assert tally.failures == (540,) and retry_after_s([tally.locked_until], 541) is None
    assert tally.expires_at(limits.window_s) == 600  # then the storage may drop it


def test_a_tally_keeps_only_the_failures_a_decision_needs():
    limits = Limits(per_account=3, per_address=5, window_s=60, lock_s=60)
    tally = Tally(locked_until=100)
    for t in range(50, 60):  # locked meanwhile (by another process): counted, but no new lock, and at most 5 kept
        tally, is_locked = count_failure(tally, ADDRESS, limits, t)
        assert not is_locked
    assert tally == Tally((55, 56, 57, 58, 59), 100)
    tally, is_locked = count_failure(tally, ADDRESS, limits, 101)  # the lock over, 5 in the window: locked
    assert is_locked and tally == Tally((), 161)


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/x-www-form-urlencoded", b"name=zhangsan&password=x"),  # another site's <form>
    ("text/plain", b'{"name": "zhangsan", "password": "' + PASSWORD.encode() + b'"}'),  # enctype=text/plain
    ("multipart/form-data; boundary=x", b"--x--\r\n"),
])
async def test_a_login_not_sent_as_json_is_refused(county, content_type, body):
    status, answer, _ = await _login(county, "", "", data=body, headers={"Content-Type": content_type})
    assert status == 415 and answer["code"] == "json_required"


async def test_an_oversized_name_or_password_is_refused_before_any_hash(county):
    for body in ({"name": "x" * 65, "password": "y"}, {"name": "zhangsan", "password": "p" * 1025}):
        status, answer, _ = await _login(county, "", "", json=body)
        assert status == 422 and answer["code"] == "bad_request"


async def test_a_session_ends_at_its_absolute_lifetime_however_busy(county):
    accounts = county.app[ACCOUNTS]
    token = await accounts.login("zhangsan", PASSWORD)
    now = datetime.now(UTC)
    for minutes in range(20, 12 * 60, 20):  # used every 20 minutes: never idle
        assert await accounts.account_of(token, now + timedelta(minutes=minutes)) == "zhangsan", minutes
    assert await accounts.account_of(token, now + timedelta(hours=12, minutes=1)) is None
    assert await accounts.account_of(token, now + timedelta(hours=12, minutes=2)) is None  # ended, not just refused
    status, body, _ = await _login(county, "zhangsan", PASSWORD)
    assert body["max_hours"] == 12 and body["idle_minutes"] == 30


async def test_disabling_an_account_ends_its_sessions_at_once_and_enabling_lets_it_log_in(county):
    config_file = county.config.source
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.post(f"{county.url}/api/v1/session", json={"name": "zhangsan", "password": PASSWORD}) as r:
            assert r.status == 200
        result = await _cli("users", "disable", "zhangsan", "--config", str(config_file))
        assert result.exit_code == 0, result.output
        async with s.get(f"{county.url}/api/v1/overview") as r:
            assert r.status == 401 and (await r.json())["code"] == "login_required"
    assert (await _login(county, "zhangsan", PASSWORD))[0] == 401
    listed = (await _cli("users", "list", "--config", str(config_file))).output
    assert "disabled" in listed and "role=county_admin" in listed
    assert (await _cli("users", "enable", "zhangsan", "--config", str(config_file))).exit_code == 0
    assert (await _login(county, "zhangsan", PASSWORD))[0] == 200
    unknown = await _cli("users", "disable", "nobody", "--config", str(config_file))
    assert unknown.exit_code == 2 and "no account" in unknown.output


@pytest.mark.parametrize("password", ["password", "12345678", "password1234", "Password2026!", "qwertyuiop123",
                                      "zhangsan2026", "zhangsan12345", "111111111111", "abcdefghijkl"])
def test_common_and_guessable_passwords_are_refused(password):
    problem = password_problem("zhangsan", password)
    assert problem is not None and ("at least 12" in problem or "too easy to guess" in problem)


@pytest.mark.parametrize("password", [PASSWORD, "muli-county-2026", "correct horse battery staple", "Tr0ub4dor&3xyz"])
def test_long_unguessable_passwords_are_taken(password):
    assert password_problem("zhangsan", password) is None


async def test_the_cli_explains_a_refused_password(county):
    result = await _cli("users", "add", "--name", "wangwu", "--password-stdin", "--config", str(county.config.source),
                        stdin="password1234\n")
    assert result.exit_code == 2 and "too easy to guess" in result.output and "common" in result.output


async def test_an_admin_lifts_a_login_lock_at_the_console_and_the_audit_log_says_so(county):
    for _ in range(3):
        assert (await _login(county, "zhangsan", "wrong guess 2026"))[0] == 401
    assert (await _login(county, "zhangsan", PASSWORD))[0] == 429
    config = str(county.config.source)
    lifted = await _cli("users", "unlock", "zhangsan", "--config", config)
    assert lifted.exit_code == 0 and "Login lock of name zhangsan lifted" in lifted.output, lifted.output
    assert (await _login(county, "zhangsan", PASSWORD))[0] == 200  # in the running server, at once
    again = await _cli("users", "unlock", "zhangsan", "--config", config)
    assert again.exit_code != 0 and "no failed logins or lock recorded for name 'zhangsan'" in again.output
    assert (await _cli("users", "unlock", "--config", config)).exit_code != 0  # a name or an address, one of them
    for n in range(3):  # the address kept its 3 failures of zhangsan's: 3 more of its 6 lock it
        assert (await _login(county, f"guess{n}", "wrong guess 2026"))[0] == 401
    assert (await _login(county, "zhangsan", PASSWORD))[0] == 429
    by_address = await _cli("users", "unlock", "--address", "127.0.0.1", "--config", config)
    assert by_address.exit_code == 0, by_address.output
    assert (await _login(county, "zhangsan", PASSWORD))[0] == 200
    listed = (await _cli("audit", "list", "--config", config)).output.splitlines()
    unlocked = [line.split("  ")[3:6] for line in listed if "  login_unlocked  " in line]  # newest first
    assert unlocked == [["login_unlocked", "-", "ok"], ["login_unlocked", "zhangsan", "failed"],
                        ["login_unlocked", "zhangsan", "ok"]]
    assert '{"address":"127.0.0.1"}' in next(line for line in listed if "  login_unlocked  " in line)
