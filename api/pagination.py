from __future__ import annotations

from rest_framework.pagination import CursorPagination


class KassaCursorPagination(CursorPagination):
    """Stable cursor pages for every list; views set `ordering` as needed."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"
