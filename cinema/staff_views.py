"""Staff pages of the cinema side: a new hall from its layout, previewed
before it is saved (thin: the layout is events.layout's, the writes
cinema.services')."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from cinema.exceptions import HallInvalid
from cinema.forms import HallLayoutForm
from cinema.services import KIND_COLOURS, hall_create, hall_layout_spec
from events.exceptions import LayoutSpecInvalid
from events.layout import hall_csv_rows, hall_drawing
from events.models import Seat

HALL_ADD = "cinema.add_hall"


@never_cache
@staff_member_required
@permission_required(HALL_ADD, raise_exception=True)
def hall_new(request):
    """GET: the form. POST "preview": the hall drawn, nothing saved. POST "save":
    the Venue and the Hall, then the venue's admin page."""
    form = HallLayoutForm(request.POST or None, request.FILES or None)
    drawing, status = None, 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            spec = _spec(data)
            if "save" in request.POST:
                hall = hall_create(
                    cinema=data["cinema"], code=data["code"], name=data["name"],
                    name_kk=data["name_kk"], name_en=data["name_en"], spec=spec,
                )  # fmt: skip
                messages.success(request, _("Hall “%(hall)s” is ready.") % {"hall": hall})
                return redirect(reverse("admin:events_venue_change", args=[hall.venue_id]))
            drawing = hall_drawing(spec)
        except LayoutSpecInvalid as exc:
            for problems in exc.details.values():
                for problem in problems:
                    form.add_error(None, problem)
        except HallInvalid as exc:
            form.add_error(None, str(exc.message))
        if data.get("csv_file"):
            # An uploaded file is not sent again with the next submit: keep its text.
            form.data = form.data.copy()
            form.data["csv_text"] = data["csv_text"]
    if request.method == "POST" and form.errors:
        status = 400
    counts = (drawing or {}).get("counts", {})
    kinds = [{"kind": k, "label": label, "count": counts.get(k, 0), "colour": KIND_COLOURS[k]}
             for k, label in Seat.Kind.choices]  # fmt: skip
    if drawing:
        for seat in drawing["seats"]:
            seat["colour"] = KIND_COLOURS.get(seat["kind"], "#888888")
    context = {
        "title": _("New hall from its layout"),
        "form": form,
        "drawing": drawing,
        "kinds": kinds,
        "site_header": _("kassa staff"),
        "has_permission": True,
    }
    return TemplateResponse(request, "cinema/staff/hall_new.html", context, status=status)


def _spec(data: dict) -> dict:
    rows = data["rows"] if (data.get("rows") or "").strip() else None
    seats = None if rows is not None else hall_csv_rows(data["csv_text"])
    return hall_layout_spec(
        cinema=data["cinema"], code=data["code"], name=data["name"],
        rows=rows.splitlines() if rows is not None else None, seats=seats,
        curve=data.get("curve") or 0,
    )  # fmt: skip
