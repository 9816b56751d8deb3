"""ID numbers and phones at rest on the county: sealed in the database and its backups, in clear for the township's
PCs, masked on the dashboard as before; data stored before sealing is sealed by `keys seal`; `keys rotate` seals
everything again under a new key. Real server app on loopback, real SQLite files (or PostgreSQL's, under
TEST_SERVER_BACKEND=postgres: its tables' files and a pg_dump), the real CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from server import keys
from server.cli import main
from server.http.common import KEYS, REFERENCE, STORE
from server.ingest.ingestor import Ingestor
from server.model.sealing import Keyring, SealError
from server.storage.base import AgentRecord
from tests import database
from tests.server.helpers import QIAOWA, CountyServer, TownshipAgent, backup_args, backup_name

ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"


async def cli(*args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def push_case(server: CountyServer, agent: TownshipAgent, **data: str) -> dict:
    accepted = agent.accepted(cert_no=ID_NUMBER, phone=PHONE, **data)
    updated = agent.event("updated", accepted["case_id"], "2026-03-03", {"phone": "13800001111"})
    # A refused event keeps its body as sent: an ID number in a malformed event too.
    bad = agent.event("accepted", accepted["case_id"], "2026-03-03", {"cert_no": ID_NUMBER, "oops": 1})
    answer = await server.push(agent, [accepted, updated, bad])
    assert answer["stored"] == 2 and len(answer["refused"]) == 1, answer
    return accepted


async def test_the_database_and_its_backup_hold_no_id_number_or_phone_yet_every_reader_gets_them(
        county_server: CountyServer, tmp_path: Path) -> None:
    agent, other_pc = await county_server.add_agent(), await county_server.add_agent(name="窗口2")
    accepted = await push_case(county_server, agent)
    config = county_server.config
    assert config.key_file.stat().st_mode & 0o777 == 0o600
    personal = (ID_NUMBER, PHONE, "13800001111", ID_NUMBER[-4:] + '"')
    raw = database.stored_bytes(config)  # the database's files, as a thief would copy them
    assert accepted["case_id"].encode() in raw and "扎西".encode() in raw  # the rows are there, in clear
    for secret in personal:
        assert secret.encode() not in raw, secret
    backup = tmp_path / backup_name(config)
    await cli(*backup_args(config, backup))
    held = database.backup_bytes(config, backup)
    assert accepted["case_id"].encode() in held and "扎西".encode() in held
    for secret in personal:
        assert secret.encode() not in held, secret
    # The township's other PC pulls the events in clear.
    async with county_server.session.post(f"{county_server.url}/api/v1/sync/pull", json={},
                                          headers={"Authorization": f"Bearer {other_pc.token}"}) as r:
        pulled = (await r.json())["events"]
    assert [(e["data"].get("cert_no"), e["data"].get("phone")) for e in pulled] == [
        (ID_NUMBER, PHONE), (None, "13800001111")]
    # The dashboard masks the number as before (it opens it only to mask it).
    status, listed = await county_server.get(f"/api/v1/cases?figure=accepted&org={QIAOWA}&period=2026")
    assert status == 200
    [row] = [r for r in listed["rows"] if r["case_id"] == accepted["case_id"]]
    assert row["cert_no_masked"].startswith("1101") and row["cert_no_masked"].endswith("002X")
    assert "*" in row["cert_no_masked"]
    # Search by the whole number, the phone, or the last 4 goes by keyed hash.
    for q, found in [(ID_NUMBER, True), (ID_NUMBER.lower(), True), ("13800001111", True), ("138-0000-1111", True),
                     (ID_NUMBER[-4:], True), (PHONE, False), ("110105194912310038", False), ("9999", False)]:
        status, listed = await county_server.get(f"/api/v1/cases?figure=accepted&org={QIAOWA}&period=2026&q={q}")
        assert status == 200, listed
        assert [r["case_id"] for r in listed["rows"]] == ([accepted["case_id"]] if found else []), q
    status, refused = await county_server.get("/api/v1/cases?figure=accepted&q=abc")
    assert status == 422 and refused["code"] == "invalid_filter"
    # The admin's check of the cases against their events sees them in clear: no difference.
    assert "cases match their events" in await cli("rollups", "verify", "--config", str(config.source))


async def test_data_stored_before_sealing_is_sealed_by_the_cli_and_rotation_seals_it_again(
        county_server: CountyServer, tmp_path: Path) -> None:
    agent = await county_server.add_agent()
    # A server from before sealing stored this case in clear.
    store = county_server.app[STORE]
    plain = Ingestor(store, county_server.app[REFERENCE])
    ev = agent.accepted(cert_no=ID_NUMBER, phone=PHONE)
    body = json.dumps({"agent_id": agent.agent_id, "events": [ev]}, ensure_ascii=False).encode()
    await plain.push_body(agent_record(agent), body)
    config = county_server.config
    with database.connect(config) as db:
        (digest_before,) = db.execute("SELECT digest FROM cases WHERE case_id = ?", (ev["case_id"],)).fetchone()
    assert ID_NUMBER.encode() in database.stored_bytes(config)

    out = await cli("keys", "seal", "--config", str(config.source))
    assert "sealed: 1 case(s), 1 event(s)" in out
    assert ID_NUMBER.encode() not in database.stored_bytes(config)  # the old row versions are gone too
    with database.connect(config) as db:
        body, digest, cert_hash = db.execute("SELECT body, digest, cert_hash FROM cases WHERE case_id = ?",
                                             (ev["case_id"],)).fetchone()
    assert digest == digest_before and cert_hash and '"cert_no":"enc1:k1:' in body
    assert "sealed: 0 case(s), 0 event(s)" in await cli("keys", "seal", "--config", str(config.source))

    out = await cli("keys", "rotate", "--config", str(config.source))
    assert "key k2 is current" in out
    ring = keys.load(config.key_file)
    assert ring.current.key_id == "k2" and ring.keys["k1"].retired
    with database.connect(config) as db:
        body, digest = db.execute("SELECT body, digest FROM cases WHERE case_id = ?", (ev["case_id"],)).fetchone()
        (data,) = db.execute("SELECT data FROM events WHERE event_id = ?", (ev["event_id"],)).fetchone()
    assert '"cert_no":"enc1:k2:' in body and '"cert_no":"enc1:k2:' in data and digest == digest_before
    assert ring.open(json.loads(body)["cert_no"], "cert_no") == ID_NUMBER


async def test_a_key_file_that_does_not_open_the_database_is_an_error_not_a_guess(county_server: CountyServer
                                                                                    ) -> None:
    keyring = county_server.app[KEYS]
    sealed = keyring.seal(ID_NUMBER, "cert_no")
    assert keyring.open(sealed, "cert_no") == ID_NUMBER
    with pytest.raises(SealError):
        Keyring.new("k1").open(sealed, "cert_no")  # another installation's key of the same id
    with pytest.raises(SealError):
        keyring.open(sealed, "phone")  # a sealed ID number passed off as a phone
    middle = len(sealed) - 20  # inside the ciphertext, away from base64 padding
    tampered = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1:]
    with pytest.raises(SealError):
        keyring.open(tampered, "cert_no")


def agent_record(agent: TownshipAgent) -> AgentRecord:
    return AgentRecord(agent_id=agent.agent_id, township_code=agent.township, name="窗口1",
                       created_at="2026-01-01T00:00:00+00:00")
