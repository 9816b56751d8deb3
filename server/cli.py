"""`county-server`: serve, agents add/list, rollups verify/rebuild. Each command: load config, call one function,
print. A bad or missing config value prints one clear line and exits with status 2."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from ops.logs import configure_logging
from server.accounts.agents import register_agent, register_unit_agent
from server.accounts.audit import LOCAL, AuditTrail, cli_actor, details
from server.accounts.roles import COUNTY_ADMIN, ROLES
from server.admin import rollups as maintenance
from server.app import build_app, open_store
from server.config import ServerConfig, load_config
from server.errors import ConfigError, UnknownTownship
from server.interpreter import tune_for_ingest

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_CONFIG = "/etc/county-server/server.toml"

config_option = click.option(
    "--config", "config_path", envvar="COUNTY_SERVER_CONFIG", default=DEFAULT_CONFIG, show_default=True,
    type=click.Path(dir_okay=False), help="Server config file (TOML); env COUNTY_SERVER_CONFIG.")


def _load(config_path: str) -> ServerConfig:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _keys(config: ServerConfig) -> Any:
    """The county's keyring (server.keys), made when there is none."""
    from server import keys

    try:
        return keys.load_or_create(config.key_file)
    except ConfigError as exc:
        _fail(str(exc))


def _run(config: ServerConfig, work: Callable[..., Awaitable[T]]) -> T:
    """Open the store, run `work(store, reference)`, close the store."""

    async def main() -> T:
        store, reference = await open_store(config)
        try:
            return await work(store, reference)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        _fail(str(exc))


async def _record(store: Any, action: str, target: str | None, outcome: str = "ok", detail: str | None = None
                  ) -> None:
    """An audit entry for what an admin did at the server's console."""
    await AuditTrail(store).record(action, actor=cli_actor(), address=LOCAL, outcome=outcome, target=target,
                                   detail=detail)


@click.group()
def main() -> None:
    """County server for township convenience-service centres (乡镇便民服务中心)."""


@main.command()
@config_option
def serve(config_path: str) -> None:
    """Run the HTTP server."""
    from ops import serve as service
    from ops.runlock import DatabaseInUse

    config = _load(config_path)
    configure_logging(config.log_level)
    tune_for_ingest()
    ssl_context = None
    if config.tls_cert_file is not None and config.tls_key_file is not None:
        from ops.tls import server_context

        try:
            ssl_context = server_context(config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            _fail(f"{config.source}: [tls] cert_file / key_file / client_ca_file: {exc}")
    log.info("server listening url=%s", _server_url(config))
    # READY=1 once listening, watchdog on a database probe, SIGTERM drains requests and closes the store.
    try:
        service.run(build_app(config), host=config.host, port=config.port, name="county-server",
                    ssl_context=ssl_context)
    except ConfigError as exc:
        _fail(str(exc))
    except (DatabaseInUse, OSError) as exc:
        click.echo(f"cannot start: {exc}", err=True)
        sys.exit(1)


@main.group()
def agents() -> None:
    """Township PCs allowed to push (one token each)."""


@agents.command("add")
@click.option("--township", help="Township code: 9 digits or the 12-digit code, e.g. 513422100. A county's own "
              "code is refused: its hall's PCs are added with --unit.")
@click.option("--unit", help="An org unit with PCs of its own, by its 12-digit code: a county's, prefecture's or "
              "province's service hall (政务服务大厅, kind hall in the org units), e.g. 513422000000, or a "
              "township's centre.")
@click.option("--name", required=True, help="A name for this PC, e.g. '乔瓦镇 窗口1'.")
@click.option("--json", "as_json", is_flag=True, help='Print {"agent_id": ..., "token": ...}.')
@config_option
def agents_add(township: str | None, unit: str | None, name: str, as_json: bool, config_path: str) -> None:
    """Register a township's (or a hall's) PC and print its token (shown once; only its hash is stored)."""
    if (township is None) == (unit is None):
        _fail("give either --township CODE or --unit CODE")
    config = _load(config_path)

    async def work(store: Any, reference: Any) -> tuple[Any, str]:
        try:
            if unit is not None:
                record, token = await register_unit_agent(store, reference, unit, name)
            else:
                record, token = await register_agent(store, reference, township or "", name)
        except UnknownTownship:
            await _record(store, "agent_added", None, "failed", details(township=(township or unit or "")[:20]))
            raise
        await _record(store, "agent_added", record.agent_id, detail=details(township=record.township_code,
                                                                             name=record.name))
        return record, token

    try:
        record, token = _run(config, work)
    except UnknownTownship as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps({"agent_id": record.agent_id, "township_code": record.township_code,
                               "name": record.name, "token": token}, ensure_ascii=False))
        return
    click.echo(f"Agent {record.agent_id} ({record.name}) added for unit {record.township_code}.")
    click.echo("Its token, shown only this once; put it in the agent's config as [county] token:")
    click.echo(token)


