from __future__ import annotations

import segno
from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def qr_svg(value: str) -> str:
    """An inline SVG QR code of `value` (our own markup, no user HTML)."""
    return mark_safe(segno.make(str(value), error="m").svg_inline(scale=4, border=2))
