"""`township-agent`: run the agent, ask a running agent for its status, make it sync now; back up, restore and
check the installation (doctor)."""

from __future__ import annotations

import sys

import aiohttp
import click

from agent.config import AgentConfig, load_config
from agent.errors import ConfigError
from ops.logs import configure_logging

config_option = click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
                             help="The agent's TOML config file.")


def _load(path: str) -> AgentConfig:
    try:
        return load_config(path)
    except ConfigError as e:
        click.echo(f"配置错误 / config error: {e}", err=True)
        sys.exit(2)


@click.group()
def main() -> None:
    """Township convenience-service centre agent (乡镇便民服务中心 办件代理)."""


@main.command()
@config_option
def run(config_path: str) -> None:
    """Serve the local page and API, and sync with the county server."""
    from agent.app import build_app
    from ops import serve
    from ops.runlock import DatabaseInUse

    config = _load(config_path)
    configure_logging(config.log_level)
    try:
        serve.run(build_app(config), host=config.host, port=config.port, name="township-agent")
    except DatabaseInUse as e:
        click.echo(f"cannot start: {e}", err=True)
        sys.exit(1)
    except OSError as e:
        click.echo(f"cannot start: {e}", err=True)
        sys.exit(1)


def _local(config: AgentConfig, method: str, path: str, timeout_s: float = 10) -> dict:
    import asyncio

    from agent.http.signin import ops_token_path

    try:  # the agent's operations token, written at its start (agent/http/signin.py)
        headers = {"Authorization": f"Bearer {ops_token_path(config.database).read_text().strip()}"}
    except OSError:
        headers = {}

    async def go() -> dict:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s), headers=headers) as s:
            # A change goes as JSON: the agent refuses anything else that is not a GET (agent/http/guard.py).
            body: dict[str, object] | None = {} if method != "GET" else None
            async with s.request(method, config.local_url + path, json=body) as resp:
                return await resp.json()

    try:
        answer = asyncio.run(go())
    except (aiohttp.ClientError, OSError, TimeoutError) as e:
        click.echo(f"the agent at {config.local_url} does not answer ({e}); is `township-agent run` running?",
                   err=True)
        sys.exit(2)
    if answer.get("code") == "sign_in_required":
        click.echo(f"the agent wants its operations token ({ops_token_path(config.database)}, readable by the agent's "
                   "user only): run this as that user, e.g. sudo -u township-agent township-agent ...", err=True)
        sys.exit(2)
    return answer


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(config_path: str, as_json: bool) -> None:
    """Show pending events, last sync and errors. Exits 1 when something needs attention."""
    config = _load(config_path)
    body = _local(config, "GET", "/api/status")
    if as_json:
        import json

        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(f"agent        {body['agent_id']} (township {body['township']}, v{body['version']})")
        click.echo(f"county       {body['county_url']}")
        click.echo(f"pending      {body['pending']} events waiting to upload")
        click.echo(f"last sync    {body['last_sync_at'] or 'never'}")
        click.echo(f"clock offset {body['clock_offset_ms'] if body['clock_offset_ms'] is not None else '?'} ms")
        click.echo(f"last error   {body['last_error'] or '-'}")
        for q in body["quarantined"]:
            click.echo(f"quarantined  seq={q['seq']} {q['kind']} {q['code']}: {q['message']}")
    sys.exit(1 if body["last_error"] or body["quarantined"] else 0)


@main.command()
@config_option
def sync(config_path: str) -> None:
    """Sync now; shows a progress bar while a backlog uploads."""
    config = _load(config_path)
    total = _local(config, "GET", "/api/status")["pending"]
    with click.progressbar(length=total, label="uploading events", show_pos=True) as bar:
        while True:
            summary = _local(config, "POST", "/api/sync?max_batches=1", timeout_s=600)
            bar.update(summary["synced"] + summary["refused"])
            if not summary["ok"] or summary["pending"] == 0 or summary["batches"] == 0:
                break
    if summary["ok"]:
        click.echo(f"synced; {summary['pending']} events pending, {summary['refused']} refused in the last batch")
    else:
        click.echo(f"sync failed: {summary['error']}", err=True)
        sys.exit(1)