@agents.command("rotate-token")
@click.option("--agent", "agent_id", required=True, help="The agent id, e.g. 513422100-a1b2c3 (see `agents list`).")
@config_option
def agents_rotate_token(agent_id: str, config_path: str) -> None:
    """Give a PC a new token (same identity); the old token stops working within a minute. Prints it once."""
    from server.accounts.agents import rotate_token

    async def work(store: Any, reference: Any) -> str | None:
        token = await rotate_token(store, agent_id)
        await _record(store, "agent_token_rotated", agent_id, "ok" if token else "failed")
        return token

    token = _run(_load(config_path), work)
    if token is None:
        _fail(f"no agent {agent_id}; see `county-server agents list`")
    click.echo(f"New token of {agent_id}, shown only this once; put it in the agent's config as [county] token:")
    click.echo(token)


@agents.command("revoke")
@click.argument("agent_id")
@config_option
def agents_revoke(agent_id: str, config_path: str) -> None:
    """Revoke a PC (stolen, retired): its token is refused from its next request on; its events stay. Re-admit it
    with `agents rotate-token`."""
    from server.accounts.agents import revoke_agent

    async def work(store: Any, reference: Any) -> bool:
        done = await revoke_agent(store, agent_id)
        await _record(store, "agent_revoked", agent_id, "ok" if done else "failed")
        return done

    if not _run(_load(config_path), work):
        _fail(f"no agent {agent_id}; see `county-server agents list`")
    click.echo(f"Agent {agent_id} revoked: its uploads are refused (agent_revoked). To let it upload again: "
               f"county-server agents rotate-token --agent {agent_id}")


