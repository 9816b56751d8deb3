"""The contract for townships' staff lists: every backend keeps the newer version of each record, per township."""

from __future__ import annotations

from ops.passwords import hash_password
from protocol.messages import StaffMember
from server.storage.base import Store

HASH = hash_password("274915", n=2**4)


def member(staff_id: str, rev: int = 1, name: str = "卓玛", **fields: object) -> StaffMember:
    return StaffMember(staff_id=staff_id, name=name, role=str(fields.pop("role", "clerk")), secret_hash=HASH,
                       rev=rev, changed_at="2026-03-02T09:00:00+08:00", **fields)  # type: ignore[arg-type]


async def test_the_newer_version_of_a_staff_record_stands_and_townships_stay_apart(store: Store) -> None:
    at = "2026-03-02T01:00:00+00:00"
    held = await store.merge_staff("513422100", "513422100-aaaaaa", [member("L01", role="lead"),
                                                                      member("C01", rev=2)], at)
    assert [m.staff_id for m in held] == ["C01", "L01"]
    # An older version sent late changes nothing; a newer one replaces it.
    held = await store.merge_staff("513422100", "513422100-bbbbbb", [member("C01", rev=1, name="旧名")], at)
    assert {m.staff_id: m.name for m in held}["C01"] == "卓玛"
    held = await store.merge_staff("513422100", "513422100-bbbbbb",
                                   [member("C01", rev=3, name="扎西", is_disabled=True)], at)
    assert [(m.staff_id, m.rev, m.name, m.is_disabled) for m in held] == [
        ("C01", 3, "扎西", True), ("L01", 1, "卓玛", False)]
    assert await store.township_staff("513422101") == []
    await store.merge_staff("513422101", "513422101-cccccc", [member("C01", name="次仁")], at)
    assert [m.name for m in await store.township_staff("513422101")] == ["次仁"]
    names = await store.staff_names()
    assert names[("513422100", "C01")] == "扎西" and names[("513422101", "C01")] == "次仁"
