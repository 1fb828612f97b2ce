from __future__ import annotations

from django.urls import path

from queueing import api

urlpatterns = [
    path("events/<slug:slug>/queue/join/", api.QueueJoinApi.as_view(), name="queue-join"),
    path("events/<slug:slug>/queue/state/", api.QueueStateApi.as_view(), name="queue-state"),
    path("events/<slug:slug>/queue/shuffle/", api.QueueShuffleApi.as_view(), name="queue-shuffle"),
    path("queue/status/", api.QueueStatusApi.as_view(), name="queue-status"),
]
