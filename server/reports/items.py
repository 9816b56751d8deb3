"""Catalogue item figures (事项指标) as the reports publish them: the counts and shares of items that can be handled
online (可网办), fully online (全程网办), with at most one trip (最多跑一次) and with a promised limit shorter than the
legal one (承诺提速), and 承诺提速率; for the catalog as it stood on a day, each item by its version then, so a catalog
change in the year leaves the earlier figures as they were."""

from __future__ import annotations

import msgspec

from server.model.figures import CATEGORY_LABELS, Definition, Definitions, ItemFigures, definitions_named, item_figures
from server.model.reference import CATEGORIES, Reference


class ItemRow(msgspec.Struct, omit_defaults=False):
    code: str
    name: str
    category: str
    version: str | None
    valid_from: str | None  # the day this version holds from (None: from the start)
    versions: int  # how many versions the item has had
    is_online_capable: bool  # 可网办
    is_online: bool  # 全程网办
    is_one_trip: bool  # 最多跑一次
    promised_days: int
    legal_days: int | None
    speedup: float | None  # (legal − promised) / legal


class ItemGroup(msgspec.Struct, omit_defaults=False):
    key: str
    label: str
    figures: ItemFigures


class ItemsResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/items?as_of=`: the item figures of the catalog on `as_of`, by report group, and its items."""

    as_of: str
    definitions: list[Definition]
    figures: ItemFigures
    by_category: list[ItemGroup]
    rows: list[ItemRow]


def items_report(reference: Reference, definitions: Definitions, as_of: str) -> ItemsResponse:
    catalog = sorted(reference.items_as_of(as_of), key=lambda i: i.code)
    groups = [ItemGroup(c, CATEGORY_LABELS.get(c, c), item_figures([i for i in catalog if i.category == c],
                                                                  definitions)) for c in CATEGORIES]
    rows = [ItemRow(code=i.code, name=i.name, category=i.category, version=i.version, valid_from=i.valid_from,
                    versions=1 + len(reference.items[i.code].earlier), is_online_capable=i.is_online_capable or
                    i.is_online, is_online=i.is_online, is_one_trip=i.is_one_trip, promised_days=i.promised_days,
                    legal_days=i.legal_days,
                    speedup=round((i.legal_days - i.promised_days) / i.legal_days, 4) if i.legal_days else None)
            for i in catalog]
    return ItemsResponse(as_of=as_of, definitions=[d for d in definitions_named(definitions)
                                                   if d.figure == "promise_speedup"],
                         figures=item_figures(catalog, definitions), by_category=groups, rows=rows)
