"""docs/figures.md and docs/dashboard.md stay true: every figure, rate, case-list key, definition choice, dashboard
route and export table is named in them."""

from __future__ import annotations

from server.config import SETTINGS
from server.http.openapi_dashboard import dashboard_paths
from server.model.figures import ACTIVE_EVALUATION_CHOICES, Figures, ItemFigures
from server.reports.tables import TABLES
from server.storage.dashboard import CASE_FIGURES
from tests.server.helpers import REPO

FIGURES_DOC = (REPO / "docs" / "figures.md").read_text(encoding="utf-8")
DASHBOARD_DOC = (REPO / "docs" / "dashboard.md").read_text(encoding="utf-8")


def test_every_figure_rate_and_case_list_is_in_figures_md() -> None:
    for name in [*Figures.__struct_fields__, *ItemFigures.__struct_fields__, *CASE_FIGURES]:
        assert f"`{name}`" in FIGURES_DOC, name


def test_the_choices_and_their_defaults_are_in_figures_md() -> None:
    for s in SETTINGS:
        if s.section == "figures":
            assert f"`{s.key}`" in FIGURES_DOC and f"`{str(s.default).lower()}`" in FIGURES_DOC.lower()
    for choice in ACTIVE_EVALUATION_CHOICES:
        assert f"`{choice}`" in FIGURES_DOC


def test_every_dashboard_route_table_and_setting_is_in_dashboard_md() -> None:
    for path in dashboard_paths({}, lambda *codes: {}, lambda t: {}):
        if path.startswith("/api/"):
            assert path.split("{")[0].rstrip("/") in DASHBOARD_DOC, path
    for table in TABLES:
        assert f"`{table}`" in DASHBOARD_DOC, table
    for s in SETTINGS:
        if s.section in ("figures", "dashboard"):
            assert f"`[{s.section}] {s.key}`" in DASHBOARD_DOC, s.key
