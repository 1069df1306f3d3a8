"""Who may use which route of the console and its API: one check, deny by default.

Every guarded route is built with the role it needs (`Pages.guard`, the API's
`_guarded`); a route built without one needs `admin`, so a new route is closed
to viewers and approvers until someone decides otherwise. Reads are `viewer`,
deciding a held call is `approver`, every other change is `admin`.
"""

from __future__ import annotations

from bollard.admin.problems import RoleRefused
from bollard.admins import Admin, Role

DEFAULT = Role.ADMIN


def check(admin: Admin, needed: Role) -> None:
    """Raise RoleRefused unless `admin`'s role allows what `needed` may do."""
    if not admin.role.allows(needed):
        raise RoleRefused(
            f"{admin.name} signed in as {admin.role.value}; this needs the {needed.value} role "
            "(ask an admin: bollard admins create NAME --role "
            f"{needed.value})"
        )
