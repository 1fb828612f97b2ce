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


class RequiresScope(HasScope):
    """Like HasScope, but only partner keys with the scope pass (e.g. check-in)."""

    @classmethod
    def of(cls, scope: str) -> type[RequiresScope]:
        return type(f"RequiresScope_{scope}", (cls,), {"scope": scope})

    def has_permission(self, request, view) -> bool:
        if partner_key(request) is None:
            # Staff with a session may also check in at the door.
            user = getattr(request, "user", None)
            self.code = "permission_denied"
            return bool(user and user.is_authenticated and user.is_staff)
        return super().has_permission(request, view)
