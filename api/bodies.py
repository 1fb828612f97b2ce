"""Response bodies of the hot API paths, built as their output serializers
build them, without a new serializer per request."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

_outputs: dict[type[serializers.Serializer], serializers.Serializer] = {}


def output_body(serializer_class: type[serializers.Serializer], values: Any) -> dict:
    """`serializer_class(values).data`, from one instance per class and process.

    A serializer deep-copies its declared fields each time it is made (about
    a tenth of a hold or order request's CPU); its to_representation keeps no
    state, so one instance serves every request. For output serializers
    only: input needs a fresh one (it keeps the errors and validated data).
    """
    serializer = _outputs.get(serializer_class)
    if serializer is None:
        serializer = _outputs.setdefault(serializer_class, serializer_class())
    return serializer.to_representation(values)
