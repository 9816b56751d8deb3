"""Pinyin initials (拼音首字母) of item names and aliases, for the staff page's item search: `db` finds 低保.

Computed on the county, once per catalog, and sent with the reference data: the PCs keep them with the catalog and
search offline without a pinyin dictionary of their own (pypinyin takes about 0.3 s and 55 MB to load; a township PC
need not pay that, nor the page carry a table of its own). pypinyin reads polyphonic characters (多音字) in their
phrase: 银行 gives yh, 重度 zd.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_KEEP = re.compile(r"[^a-z0-9]")


def initials(text: str) -> str:
    """The first letter of each Han character's reading, with Latin letters and digits kept as they are, lower case;
    everything else dropped. `最低生活保障申请` -> `zdshbzsq`, `个体工商户设立登记(委托受理)` -> `gtgshsldjwtsl`."""
    from pypinyin import Style, lazy_pinyin  # loaded only where the catalog is sent to PCs

    return _KEEP.sub("", "".join(lazy_pinyin(text, style=Style.FIRST_LETTER)).lower())


def initials_of(names: Iterable[str]) -> list[str]:
    """Initials of each name, one per name in order (the page finds the alias a match came from by its place)."""
    return [initials(name) for name in names]
