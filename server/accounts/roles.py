"""Who may read what on the dashboard: the roles of an account and the reader of a request, as plain rules.

- `county_admin`: the whole county, every figure, list and export.
- `township_viewer`: only its own township (its centre and villages): every figure, list, PC and export is confined
  to it (`Reader.confine_org`); anything else answers 403.
- `auditor`: reads everything (nothing on the dashboard writes) and is the only role that sees the audit log. The
  county admin, whose actions the audit log records, cannot read it: the duties are apart.
"""

from __future__ import annotations

import msgspec

COUNTY_ADMIN, TOWNSHIP_VIEWER, AUDITOR = "county_admin", "township_viewer", "auditor"
ROLES = (COUNTY_ADMIN, TOWNSHIP_VIEWER, AUDITOR)
ROLE_LABELS = {COUNTY_ADMIN: "县级管理员", TOWNSHIP_VIEWER: "乡镇查看员", AUDITOR: "审计员"}


class Reader(msgspec.Struct, frozen=True):
    """The reader of one dashboard request: a session's account, or the admin token (`name` "admin")."""

    name: str
    role: str = COUNTY_ADMIN
    township: str | None = None  # 9 digits, for a township viewer

    @property
    def sees_county(self) -> bool:
        return self.role != TOWNSHIP_VIEWER

    @property
    def reads_audit(self) -> bool:
        return self.role == AUDITOR

    def allows_org(self, code: str) -> bool:
        """Whether a unit (6, 9 or 12 digits, or a township code) is within what this reader may see."""
        return self.sees_county or (self.township is not None and code[:9] == self.township and len(code) >= 9)

    def confine_org(self, org: str | None) -> str | None:
        """The `org` a figure request is about: a township viewer's default is its township. Raises ValueError when
        the reader may not see `org` (the caller answers 403)."""
        if self.sees_county:
            return org
        if org is None:
            return self.township
        if not self.allows_org(org):
            raise ValueError(f"account {self.name} may read only township {self.township}")
        return org


def role_problem(role: str, township: str | None) -> str | None:
    """What is wrong with this role and township for an account, or None."""
    if role not in ROLES:
        return f"the role must be one of {', '.join(ROLES)}"
    if role == TOWNSHIP_VIEWER and (township is None or len(township) != 9 or not township.isdigit()):
        return "a township viewer needs --township with the township's 9-digit code"
    if role != TOWNSHIP_VIEWER and township is not None:
        return f"only a township viewer has a township; {role} sees the whole county"
    return None
