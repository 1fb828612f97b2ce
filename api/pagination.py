from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class KassaCursorPagination(CursorPagination):
    """Stable cursor pages for every list; views set `ordering` as needed."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def decode_cursor(self, request):
        # DRF answers a bad cursor with 404; it is bad input, so 400 on the field.
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: [exc.detail]}) from None

    def get_page_size(self, request):
        # DRF silently ignores a malformed page_size; bad input gets a clear 400.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [_("Must be a positive integer.")]})
        return min(int(raw), self.max_page_size)
