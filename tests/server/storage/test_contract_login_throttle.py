"""The contract for the login throttle's tallies (`server.model.login_throttle`): every backend counts failed logins
per name and per address within the window, locks at the limit, forgets a name's failures on a right password,
loses no failure counted at once by two stores of one database, and stays bounded."""

from __future__ import annotations

import asyncio

from server.model.login_throttle import Limits
from tests.server.storage.backends import Backend

LIMITS = Limits(per_account=3, per_address=5, window_s=60, lock_s=300)
T0 = 1_780_000_000.0  # epoch seconds, as the server passes time.time()


async def test_a_name_and_an_address_lock_at_their_limits_and_a_lock_ends_at_its_time(backend: Backend) -> None:
    store = backend.dashboard
    assert await store.login_locked_until("zhangsan", "192.0.2.1") == 0.0
    locked = [await store.count_login_failure("zhangsan", "192.0.2.1", LIMITS, T0 + t) for t in (0, 10, 20)]
    assert locked == [[], [], ["name"]]
    assert await store.login_locked_until("zhangsan", "198.51.100.7") == T0 + 320  # from any address
    assert await store.login_locked_until("lisi", "192.0.2.1") == 0.0  # the address has 3 of its 5
    locked = [await store.count_login_failure(name, "192.0.2.1", LIMITS, T0 + 30) for name in ("lisi", "wangwu")]
    assert locked == [[], ["address"]]
    assert await store.login_locked_until("lisi", "192.0.2.1") == T0 + 330
    assert await store.login_locked_until("lisi", "198.51.100.7") == 0.0  # lisi has 1 of its 3
    # After its lock the name counts afresh; failures more than a window apart never reach the limit.
    for t in (400, 470, 540):
        assert await store.count_login_failure("zhangsan", "198.51.100.7", LIMITS, T0 + t) == []
    assert await store.count_login_failure("zhangsan", "198.51.100.7", LIMITS, T0 + 545) == []  # 2 of 3 now
    assert await store.count_login_failure("zhangsan", "198.51.100.7", LIMITS, T0 + 550) == ["name"]


async def test_a_right_password_forgets_the_names_failures_not_the_addresss_nor_a_lock(backend: Backend) -> None:
    store = backend.dashboard
    for t in (0, 1):
        assert await store.count_login_failure("zhangsan", "192.0.2.1", LIMITS, T0 + t) == []
    await store.forget_login_failures("zhangsan")
    for t in (2, 3):  # two more of the name: 2, not 4
        assert await store.count_login_failure("zhangsan", "192.0.2.1", LIMITS, T0 + t) == []
    assert await store.count_login_failure("zhangsan", "192.0.2.1", LIMITS, T0 + 4) == ["name", "address"]
    await store.forget_login_failures("zhangsan")  # a lock set meanwhile by another process stays
    assert await store.login_locked_until("zhangsan", "198.51.100.7") == T0 + 304
    assert await store.login_locked_until("lisi", "192.0.2.1") == T0 + 304


async def test_failures_counted_at_once_by_two_stores_of_one_database_are_all_counted(backend: Backend) -> None:
    limits = LIMITS._replace(per_account=25, per_address=10**6)
    async with backend.kind.opened(backend.where, backend.database) as other:  # another process's store
        stores = [backend.dashboard, other.dashboard]
        locked = await asyncio.gather(*(stores[n % 2].count_login_failure("zhangsan", f"192.0.2.{n}", limits,
                                                                          T0 + n / 100) for n in range(24)))
        assert locked == [[]] * 24 and await other.dashboard.login_locked_until("zhangsan", "-") == 0.0
        # The 25th, whichever store counts it, reaches the limit only if none of the 24 was lost.
        assert await other.dashboard.count_login_failure("zhangsan", "192.0.2.99", limits, T0 + 1) == ["name"]
        assert await backend.dashboard.login_locked_until("zhangsan", "-") == T0 + 301
        # Both at once past a limit: one of them locks it, once.
        both = await asyncio.gather(*(s.count_login_failure("lisi", "192.0.2.1", limits._replace(per_account=1),
                                                            T0 + 2) for s in stores))
        assert sorted(both) == [[], ["name"]]


async def test_a_flood_of_made_up_names_cannot_grow_the_tallies_without_bound(backend: Backend) -> None:
    store = backend.dashboard
    limits = LIMITS._replace(per_address=10**6, max_tallies=20)
    for n in range(60):
        await store.count_login_failure(f"guess{n}", "192.0.2.1", limits, T0 + n / 100)
    assert await backend.kind.count_rows(backend.where, backend.database, "login_throttle") == 20
    # The tallies dropped are those that expire first: the newest names still count.
    for t in (1, 2):
        locked = await store.count_login_failure("guess59", "192.0.2.1", limits, T0 + t)
    assert locked == ["name"]
    # Once the window is over the expired tallies go with the next failure: its own two are left, and the lock.
    await store.count_login_failure("someone", "198.51.100.7", limits, T0 + 200)
    assert await backend.kind.count_rows(backend.where, backend.database, "login_throttle") == 3
    assert await store.login_locked_until("guess59", "-") == T0 + 302


async def test_an_administrator_lifts_the_lock_of_a_name_or_an_address(backend: Backend) -> None:
    store = backend.dashboard
    for t in (0, 1, 2):
        await store.count_login_failure("zhangsan", "192.0.2.1", LIMITS, T0 + t)
    assert await store.login_locked_until("zhangsan", "198.51.100.7") == T0 + 302
    assert await store.lift_login_lock("name", "zhangsan") is True
    assert await store.login_locked_until("zhangsan", "198.51.100.7") == 0.0
    assert await store.lift_login_lock("name", "zhangsan") is False  # nothing left to lift
    # The address keeps its three failures: two more lock it; lifting it frees every name from there.
    assert [await store.count_login_failure(n, "192.0.2.1", LIMITS, T0 + 5) for n in ("a", "b")] == [[], ["address"]]
    assert await store.login_locked_until("lisi", "192.0.2.1") == T0 + 305
    assert await store.lift_login_lock("address", "192.0.2.1") is True
    assert await store.login_locked_until("lisi", "192.0.2.1") == 0.0