@agents.command("bind-cert")
@click.option("--agent", "agent_id", required=True, help="The agent id (see `agents list`).")
@click.option("--cert-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The PC's client certificate (PEM or DER), signed by [tls] client_ca_file.")
@click.option("--unbind", is_flag=True, help="Remove the binding instead.")
@config_option
def agents_bind_cert(agent_id: str, cert_file: str | None, unbind: bool, config_path: str) -> None:
    """Bind a PC to its TLS client certificate: its token then works only over a connection that presents that
    certificate (the server's own HTTPS with [tls] client_ca_file)."""

    from ops.tls import file_sha256

    if unbind == (cert_file is not None):
        _fail("give --cert-file FILE, or --unbind")
    try:
        sha256 = None if cert_file is None else file_sha256(Path(cert_file))
    except ValueError as exc:
        _fail(str(exc))

    async def work(store: Any, reference: Any) -> bool:
        try:
            done = await store.bind_agent_cert(agent_id, sha256)
        except ValueError:
            await _record(store, "agent_cert_bound", agent_id, "failed", details(reason="certificate of another PC"))
            raise
        await _record(store, "agent_cert_bound", agent_id, "ok" if done else "failed",
                      details(cert_sha256=sha256, unbound=unbind or None))
        return done

    try:
        done = _run(_load(config_path), work)
    except ValueError as exc:
        _fail(f"{exc}; `agents bind-cert --agent OTHER --unbind` first")
    if not done:
        _fail(f"no agent {agent_id}; see `county-server agents list`")
    click.echo(f"Agent {agent_id} unbound from its certificate." if unbind else
               f"Agent {agent_id} bound to the certificate sha256={sha256}.")


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per agent.")
@config_option
def agents_list(as_json: bool, config_path: str) -> None:
    """List registered agents with their acknowledged seq and last push."""
    config = _load(config_path)

    async def work(store: Any, reference: Any) -> list[Any]:
        return await store.list_agents()

    records = _run(config, work)
    for r in records:
        if as_json:
            click.echo(json.dumps({"agent_id": r.agent_id, "township_code": r.township_code, "name": r.name,
                                   "created_at": r.created_at, "acked_seq": r.acked_seq,
                                   "last_push_at": r.last_push_at, "pending": r.pending,
                                   "revoked_at": r.revoked_at}, ensure_ascii=False))
        else:
            click.echo(f"{r.agent_id}  {r.name}  acked_seq={r.acked_seq}  last_push_at={r.last_push_at or '-'}  "
                       f"pending={'-' if r.pending is None else r.pending}"
                       + (f"  revoked_at={r.revoked_at}" if r.revoked_at else ""))
    if not records and not as_json:
        click.echo("no agents; add one with `county-server agents add --township CODE --name NAME`")


@main.group()
def rollups() -> None:
    """Check or rebuild the figures from the cases."""


@rollups.command("verify")
@config_option
def rollups_verify(config_path: str) -> None:
    """Refold every case from its events and recompute every rollup row from the cases; print differences and exit
    1 if there are any."""
    from server.admin.cases import verify_cases

    config = _load(config_path)

    async def work(store: Any, reference: Any) -> tuple[list[Any], list[Any]]:
        return await verify_cases(store, reference.items, _keys(config)), await maintenance.verify_rollups(store)

    cases, differences = _run(config, work)
    for c in cases:
        click.echo(f"case {c.case_no or c.case_id} {c.field}: stored={c.stored!r} refolded={c.expected!r}")
    for d in differences:
        click.echo(f"{d.table} {' '.join(d.key)} {d.metric}: stored={d.stored} expected={d.expected}")
    if cases:
        click.echo(f"{len(cases)} case difference(s); `county-server cases refold` folds them again and rebuilds "
                   "the rollups", err=True)
    if differences:
        click.echo(f"{len(differences)} difference(s); `county-server rollups rebuild` recomputes them", err=True)
    if cases or differences:
        sys.exit(1)
    click.echo("cases match their events; rollups match the cases")


@rollups.command("rebuild")
@config_option
def rollups_rebuild(config_path: str) -> None:
    """Replace every rollup row by a recomputation from the cases (one transaction)."""
    config = _load(config_path)
    rows = _run(config, lambda store, reference: maintenance.rebuild_rollups(store))
    click.echo(f"rollups rebuilt: {rows} row(s)")


@main.group()
def storage() -> None:
    """Move the county's data between storage backends."""


@storage.command("copy")
@click.option("--to", "target", type=click.Choice(["postgres"]), required=True,
              help="The backend to copy into: [storage] dsn of the config names the database.")
