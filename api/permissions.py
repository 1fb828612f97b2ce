from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from api.models import ApiKey


def partner_key(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class HasScope(BasePermission):
    """Partner keys need the scope; the site's own (session/anonymous) callers pass.

    Use `HasScope.of("sell")` in `permission_classes`.
    """

    scope = ""
    code = "insufficient_scope"  # the error body's code (DRF passes it on)

    @classmethod
    def of(cls, scope: str) -> type[HasScope]:
        return type(f"HasScope_{scope}", (cls,), {"scope": scope})

    def has_permission(self, request, view) -> bool:
        key = partner_key(request)
        if key is None:
            return True
        if key.has_scope(self.scope):
            return True
        self.message = _("This API key lacks the '%(scope)s' scope.") % {"scope": self.scope}
        return False


class PartnerScope(HasScope):
    """Only partner keys with the scope pass: the call acts for the partner
    itself (a webview token for its customer), which no session can."""

    code = "permission_denied"

    @classmethod
    def of(cls, scope: str) -> type[PartnerScope]:
        return type(f"PartnerScope_{scope}", (cls,), {"scope": scope})

    def has_permission(self, request, view) -> bool:
        if partner_key(request) is None:
            self.message = _("This call needs a partner API key.")
            return False
        self.code = HasScope.code
        return super().has_permission(request, view)


def _staff_with(request, permission: str) -> bool:
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return False
    return not permission or user.has_perm(permission)


class RequiresScope(HasScope):
    """Like HasScope, but only partner keys with the scope pass (e.g. check-in),
    or staff sessions (with `staff_permission`, when given: "orders.scan_ticket")."""

    staff_permission = ""

    @classmethod
    def of(cls, scope: str, *, staff_permission: str = "") -> type[RequiresScope]:
        return type(
            f"RequiresScope_{scope}", (cls,), {"scope": scope, "staff_permission": staff_permission}
        )

    def has_permission(self, request, view) -> bool:
        if partner_key(request) is None:
            # Staff with a session may also check in at the door.
            self.code = "permission_denied"
            return _staff_with(request, self.staff_permission)
        return super().has_permission(request, view)


class StaffPermission(BasePermission):
    """Staff sessions holding `permission` only; partner keys never pass."""

    permission = ""
    code = "permission_denied"

    @classmethod
    def of(cls, permission: str) -> type[StaffPermission]:
        return type(f"StaffPermission_{permission}", (cls,), {"permission": permission})

    def has_permission(self, request, view) -> bool:
        return partner_key(request) is None and _staff_with(request, self.permission)
