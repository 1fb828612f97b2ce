"""The gateway's own pages (card form, 3-D Secure) and its merchant API
(status query, refunds).

The pages stand in for an outside acquirer's site: CSRF-exempt (a real
gateway lives on another origin and no session authority is used here; the
signed payment link, then the unguessable payment id, is the capability) and
they never store a card number. The API is signed like the callbacks: the
HMAC over the body, or over the path for a GET (which has none).
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation

from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import gateway
from sandbox.models import SandboxPayment

PAY = "sandbox/pay.html"
DONE = "sandbox/done.html"
THREE_DS = "sandbox/3ds.html"


def _payment(request, payment_id: uuid.UUID) -> SandboxPayment:
    """The payment of the link in `?p=` (registered on first sight), or one the
    gateway already knows (the 3-D Secure step, a form posted again)."""
    token = request.GET.get("p")
    if token:
        try:
            return gateway.link_read(payment_id=payment_id, token=token)
        except gateway.LinkRefused:
            raise Http404(_("This payment link is not valid or has expired.")) from None
    payment = gateway.payment_known(payment_id)
    if payment is None:
        raise Http404
    return payment


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _page(request, template: str, payment: SandboxPayment, **extra):
    return render(request, template, {"payment": payment, **extra})


def _refuse(request, payment, result: gateway.GatewayResult, *, template=PAY):
    if _wants_json(request):
        return JsonResponse({"status": result.status, "reason": str(result.reason)}, status=422)
    return _page(
        request, template, payment, reason=result.reason, field=result.field, form=request.POST
    )


def _accepted(request, payment: SandboxPayment, result: gateway.GatewayResult):
    if _wants_json(request):
        return JsonResponse({"status": result.status, "redirect_url": payment.return_url})
    return HttpResponseRedirect(payment.return_url, status=303)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def pay(request, payment_id: uuid.UUID):
    payment = _payment(request, payment_id)
    if request.method == "GET":
        return _page(request, DONE if gateway.already_charged(payment) else PAY, payment)
    result = gateway.gateway_charge(
        payment=payment,
        number=request.POST.get("card_number", ""),
        exp_month=request.POST.get("exp_month", ""),
        exp_year=request.POST.get("exp_year", ""),
        cvc=request.POST.get("cvc", ""),
        today=timezone.localdate(),
    )
    if result.status == "3ds":
        next_url = request.build_absolute_uri(result.next_url)  # on the gateway's origin
        if _wants_json(request):
            return JsonResponse({"status": "3ds", "redirect_url": next_url})
        return HttpResponseRedirect(next_url, status=303)
    if result.status == "declined":
        # The charge attempt is spent; the buyer goes back to the shop to retry.
        return _refuse(request, payment, result, template=DONE)
    if result.status == "refused":
        return _refuse(request, payment, result)
    return _accepted(request, payment, result)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def three_ds(request, payment_id: uuid.UUID):
    payment = _payment(request, payment_id)
    if request.method == "GET":
        if gateway.three_ds_pending(payment) is None:
            raise Http404
        return _page(request, THREE_DS, payment)
    result = gateway.gateway_3ds_confirm(payment=payment, code=request.POST.get("code", ""))
    if result.status == "refused":
        return _refuse(request, payment, result, template=THREE_DS)
    if result.status == "expired":
        raise Http404(_("No 3-D Secure step is pending for this payment."))
    return _accepted(request, payment, result)


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _unsigned() -> JsonResponse:
    # Nothing said, not even whether the payment exists.
    return _api_error("bad_signature", _("Missing or wrong signature."), 401)


@require_http_methods(["GET"])
def status_api(request, payment_id: uuid.UUID):
    """What became of a payment (the merchant's reconciliation asks)."""
    if not gateway.signature_valid(
        request.path.encode(), request.headers.get(gateway.SIGNATURE_HEADER)
    ):
        return _unsigned()
    return JsonResponse(gateway.gateway_status(payment_id))


@csrf_exempt
@require_http_methods(["POST"])
def refund_api(request, payment_id: uuid.UUID):
    """Return money: `{"refund_id": "...", "amount": "...", "reference": "..."}`
    (no amount: all that is left; the reference, optional, comes back in the
    callback as `refund_id`). The same refund_id again is the same refund."""
    if not gateway.signature_valid(request.body, request.headers.get(gateway.SIGNATURE_HEADER)):
        return _unsigned()
    try:
        data = json.loads(request.body)
        refund_id = str(data["refund_id"])[:100]
        amount = data.get("amount")
        amount = None if amount in (None, "") else Decimal(str(amount))
        reference = str(data.get("reference") or "")[:40]
    except (ValueError, KeyError, TypeError, InvalidOperation, AttributeError):
        return _api_error("bad_request", _("Malformed refund request."), 400)
    try:
        refund = gateway.gateway_refund(
            payment_id=payment_id, refund_id=refund_id, amount=amount, reference=reference
        )
    except gateway.RefundRefused as exc:
        return _api_error(exc.code, str(exc.message), 409)
    return JsonResponse(
        {"refund_id": refund.refund_id, "amount": str(refund.amount), "status": "refunded"}
    )