@config_option
def storage_copy(target: str, config_path: str) -> None:
    """Copy the SQLite database ([server] database) into the empty PostgreSQL database of [storage] dsn, then
    verify the copy's rollups. Then set [storage] backend = "postgres" and restart the server."""
    from server.admin.rollups import verify_rollups
    from server.storage.postgres.copy import CopyRefused, copy_sqlite_to_postgres
    from server.storage.postgres.store import PostgresStore

    config = _load(config_path)
    if not config.postgres_dsn:
        _fail("[storage] dsn is empty: name the PostgreSQL database to copy into")
    if not config.database.exists():
        _fail(f"{config.database} does not exist: nothing to copy")

    async def work() -> tuple[dict[str, int], list[Any]]:
        store = PostgresStore(config.postgres_dsn, 2, files=config.database)
        await store.open()
        try:
            copied = await copy_sqlite_to_postgres(config.database, store)
            return copied, await verify_rollups(store)
        finally:
            await store.close()

    try:
        copied, differences = asyncio.run(work())
    except CopyRefused as exc:
        _fail(str(exc))
    for table, n in sorted(copied.items()):
        click.echo(f"{table}: {n} rows")
    if differences:
        click.echo(f"{len(differences)} rollup difference(s) in the copy; `county-server rollups rebuild` with "
                   "backend = \"postgres\" recomputes them", err=True)
        sys.exit(1)
    click.echo("copied; rollups match the cases. Set [storage] backend = \"postgres\" and restart the server.")


@storage.command("backup")
@click.option("--to", "dest", type=click.Path(dir_okay=False), required=True, help="Write the dump to this file.")
@config_option
def storage_backup(dest: str, config_path: str) -> None:
    """PostgreSQL backend: pg_dump of the database (a consistent snapshot while the servers run), then the scanned
    materials' files into FILE.attachments/. The same as `county-server backup --to FILE`."""
    from ops.sqlite_backup import BackupError, files_of

    try:
        info = _dump(_postgres_config(config_path), Path(dest), None)
    except BackupError as exc:
        click.echo(f"backup failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"backup written: {dest} (pg_dump custom format; restore with `county-server storage restore`)")
    if info.files:
        click.echo(f"files: {info.files} in {files_of(Path(dest))} ({info.files_copied} copied)")


@storage.command("restore")
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False), required=True,
              help="A dump written by `storage backup` or `backup`.")
@config_option
def storage_restore(source: str, config_path: str) -> None:
    """PostgreSQL backend: replace the database by a dump (refused while a server or command is connected) and put
    the files of FILE.attachments/ back; PCs send again what the dump lacks and pull their township from the
    beginning. The same as `county-server restore --from FILE`."""
    from ops.runlock import DatabaseInUse
    from ops.sqlite_backup import BackupError

    config = _postgres_config(config_path)
    try:
        done = _restore_dump(config, Path(source))
    except DatabaseInUse as exc:
        click.echo(f"restore refused: {exc}", err=True)
        sys.exit(1)
    except BackupError as exc:
        click.echo(f"restore failed: {exc}", err=True)
        sys.exit(1)
    for line in done:
        click.echo(line)
    click.echo(_after_restore(config))


def _postgres_config(config_path: str) -> ServerConfig:
    config = _load(config_path)
    if config.storage_backend != "postgres":
        _fail('[storage] backend is not "postgres": `county-server backup` and `restore` copy the SQLite file')
    return config


def _dump(config: ServerConfig, dest: Path, previous: Path | None) -> Any:
    """pg_dump of the county's PostgreSQL database into `dest` and its files beside it (those of `previous`, the last
    dated dump, linked): `ops.sqlite_backup.BackupInfo`. Raises BackupError."""
    from ops.sqlite_backup import BackupError
    from server.admin.operations import REQUIRED_TABLES
    from server.storage.postgres import dump

    try:
        return dump.backup(config.postgres_dsn, dest, config.database, REQUIRED_TABLES, previous=previous)
    except (dump.DumpError, OSError) as exc:
        raise BackupError(str(exc)) from exc


def _restore_dump(config: ServerConfig, source: Path) -> list[str]:
    """pg_restore of a dump into the county's PostgreSQL database, its files put back: what to print. Raises
    DatabaseInUse while a server or command is connected, BackupError when it fails."""
    from ops.runlock import DatabaseInUse
    from ops.sqlite_backup import BackupError
    from server.storage.postgres import dump

    try:
        stream, files, copied = asyncio.run(dump.restore(config.postgres_dsn, source, config.database))
    except dump.InUse as exc:
        raise DatabaseInUse(str(exc)) from exc
    except (dump.DumpError, OSError) as exc:
        raise BackupError(str(exc)) from exc
    schema = dump.libpq_dsn(config.postgres_dsn)[1] or "public"
    return ([f"files: {files} from {source}.attachments ({copied} copied)"] if files else []) + [
        f"restored schema {schema} of [storage] dsn from {source} (new stream {stream})"]


