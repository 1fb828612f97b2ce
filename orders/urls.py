from __future__ import annotations

app_name = "orders"
urlpatterns: list = []
