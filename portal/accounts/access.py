"""Role checks. Staff areas are guarded per blueprint so no view can forget its check."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort
from flask_login import current_user, login_required

from portal.accounts.models import STAFF_ROLES, Role
from portal.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


def has_role(*roles: Role) -> bool:
    """The signed-in user holds one of ``roles`` (the test every guard here applies)."""
    return bool(current_user.is_authenticated and current_user.role in roles)


def is_admin() -> bool:
    return has_role(Role.ADMIN)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Anonymous → login redirect; signed in with another role → 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        guarded = login_required(wrapped)
        guarded.required_roles = frozenset(roles)  # type: ignore[attr-defined]  # for tests
        return guarded  # type: ignore[return-value]

    return decorator


def _guard(blueprint: Blueprint, roles: frozenset[Role]) -> None:
    @blueprint.before_request
    def check_role() -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not has_role(*roles):
            abort(403)
        return None


def staff_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/admin`` that only admin and ops users reach."""
    blueprint = Blueprint(name, import_name, url_prefix="/admin")
    _guard(blueprint, STAFF_ROLES)
    return blueprint


def distributor_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/me`` for signed-in distributors."""
    blueprint = Blueprint(name, import_name, url_prefix="/me")
    _guard(blueprint, frozenset({Role.DISTRIBUTOR}))
    return blueprint


admin_only = roles_required(Role.ADMIN)