def _after_restore(config: ServerConfig) -> str:
    servers = "every server of the database" if config.storage_backend == "postgres" else "the server"
    return (f"start {servers}; township PCs send again whatever the backup lacks at their next sync, and pull their "
            "township from the beginning.")


@main.group()
def cases() -> None:
    """The folded cases."""


@cases.command("refold")
@config_option
def cases_refold(config_path: str) -> None:
    """Fold every case again from its events (in causal order) and rebuild the rollups; report what changed. The
    server does this by itself at its first start after the upgrade; safe beside a running server."""
    from server.admin.cases import refold_all

    config = _load(config_path)
    report = _run(config, lambda store, reference: refold_all(store, reference.items, _keys(config)))
    for d in report.differences[:20]:
        click.echo(f"case {d.case_no or d.case_id} {d.field}: was {d.stored!r}, now {d.expected!r}")
    if len(report.differences) > 20:
        click.echo(f"... and {len(report.differences) - 20} more")
    by_field = ", ".join(f"{f} {n}" for f, n in sorted(report.fields.items())) or "none"
    click.echo(f"cases changed: {report.cases_changed} (by field: {by_field}); rollups rebuilt: "
               f"{report.rollup_rows} row(s)")


@main.group()
def users() -> None:
    """Dashboard accounts of county admins (passwords stored as scrypt hashes)."""


def _server_url(config: ServerConfig) -> str:
    return f"{'https' if config.tls_cert_file else 'http'}://{config.host}:{config.port}"


def _dashboard_url(config: ServerConfig) -> str:
    return f"{_server_url(config)}/dashboard/"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _with_accounts(config: ServerConfig, use: Callable[[Any], Awaitable[T]],
                   audit: tuple[str, str, str | None] | None = None) -> T:
    """Run `use(accounts)`; `audit` (action, account, detail) is recorded with its outcome."""
    from server.accounts.users import Accounts
    from server.storage.choose import make_dashboard_store

    async def work(store: Any, reference: Any) -> T:
        dashboard_store = make_dashboard_store(store)
        await dashboard_store.open()
        try:
            result = await use(Accounts(dashboard_store, config.session_idle_minutes))
        except ValueError as exc:
            if audit is not None:
                await _record(store, audit[0], audit[1], "failed", details(reason=str(exc)[:200]))
            raise
        finally:
            await dashboard_store.close()
        if audit is not None:
            await _record(store, audit[0], audit[1], "ok", audit[2])
        return result

    try:
        return _run(config, work)
    except ValueError as exc:
        _fail(str(exc))


@users.command("add")
@click.option("--name", required=True, help="Login name, e.g. zhangsan.")
@click.option("--role", type=click.Choice(ROLES), default=COUNTY_ADMIN, show_default=True,
              help="county_admin: the whole county; township_viewer: only --township; auditor: read-only, and the "
                   "audit log.")
