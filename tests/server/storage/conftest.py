"""The contract suite's fixtures: every test that takes `backend` (or `store`) runs once per backend of
`backends.BACKENDS`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.storage.base import Store
from tests.server.storage.backends import BACKENDS, Backend


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    kind = BACKENDS[request.param]
    try:
        async with kind.opened(tmp_path, "county") as opened:
            yield opened
    finally:
        await kind.cleanup(tmp_path)


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store
