"""Staff pages: the live on-sale console and the post-sale report (thin:
each reads one selector or calls one queueing service)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from events.models import Allocation, Event
from events.services import allocation_release
from payments.cancellation import CANCEL_PERMISSIONS
from queueing import services as queue_services
from queueing.models import WaitingRoom
from sales import export, live
from sales.forms import RoomControlForm
from sales.selectors import sale_report

CONSOLE = "sales.view_sale_console"
REPORT = "sales.view_sale_report"
ROOM_CHANGE = "queueing.change_waitingroom"
ALLOCATION_CHANGE = "events.change_allocation"


def _staff(perm: str):
    def decorate(view):
        return staff_member_required(permission_required(perm, raise_exception=True)(view))

    return decorate


def _event(slug: str) -> Event:
    return get_object_or_404(Event.objects.select_related("venue"), slug=slug)


def _labels() -> dict:
    """What the console's script writes on the page (its charts' legends and
    axes), in the page's language."""
    return {
        "time": _("time"),
        "time_axis": _("time (event's zone)"),
        "waiting": _("waiting"),
        "active": _("active shoppers"),
        "admitted_total": _("admitted, total"),
        "visitors": _("visitors"),
        "holds": _("holds"),
        "orders": _("orders"),
        "paid": _("paid"),
        "tickets": _("tickets"),
        "refusals": _("refusals (4xx)"),
        "errors": _("errors (5xx)"),
        "per_minute": _("per minute"),
        "paused": _("paused"),
        "draining": _("draining"),
        "none": _("nothing yet"),
        "released": _("released"),
        "reserved": _("reserved"),
        "states": {
            "off": _("room off"),
            "prequeue": _("pre-queue"),
            "open": _("admitting"),
            "paused": _("paused"),
            "closed": _("closed"),
            "sold_out": _("sold out"),
        },
    }


def _console_page(request, event: Event, form: RoomControlForm | None = None, status: int = 200):
    room = WaitingRoom.objects.filter(event=event).first()
    context = {
        "title": _("On-sale console: %(event)s") % {"event": event.title},
        "event": event,
        "room": room,
        "form": form or RoomControlForm(),
        "can_control": room is not None and request.user.has_perm(ROOM_CHANGE),
        "can_release": request.user.has_perm(ALLOCATION_CHANGE),
        "can_report": request.user.has_perm(REPORT),
        "can_cancel": event.status != Event.Status.CANCELLED
        and request.user.has_perms(CANCEL_PERMISSIONS),
        "labels": _labels(),
        # The first numbers come with the page (no blank tiles until the first poll).
        "initial": live.console_data(event=event),
        "site_header": _("kassa staff"),
        "has_permission": True,
    }
    return TemplateResponse(request, "sales/console.html", context, status=status)


@never_cache
@_staff(CONSOLE)
def console(request, slug: str):
    return _console_page(request, _event(slug))


@never_cache
@_staff(CONSOLE)
def console_data(request, slug: str):
    return JsonResponse(live.console_data(event=_event(slug)))


@require_POST
@_staff(CONSOLE)
def room_control(request, slug: str):
    """Pause, resume, drain, rate or max active: through the room services,
    audited with the staff user in their transaction."""
    event = _event(slug)
    if not request.user.has_perm(ROOM_CHANGE):
        raise Http404  # nothing to control for this user: same as no room
    room = get_object_or_404(WaitingRoom, event=event)
    form = RoomControlForm(request.POST)
    if not form.is_valid():
        return _console_page(request, event, form, status=400)
    action = form.cleaned_data["action"]
    try:
        if action in queue_services.ACTIONS:
            queue_services.room_action(room=room, action=action, actor=request.user)
        else:
            queue_services.room_update(room=room, changes=form.changes(), actor=request.user)
    except ValidationError as exc:  # the room's own rules (full_clean): nothing was saved
        form.add_error(None, exc)
        return _console_page(request, event, form, status=400)
    messages.success(request, _("Done: the room's settings are changed and audited."))
    return redirect("sales:console", slug=event.slug)


@require_POST
@_staff(CONSOLE)
def allocation_release_view(request, slug: str, pk: int):
    """The console's "release now" button (confirmed in the page): what is left
    of the allocation goes to the general sale, audited with the staff user."""
    event = _event(slug)
    if not request.user.has_perm(ALLOCATION_CHANGE):
        raise Http404
    allocation = get_object_or_404(Allocation, event=event, pk=pk)
    if allocation_release(allocation=allocation, actor=request.user):
        messages.success(request, _("Released: what was left is on general sale now."))
    else:
        messages.info(request, _("This allocation was released already."))
    return redirect("sales:console", slug=event.slug)


@never_cache
@_staff(REPORT)
def report(request, slug: str):
    event = _event(slug)
    data = sale_report(event=event)
    zone = export.event_zone(event)
    context = {
        "title": _("Post-sale report: %(event)s") % {"event": event.title},
        "event": event,
        "report": data,
        "tables": export.tables_display(data),
        "start": export.cell_display(data.start, zone=zone, money=False, currency=""),
        "end": export.cell_display(data.end, zone=zone, money=False, currency=""),
        "site_header": _("kassa staff"),
        "has_permission": True,
    }
    return TemplateResponse(request, "sales/report.html", context)


@never_cache
@_staff(REPORT)
def report_csv(request, slug: str, name: str):
    event = _event(slug)
    data = sale_report(event=event)
    table = next((t for t in data.tables if t.name == name), None)
    if table is None:
        raise Http404
    response = HttpResponse(export.table_csv(data, table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.slug}-{name}.csv"'
    return response


@never_cache
@_staff(REPORT)
def report_pdf(request, slug: str):
    event = _event(slug)
    response = HttpResponse(
        export.report_pdf(sale_report(event=event)), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{event.slug}-report.pdf"'
    return response


@never_cache
@_staff(REPORT)
def report_chart(request, slug: str):
    svg = export.chart_svg(sale_report(event=_event(slug)))
    return HttpResponse(svg, content_type="image/svg+xml")