@click.option("--township", default=None, help="The township of a township_viewer: 9 digits, e.g. 513422100.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@config_option
def users_add(name: str, role: str, township: str | None, password_stdin: bool, config_path: str) -> None:
    """Add a dashboard account with its role."""
    from server.accounts.agents import known_township
    from server.model.reference import load_reference

    config = _load(config_path)
    if township is not None:
        try:
            township = known_township(load_reference(config.org_units, config.catalog), township)
        except (UnknownTownship, ConfigError) as exc:
            _fail(str(exc))
    password = _password(password_stdin)
    _with_accounts(config, lambda accounts: accounts.add(name, password, role, township),
                   ("user_added", name, details(role=role, township=township)))
    scope = f"township {township}" if township else "the whole county"
    click.echo(f"Account {name} ({role}, {scope}) added; log in at {_dashboard_url(config)}")


@users.command("password")
@click.option("--name", required=True, help="The account's login name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@config_option
def users_password(name: str, password_stdin: bool, config_path: str) -> None:
    """Set a new password for an account (its open sessions end)."""
    config = _load(config_path)
    password = _password(password_stdin)
    _with_accounts(config, lambda accounts: accounts.set_password(name, password), ("user_password", name, None))
    click.echo(f"Password of {name} changed.")


@users.command("disable")
@click.argument("name")
@config_option
def users_disable(name: str, config_path: str) -> None:
    """Disable an account: its open sessions end at once and it cannot log in until enabled again."""
    _with_accounts(_load(config_path), lambda accounts: accounts.set_disabled(name, True),
                   ("user_disabled", name, None))
    click.echo(f"Account {name} disabled; its sessions have ended.")


@users.command("enable")
@click.argument("name")
@config_option
def users_enable(name: str, config_path: str) -> None:
    """Enable a disabled account again."""
    _with_accounts(_load(config_path), lambda accounts: accounts.set_disabled(name, False),
                   ("user_enabled", name, None))
    click.echo(f"Account {name} enabled.")


@users.command("unlock")
@click.argument("name", required=False)
@click.option("--address", default=None, help="A client address locked by failed logins (as the audit log names it).")
@config_option
def users_unlock(name: str | None, address: str | None, config_path: str) -> None:
    """End the login lock of an account name (or of a client address) before its time, and forget its failed
    logins. Locks are shared by every server process of the database and outlast a restart."""
    if (name is None) == (address is None):
        _fail("name an account or give --address, one of them")
    kind, value = ("name", name) if name is not None else ("address", address)
    assert value is not None
    _with_accounts(_load(config_path), lambda accounts: accounts.lift_login_lock(kind, value),
                   ("login_unlocked", name or "", details(address=address) if address else None))
    click.echo(f"Login lock of {kind} {value} lifted; its failed logins are forgotten.")


@users.command("list")
@config_option
def users_list(config_path: str) -> None:
    """List dashboard accounts."""
    config = _load(config_path)
    for record in _with_accounts(config, lambda accounts: accounts.list()):
        click.echo(f"{record.name}  role={record.role}"
                   f"{f'  township={record.township_code}' if record.township_code else ''}"
                   f"  created_at={record.created_at}"
                   f"{'  disabled' if record.is_disabled else ''}")



@main.group()
def audit() -> None:
    """The audit log (append-only; the auditor reads and exports it on the dashboard)."""


@audit.command("purge")
@config_option
def audit_purge(config_path: str) -> None:
    """Delete the entries older than [audit] retention_days (at least 183); the server does this once a day."""
    from server.admin.audit import purge_audit

    config = _load(config_path)
    removed = _run(config, lambda store, reference: purge_audit(store, config.audit_retention_days, cli_actor()))
    click.echo(f"audit entries older than {config.audit_retention_days} days purged: {removed}")


@audit.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@config_option
def audit_list(limit: int, config_path: str) -> None:
    """Print the newest entries, China time."""
    from server.reports.audit import china_time
    from server.storage.base import AuditQuery

    async def work(store: Any, reference: Any) -> list[Any]:
        return (await store.audit_entries(AuditQuery(limit=limit)))[1]

    for e in _run(_load(config_path), work):
        click.echo(f"{china_time(e.at)}  {e.actor}  {e.address}  {e.action}  {e.target or '-'}  {e.outcome}"
                   f"{'  ' + e.detail if e.detail else ''}")


def _add_operations_commands() -> None:
    from ops import commands
    from server.admin import operations

    def dumps(config: ServerConfig) -> commands.Dumps | None:
        """On PostgreSQL, `backup` and `restore` are `storage backup` and `storage restore`."""
        if config.storage_backend != "postgres":
            return None
        return commands.Dumps(".pgdump", lambda dest, previous: _dump(config, dest, previous),
                              lambda source: _restore_dump(config, source))

    backup = commands.backup_command("county-server", config_option, _load, lambda config: config.database,
                                     operations.REQUIRED_TABLES, dumps)
    backup.help = ("Copy the database while the servers run: a consistent snapshot, with the scanned materials' "
                   "files in <backup>.attachments/. SQLite: its online backup (dated backups end in .sqlite3); "
                   "PostgreSQL: pg_dump --format=custom, as `storage backup` (dated dumps end in .pgdump).")
    restore = commands.restore_command(config_option, _load, lambda config: config.database,
                                       operations.REQUIRED_TABLES, _after_restore,
                                       prepare=operations.new_stream_on_restore, dumps=dumps)
    restore.help = ("Replace the database with a backup (on PostgreSQL a dump, by pg_restore --clean, as `storage "
                    "restore`); refused while anything has the database open.")
    main.add_command(backup)
    main.add_command(restore)
    main.add_command(commands.doctor_command(config_option, _load, "config, reference files, database, disk and "
                                             "the running server", operations.run_checks))


_add_operations_commands()


@main.group("keys")
def keys_group() -> None:
    """The key file that seals ID numbers and phones in the database ([privacy] key_file)."""


@keys_group.command("init")
@config_option
def keys_init(config_path: str) -> None:
    """Make the key file (mode 0600); refuses to replace one that exists."""
    from server import keys

    config = _load(config_path)
    try:
        made = keys.create(config.key_file)
    except FileExistsError:
        _fail(f"{config.key_file} exists already; `keys rotate` makes a new key")
    _run(config, lambda store, reference: _record(store, "key_created", str(config.key_file),
                                                  detail=details(key_id=made.current.key_id)))
    click.echo(f"key file {config.key_file} made (key {made.current.key_id}); back it up apart from the database")


@keys_group.command("seal")
@config_option
def keys_seal(config_path: str) -> None:
    """Seal every ID number and phone stored in clear (data from before sealing), fill in the search hashes, and
    rewrite the database file without the old pages. Safe to run again."""
    config = _load(config_path)
    cases, events, refusals = _reseal(config, _keys(config), "data_sealed")
    click.echo(f"sealed: {cases} case(s), {events} event(s), {refusals} refused event(s)")


@keys_group.command("rotate")
@config_option
def keys_rotate(config_path: str) -> None:
    """Make a new current key, save the key file (the old keys stay in it, retired, for what was sealed with them
    and for backups made before), and seal everything stored again with the new key. Stop the server first and
    start it again after."""
    from server import keys

    config = _load(config_path)
    rotated = keys.load(config.key_file).rotated()
    # The file first: it holds the old keys too, so whatever the database holds opens at every moment, even if the
    # resealing below stops halfway (it is one transaction: then nothing of it happened; run it again).
    keys.save(config.key_file, rotated)
    cases, events, refusals = _reseal(config, rotated, "key_rotated")
    click.echo(f"key {rotated.current.key_id} is current; sealed again: {cases} case(s), {events} event(s), "
               f"{refusals} refused event(s)")


def _reseal(config: ServerConfig, keyring: Any, action: str) -> tuple[int, int, int]:
    """Seal everything again with the current key, and record `action` in the audit log (with the counts)."""
    from server.model import sealing

    def case(c: Any) -> Any:  # what is sealed with the current key already stays as it is
        return sealing.seal_case(keyring, c), sealing.search_keys(keyring, sealing.open_case(keyring, c))

    async def work(store: Any, reference: Any) -> tuple[int, int, int]:
        counts = await store.reseal(case, lambda kind, data: sealing.seal_event_data(keyring, kind, data),
                                    lambda body: sealing.seal_blob(keyring, body))
        await _record(store, action, str(config.key_file), detail=details(
            key_id=keyring.current.key_id, cases=counts[0], events=counts[1], refused=counts[2]))
        return counts

    return _run(config, work)
