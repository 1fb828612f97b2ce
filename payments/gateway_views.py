"""The sandbox gateway's own pages: card form and 3-D Secure step.

These stand in for an outside acquirer's site: they are CSRF-exempt (a real
gateway lives on another origin and no session authority is used here; the
unguessable payment id is the capability) and they never store a card number.
"""

from __future__ import annotations

import uuid

from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from events.cards import card_rule_words
from payments import sandbox
from payments.models import Payment


def _payment(payment_id: uuid.UUID) -> Payment:
    payment = (
        Payment.objects.select_related("order__phase", "order__event")
        .filter(pk=payment_id, provider="sandbox")
        .first()
    )
    if payment is None:
        raise Http404
    return payment


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refuse(
    request, payment, reason, *, field="", status="refused", template="orders/pay_gateway.html"
):
    if _wants_json(request):
        return JsonResponse({"status": status, "reason": str(reason)}, status=422)
    context = _context(payment) | {"reason": reason, "field": field, "form": request.POST}
    return render(request, template, context)


def _context(payment: Payment) -> dict:
    phase = payment.order.phase
    return {
        "payment": payment,
        "merchant": "kassa",
        "card_rule": card_rule_words(brands=phase.card_brands, bins=phase.card_bin_prefixes),
    }


def _accepted(request, payment: Payment, result: sandbox.GatewayResult):
    if _wants_json(request):
        return JsonResponse({"status": result.status, "redirect_url": payment.return_url})
    return HttpResponseRedirect(payment.return_url, status=303)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def gateway_pay(request, payment_id: uuid.UUID):
    payment = _payment(payment_id)
    if request.method == "GET":
        if payment.status != Payment.Status.CREATED or sandbox.already_charged(str(payment.pk)):
            return render(request, "orders/pay_gateway_done.html", _context(payment))
        return render(request, "orders/pay_gateway.html", _context(payment))
    result = sandbox.gateway_charge(
        payment=payment,
        number=request.POST.get("card_number", ""),
        exp_month=request.POST.get("exp_month", ""),
        exp_year=request.POST.get("exp_year", ""),
        cvc=request.POST.get("cvc", ""),
        today=timezone.localdate(),
    )
    if result.status == "3ds":
        if _wants_json(request):
            return JsonResponse({"status": "3ds", "redirect_url": result.next_url})
        return HttpResponseRedirect(result.next_url, status=303)
    if result.status == "declined":
        # The charge attempt is spent; the buyer goes back to the shop to retry.
        return _refuse(
            request,
            payment,
            result.reason,
            status="declined",
            template="orders/pay_gateway_done.html",
        )
    if result.status == "refused":
        return _refuse(request, payment, result.reason, field=result.field)
    return _accepted(request, payment, result)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def gateway_3ds(request, payment_id: uuid.UUID):
    payment = _payment(payment_id)
    template = "orders/pay_gateway_3ds.html"
    if request.method == "GET":
        if sandbox.three_ds_pending(str(payment.pk)) is None:
            raise Http404
        return render(request, template, _context(payment))
    result = sandbox.gateway_3ds_confirm(payment=payment, code=request.POST.get("code", ""))
    if result.status == "refused":
        return _refuse(request, payment, result.reason, field="code", template=template)
    if result.status == "expired":
        raise Http404(_("No 3-D Secure step is pending for this payment."))
    return _accepted(request, payment, result)


@require_http_methods(["GET"])
def gateway_status_api(request, payment_id: uuid.UUID):
    """The acquirer's status API: what became of a payment (reconciliation asks).

    Signed like the callbacks, the HMAC taken over the request path (a GET has
    no body; see sandbox.STATUS_PATH). Without a valid signature: 401, nothing
    said, not even whether the payment exists.
    """
    if not sandbox.signature_valid(
        request.path.encode(), request.headers.get(sandbox.SIGNATURE_HEADER)
    ):
        return JsonResponse(
            {"error": {"code": "bad_signature", "message": _("Missing or wrong signature.")}},
            status=401,
        )
    payment = _payment(payment_id)
    return JsonResponse(sandbox.gateway_status(payment))
