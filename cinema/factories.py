"""Small cinema fixtures for tests and benchmarks: a city, a cinema, a hall
with every seat kind, a film, a showing. Real services, real rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from cinema.models import Cinema, City, Film, Hall, Showing
from cinema.services import TicketTypeSpec, film_production, showing_create
from events.models import Seat
from events.services import venue_create_from_spec

DEFAULT_PRICES = {
    Seat.Kind.STANDARD: Decimal("2500.00"),
    Seat.Kind.VIP: Decimal("4500.00"),
    Seat.Kind.WHEELCHAIR: Decimal("1500.00"),
    Seat.Kind.COMPANION: Decimal("1500.00"),
    Seat.Kind.LOVE: Decimal("3500.00"),
}
DEFAULT_TYPES = [
    TicketTypeSpec(key="adult", name="Взрослый", name_kk="Ересек", name_en="Adult"),
    TicketTypeSpec(
        key="child",
        name="Детский",
        name_kk="Балалар",
        name_en="Child",
        prices={Seat.Kind.STANDARD: Decimal("1500.00"), Seat.Kind.VIP: Decimal("3000.00")},
    ),
    TicketTypeSpec(
        key="student",
        name="Студенческий",
        name_kk="Студенттік",
        name_en="Student",
        requires_document=True,
        prices={Seat.Kind.STANDARD: Decimal("1800.00")},
    ),
]


def city_make(slug: str = "almaty") -> City:
    city, _ = City.objects.get_or_create(
        slug=slug, defaults={"name": "Алматы", "name_kk": "Алматы", "name_en": "Almaty"}
    )
    return city


def cinema_make(*, slug: str = "esentai", city: City | None = None, **rules) -> Cinema:
    cinema, _ = Cinema.objects.get_or_create(
        slug=slug,
        defaults={"city": city or city_make(), "name": f"Кинотеатр {slug}", "name_en": slug,
                  "address": "пр. Аль-Фараби, 77", **rules},
    )  # fmt: skip
    return cinema


@transaction.atomic
def hall_make(
    *, cinema: Cinema | None = None, code: str = "1", rows: int = 5, per_row: int = 10
) -> Hall:
    """A rectangular hall: `rows` rows of `per_row` seats; the back row is VIP
    except its last two seats, a love seat (a pair); the first row's first
    seat is a wheelchair space with the second as its companion."""
    cinema = cinema or cinema_make()
    venue = venue_create_from_spec(
        spec={
            "venue": {
                "name": f"{cinema.slug} hall {code}",
                "slug": f"hall-{cinema.slug}-{code}",
                "time_zone": cinema.time_zone,
                "map": {"width": 40 + per_row * 30, "height": 80 + rows * 30},
                "stage": {"x": 20, "y": 10, "w": per_row * 30, "h": 10},
            },
            "sections": [
                {"code": "H", "name": "Зал", "layout": "grid", "tier": "standard",
                 "origin": [35, 60], "rows": rows, "seats_per_row": per_row,
                 "spacing": [30, 30]},
            ],
        }
    )  # fmt: skip
    seats = list(Seat.objects.filter(section__venue=venue).order_by("row_index", "number"))
    by_pos = {(s.row_index, s.number): s for s in seats}
    last = max(s.row_index for s in seats)
    first = min(s.row_index for s in seats)
    Seat.objects.filter(pk__in=[s.pk for s in seats if s.row_index == last]).update(kind="vip")
    love = by_pos[(last, per_row - 1)], by_pos[(last, per_row)]
    wheel = by_pos[(first, 1)], by_pos[(first, 2)]
    for (a, b), kinds in ((love, ("love", "love")), (wheel, ("wheelchair", "companion"))):
        Seat.objects.filter(pk=a.pk).update(kind=kinds[0], pair=b)
        Seat.objects.filter(pk=b.pk).update(kind=kinds[1], pair=a)
    hall, _ = Hall.objects.get_or_create(
        cinema=cinema, code=code, defaults={"venue": venue, "name": f"Зал {code}"}
    )
    return hall


def film_make(*, slug: str = "steppe-wind", duration: int = 110, rating: str = "12+") -> Film:
    film = Film.objects.filter(slug=slug).first()
    if film:
        return film
    title = f"Фильм {slug}"
    return Film.objects.create(
        production=film_production(film_slug=slug, title=title, title_en=slug),
        slug=slug,
        title=title,
        title_en=slug.replace("-", " ").title(),
        synopsis="Описание фильма.",
        duration_minutes=duration,
        age_rating=rating,
        release_date=timezone.localdate(),
    )


def showing_make(
    *,
    hall: Hall | None = None,
    film: Film | None = None,
    starts_at: datetime | None = None,
    **extra,
) -> Showing:
    return showing_create(
        hall=hall or hall_make(),
        film=film or film_make(),
        starts_at=starts_at or timezone.now() + timedelta(hours=3),
        prices=extra.pop("prices", DEFAULT_PRICES),
        ticket_types=extra.pop("ticket_types", DEFAULT_TYPES),
        **extra,
    )
