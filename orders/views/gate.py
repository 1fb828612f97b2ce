"""The gate page: staff on a phone choose the event and their gate, then scan
tickets (camera or typed code). The page calls the check-in API (session +
CSRF), so there is one check-in path: orders.tickets.ticket_checkin."""

from __future__ import annotations

import zoneinfo

from csp.constants import WASM_UNSAFE_EVAL
from csp.decorators import csp_update
from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from events.selectors import event_list_for_gates
from orders.tickets import GATE_MAX_LENGTH

SCANNER = "vendor/barcode-detector-3.2.2/"


def _choice_label(event) -> str:
    local = event.starts_at.astimezone(zoneinfo.ZoneInfo(event.time_zone))
    return f"{event.title} · {local:%d.%m.%Y %H:%M} · {event.venue.name}"


class GateForm(forms.Form):
    event = forms.ChoiceField(label=gettext_lazy("Event"))
    gate = forms.CharField(
        label=gettext_lazy("Gate"),
        max_length=GATE_MAX_LENGTH,
        help_text=gettext_lazy("As the counts should name it, e.g. North 2."),
    )

    def __init__(self, *args, events, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.events = {event.slug: event for event in events}
        self.fields["event"].choices = [(event.slug, _choice_label(event)) for event in events]

    def clean_gate(self) -> str:
        gate = " ".join(self.cleaned_data["gate"].split())
        if not gate:
            raise forms.ValidationError(_("Name the gate."))
        return gate


def _texts() -> dict[str, str]:
    """What the scanner script says, in the page's language (no text in the script)."""
    return {
        "ok": _("Admitted"),
        "refused": _("Not admitted"),
        "not_checked": _("Not checked"),
        "override_ok": _("Admitted by the supervisor"),
        "already_used": _("Already used at gate %(gate)s, %(time)s."),
        "already_used_no_gate": _("Already used, %(time)s."),
        "void": _("This ticket is void (cancelled or refunded)."),
        "unknown": _("Unknown ticket, or an old screenshot of a rotating code."),
        "other_event": _("A ticket for another event: %(event)s, %(when)s."),
        "wrong_day": _("Wrong day: this ticket is for %(when)s (%(event)s)."),
        "offline": _("No answer from the server: the ticket was not checked. Try again."),
        "camera_off": _("The camera is not available here; type the code below."),
        "camera_on": _("Point the camera at the ticket's QR code."),
        "checking": _("Checking…"),
        "no_gate": _("no gate"),
        "row": _("row"),
        "seat": _("seat"),
    }


@staff_member_required
@never_cache
@csp_update({"script-src": [WASM_UNSAFE_EVAL]})  # the QR reader is WebAssembly
def gate_page(request):
    if not request.user.has_perm("orders.scan_ticket"):
        raise PermissionDenied
    # Bound once the gate is named; "Change" comes back with the event only.
    data = request.GET if "gate" in request.GET else None
    initial = {"event": request.GET.get("event", "")}
    form = GateForm(data, initial=initial, events=event_list_for_gates())
    if not form.is_valid():
        return render(request, "orders/gate_choose.html", {"form": form})
    event = form.events[form.cleaned_data["event"]]
    config = {
        "event": event.slug,
        "gate": form.cleaned_data["gate"],
        "timeZone": event.time_zone,
        "checkin": reverse("checkin"),
        "override": reverse("checkin-override"),
        "counts": reverse("checkin-gates", args=[event.slug]),
        "wasm": static(SCANNER + "zxing_reader.wasm"),
        "csrf": get_token(request),
        "canOverride": request.user.has_perm("orders.override_checkin"),
        "texts": _texts(),
    }
    return render(
        request, "orders/gate.html", {"event": event, "gate": config["gate"], "config": config}
    )
