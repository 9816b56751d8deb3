"""Which identity this database pushes under, and from which seq: the agent's "incarnation".

The county acknowledges events per agent by a gap-free `seq` and refuses an `(agent_id, seq)` that comes back with
another `event_id` (`seq_reused`). A database restored from a backup, or reset, would hand out seqs the county
has already seen, so it must not push under its old identity:

- `restore` retires the configured agent id in the restored copy (`identity_retired` in `meta`);
- a `seq_reused` refusal retires the current agent id at once, so later events are not refused one by one;
- a retired identity does not push; staff keep working and events queue. The operator registers the PC again
  (`county-server agents add`) and puts the new token in `county.token`;
- at the next start the new agent id begins a new incarnation (`AgentStore.begin_incarnation`): seqs restart at 1
  from the first event the county may lack, so nothing is reused and nothing leaves a gap. Events the county
  already holds under an earlier identity of this database come back refused as `event_id_reused`, naming that
  identity: `Identity.is_own_earlier` recognises them, and they count as delivered, not as refused.

Rotating only the secret of a token (same agent id) changes nothing here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.store import AgentStore
from protocol.messages import Refusal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    agent_id: str
    seq_base: int = 0  # local seq - wire seq
    retired_reason: str | None = None  # set: this database may not push under `agent_id`
    previous: frozenset[str] = frozenset()  # earlier identities of this database

    @property
    def is_retired(self) -> bool:
        return self.retired_reason is not None

    def is_own_earlier(self, refusal: Refusal) -> bool:
        """The county refused an event only because it already holds it from an earlier identity of this
        database: same event_id, made here (a uuid7 of this database's lineage), so the same event."""
        text = f"{refusal.message} {refusal.detail or ''}"
        return refusal.code == "event_id_reused" and any(f"stored as {a} " in text for a in self.previous)

    def hint(self) -> str:
        return (f"agent {self.agent_id} may not push from this database ({self.retired_reason}): register this PC "
                "again with `county-server agents add` and put the new token in county.token, then restart")


def retired_ids(meta: dict[str, str]) -> set[str]:
    return {a for a in meta.get("identity_retired", "").split(",") if a}


def _previous(meta: dict[str, str], agent_id: str) -> frozenset[str]:
    known = retired_ids(meta) | {a for a in meta.get("identity_previous", "").split(",") if a}
    if meta.get("identity_agent_id"):
        known.add(meta["identity_agent_id"])
    return frozenset(known - {agent_id})


async def resolve_identity(store: AgentStore, agent_id: str) -> Identity:
    """The identity to push under, starting a new incarnation when the configured agent id changed."""
    meta = await store.get_meta()
    previous = _previous(meta, agent_id)
    if agent_id in retired_ids(meta):
        identity = Identity(agent_id, retired_reason=meta.get("identity_retired_reason") or "retired",
                            previous=previous)
        log.warning("identity retired, not pushing agent_id=%s", agent_id)
        return identity
    if meta.get("identity_agent_id") == agent_id:
        return Identity(agent_id, int(meta.get("identity_seq_base") or 0), previous=previous)
    if not meta.get("identity_agent_id") and not retired_ids(meta):
        # First start of this database (or one from before identities were recorded): seqs are the local ones.
        await store.set_meta(identity_agent_id=agent_id, identity_seq_base=0)
        return Identity(agent_id, 0)
    base, to_send = await store.begin_incarnation(agent_id)
    await store.set_meta(identity_previous=",".join(sorted(previous)))
    log.info("identity new incarnation agent_id=%s previous=%s seq_base=%d to_send=%d", agent_id,
             meta.get("identity_agent_id") or "-", base, to_send)
    return Identity(agent_id, base, previous=previous)


async def retire(store: AgentStore, identity: Identity, reason: str) -> Identity:
    """Stop pushing under `identity` for good (see the module docstring)."""
    meta = await store.get_meta()
    await store.set_meta(identity_retired=",".join(sorted(retired_ids(meta) | {identity.agent_id})),
                         identity_retired_reason=reason)
    log.warning("identity retired agent_id=%s reason=%s", identity.agent_id, reason.replace(" ", "_"))
    return Identity(identity.agent_id, identity.seq_base, reason, identity.previous)
