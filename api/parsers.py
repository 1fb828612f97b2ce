"""The API's JSON parser (DRF's DEFAULT_PARSER_CLASSES)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class KassaJSONParser(JSONParser):
    """DRF's JSONParser, plus: JSON nested deeper than the interpreter's
    recursion limit (`[[[[...` a few thousand deep) is a parse error. The json
    module raises RecursionError there, not ValueError, and DRF turned it into
    a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("JSON nested too deeply.")) from exc
