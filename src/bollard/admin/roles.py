"""Who may use which route of the console and its API: one check, deny by default.

Every guarded route is built with the role it needs (`Pages.guard`, the API's
`_guarded`); a route built without one needs `admin`, so a new route is closed
to viewers and approvers until someone decides otherwise. Reads are `viewer`,
deciding a held call is `approver`, every other change is `admin`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from starlette.routing import compile_path

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


class RouteRoles:
    """The role each console route needs: filled by `page_routes` from the same table that
    guards the routes, and asked by the pages which forms to show (a form the signed-in
    admin could not send is not shown)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix  # where the routes are mounted, e.g. /admin
        self._routes: list[tuple[re.Pattern[str], frozenset[str], Role]] = []

    def add(self, path: str, methods: Iterable[str], role: Role) -> None:
        """Record that `path` (a route pattern, as Starlette's) needs `role` for `methods`."""
        pattern, _, _ = compile_path(path)
        self._routes.append((pattern, frozenset(methods), role))

    def needs(self, method: str, url: str) -> Role:
        """The role a request to `url` needs; admin for a URL no route answers."""
        path = unquote(urlsplit(url).path)
        if not path.startswith(self._prefix + "/"):
            return DEFAULT
        path = path.removeprefix(self._prefix)
        for pattern, methods, role in self._routes:
            if method in methods and pattern.match(path):
                return role
        return DEFAULT

    def may(self, admin: Admin | None, url: str, method: str = "POST") -> bool:
        """Whether `admin` may send `method` to `url` (nobody signed in may not)."""
        return admin is not None and admin.role.allows(self.needs(method, url))
