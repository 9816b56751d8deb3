"""Dashboard accounts: `users add` stores a scrypt hash, a login gives an HttpOnly session cookie that reads figures,
a wrong password or an idle session is refused, logout and a new password end sessions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from click.testing import CliRunner, Result

from server.accounts.users import hash_password, verify_password
from server.cli import main
from server.http.dashboard import ACCOUNTS
from tests import database
from tests.server.helpers import CountyServer

PASSWORD = "县政务服务看板 2026!"


async def _cli(*args: str, stdin: str | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), input=stdin)


def test_scrypt_hashes_are_salted_and_verify_only_the_right_password() -> None:
    one, two = hash_password(PASSWORD), hash_password(PASSWORD)
    assert one != two and one.startswith("scrypt$16384$8$1$")
    assert verify_password(PASSWORD, one) and verify_password(PASSWORD, two)
    assert not verify_password(PASSWORD + "x", one)
    assert not verify_password(PASSWORD, "argon2$whatever") and not verify_password(PASSWORD, "garbage")


async def _login(server: CountyServer, name: str, password: str) -> tuple[int, aiohttp.ClientSession]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(f"{server.url}/api/v1/session", json={"name": name, "password": password}) as r:
        await r.read()
        return r.status, session


async def test_users_add_then_login_reads_figures_and_logout_ends_it(county_server: CountyServer,
                                                                   config_file: Path) -> None:
    added = await _cli("users", "add", "--name", "zhangsan", "--password-stdin", "--config", str(config_file),
                       stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    with database.connect(county_server.config) as db:
        [(stored,)] = db.execute("SELECT password_hash FROM accounts WHERE name = 'zhangsan'").fetchall()
    assert PASSWORD not in stored and stored.startswith("scrypt$")
    status, session = await _login(county_server, "zhangsan", PASSWORD)
    async with session:
        assert status == 200
        cookie = next(c for c in session.cookie_jar if c.key == "county_session")
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        async with session.get(f"{county_server.url}/api/v1/overview?period=2026") as r:
            assert r.status == 200
        async with session.get(f"{county_server.url}/api/v1/session") as r:
            assert (await r.json())["account"] == "zhangsan"
        async with session.delete(f"{county_server.url}/api/v1/session") as r:
            assert r.status == 200
        async with session.get(f"{county_server.url}/api/v1/overview?period=2026") as r:
            assert r.status == 401 and (await r.json())["code"] == "login_required"
    listed = await _cli("users", "list", "--config", str(config_file))
    assert "zhangsan" in listed.output


async def test_a_wrong_password_or_unknown_name_is_refused_alike(county_server: CountyServer) -> None:
    await county_server.app[ACCOUNTS].add("lisi", PASSWORD)
    for name, password in (("lisi", "wrong password"), ("nobody", PASSWORD)):
        status, session = await _login(county_server, name, password)
        await session.close()
        assert status == 401
    async with aiohttp.ClientSession() as s, s.post(f"{county_server.url}/api/v1/session",
                                                    json={"name": "lisi", "password": "x"}) as r:
        assert (await r.json())["code"] == "login_failed"


async def test_an_idle_session_ends_and_a_used_one_lives_on(county_server: CountyServer) -> None:
    accounts = county_server.app[ACCOUNTS]
    await accounts.add("wangwu", PASSWORD)
    token = await accounts.login("wangwu", PASSWORD)
    now = datetime.now(UTC)
    assert await accounts.account_of(token, now + timedelta(minutes=20)) == "wangwu"  # extends it
    assert await accounts.account_of(token, now + timedelta(minutes=45)) == "wangwu"  # 25 min after last use
    assert await accounts.account_of(token, now + timedelta(minutes=80)) is None  # 35 min idle: ended
    assert await accounts.account_of(token, now + timedelta(minutes=81)) is None
    other = await accounts.login("wangwu", PASSWORD)
    assert await accounts.end_idle_sessions(now + timedelta(hours=2)) == 1
    assert await accounts.account_of(other) is None


async def test_a_new_password_ends_open_sessions_and_bad_input_is_explained(county_server: CountyServer,
                                                                            config_file: Path) -> None:
    accounts = county_server.app[ACCOUNTS]
    await accounts.add("zhaoliu", PASSWORD)
    token = await accounts.login("zhaoliu", PASSWORD)
    changed = await _cli("users", "password", "--name", "zhaoliu", "--password-stdin", "--config",
                         str(config_file), stdin="another long password\n")
    assert changed.exit_code == 0, changed.output
    assert await accounts.account_of(token) is None
    assert await accounts.login("zhaoliu", "another long password") is not None
    short = await _cli("users", "add", "--name", "x", "--password-stdin", "--config", str(config_file),
                       stdin="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    taken = await _cli("users", "add", "--name", "zhaoliu", "--password-stdin", "--config", str(config_file),
                       stdin=PASSWORD + "\n")
    assert taken.exit_code == 2 and "already exists" in taken.output
