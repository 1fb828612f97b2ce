"""Sign-in pages: thin wrappers around accounts.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import CodeForm, SigninForm
from ticketing.errors import KassaError
from ticketing.middleware import client_ip

SIGNIN_KEY = "kassa_signin"  # {"identity": normalised, "next": safe url}
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _error(request, template: str, context: dict, exc: KassaError):
    response = render(request, template, {**context, "error": exc.message}, status=exc.status)
    if exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


def signin(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method != "POST":
        return redirect(next_url)
    form = SigninForm(request.POST or None, initial={"next": next_url})
    if request.method == "POST" and form.is_valid():
        try:
            identity = services.code_send(
                identity_raw=form.cleaned_data["identity"], ip=client_ip(request)
            )
        except KassaError as exc:
            return _error(request, "accounts/signin.html", {"form": form}, exc)
        request.session[SIGNIN_KEY] = {"identity": identity.value, "next": next_url}
        return redirect("accounts:signin_code")
    return render(request, "accounts/signin.html", {"form": form})


def _code_context(pending: dict, form: CodeForm) -> dict:
    return {
        "identity": services.identity_display(pending["identity"]),
        "next": pending["next"],
        "minutes": settings.OTP_TTL_SECONDS // 60,
        "form": form,
    }


def signin_code(request):
    pending = request.session.get(SIGNIN_KEY)
    if not pending:
        return redirect("accounts:signin")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.code_verify(
                identity_raw=pending["identity"], code=form.cleaned_data["code"]
            )
        except KassaError as exc:
            return _error(request, "accounts/signin_code.html", _code_context(pending, form), exc)
        login(request, user, backend=AUTH_BACKEND)  # new session key: no fixation
        request.session.pop(SIGNIN_KEY, None)
        return redirect(_safe_next(request, pending["next"]))
    return render(request, "accounts/signin_code.html", _code_context(pending, form))


@require_POST
def signin_resend(request):
    pending = request.session.get(SIGNIN_KEY)
    if not pending:
        return redirect("accounts:signin")
    try:
        services.code_send(identity_raw=pending["identity"], ip=client_ip(request))
    except KassaError as exc:
        context = _code_context(pending, CodeForm())
        return _error(request, "accounts/signin_code.html", context, exc)
    messages.success(request, _("A new code was sent."))
    return redirect("accounts:signin_code")


@require_POST
def signout(request):
    logout(request)
    return redirect("/")


@require_POST
@login_required
def signout_everywhere(request):
    services.sessions_revoke_all(user=request.user)
    logout(request)
    messages.success(request, _("You have been signed out on all devices."))
    return redirect("accounts:signin")