@main.group()
def staff() -> None:
    """The township's staff who sign in on the page (工作人员): set up the first lead, reset a PIN."""


@staff.command("add")
@config_option
@click.option("--id", "staff_id", required=True, help="Staff id (工号): letters, digits, - and _.")
@click.option("--name", required=True, help="The staff member's name (姓名).")
@click.option("--lead", is_flag=True, help="The township's lead (负责人), who manages staff on the page.")
@click.option("--secret", prompt="PIN 或密码", hide_input=True, confirmation_prompt=True,
              help="PIN (6+ digits) or password (8+ characters); asked for when not given.")
def staff_add(config_path: str, staff_id: str, name: str, lead: bool, secret: str) -> None:
    """Add a staff member on this PC; the county and the township's other PCs get it at the next sync."""
    _staff_command(config_path, lambda desk: desk.add(None, staff_id, name, "lead" if lead else "clerk", secret))
    click.echo(f"staff {staff_id} ({name}) added as {'lead' if lead else 'clerk'}; it reaches the county and the "
               "township's other PCs at the next sync")


@staff.command("passwd")
@config_option
@click.option("--id", "staff_id", required=True, help="Staff id (工号).")
@click.option("--secret", prompt="新 PIN 或密码", hide_input=True, confirmation_prompt=True)
def staff_passwd(config_path: str, staff_id: str, secret: str) -> None:
    """Set a staff member's PIN or password (and end their lock)."""
    _staff_command(config_path, lambda desk: desk.change(None, staff_id, secret=secret))
    click.echo(f"staff {staff_id}: new PIN or password set")


@staff.command("list")
@config_option
def staff_list(config_path: str) -> None:
    """The township's staff as this PC knows them."""
    import asyncio

    from agent.store import AgentStore

    async def go() -> None:
        store = await AgentStore.open(_load(config_path).database)
        try:
            for m in await store.staff_members():
                state = "disabled" if m.is_disabled else "active"
                click.echo(f"{m.staff_id}\t{m.name}\t{m.role}\t{state}\trev {m.rev}")
        finally:
            await store.close()

    asyncio.run(go())


def _staff_command(config_path: str, change) -> None:
    import asyncio

    from agent.errors import InvalidInput, StaffRefused
    from agent.staff import StaffDesk
    from agent.store import AgentStore
    from protocol.codes import message_of

    async def go() -> None:
        store = await AgentStore.open(_load(config_path).database)
        try:
            await change(StaffDesk(store))
        finally:
            await store.close()

    try:
        asyncio.run(go())
    except InvalidInput as e:
        click.echo(f"{e.message}: " + "; ".join(f"{k}: {v}" for k, v in e.fields.items()), err=True)
        sys.exit(2)
    except StaffRefused as e:
        click.echo(f"{message_of(e.code)} ({e.detail or e.code})", err=True)
        sys.exit(2)


def _restore_next_steps(config: AgentConfig) -> str:
    return ("next: this PC must not upload under its old identity. On the county server run\n"
            f"  county-server agents add --township {config.township_code} --name NAME\n"
            "put the printed token in county.token, then start township-agent.")


def _add_operations_commands() -> None:
    from agent import maintenance
    from agent.doctor import run_checks
    from ops import commands

    database = lambda config: config.database  # noqa: E731
    main.add_command(commands.backup_command("township-agent", config_option, _load, database,
                                             maintenance.REQUIRED_TABLES))
    main.add_command(commands.restore_command(config_option, _load, database, maintenance.REQUIRED_TABLES,
                                              _restore_next_steps, prepare=maintenance.retire_on_restore))
    main.add_command(commands.doctor_command(config_option, _load, "config, database, disk, county connection, "
                                             "token and clock", run_checks))


_add_operations_commands()
