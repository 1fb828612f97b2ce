"""The cinema side of the `make run` demo: Almaty, three cinemas, halls of
different shapes (a 50-seat room, 200 seats with VIP rows and a love-seat row,
a 450-seat IMAX hall, wheelchair spaces with companion seats), five made-up
films and a week of showings from today, several of them tonight.

Idempotent and quick: catalogue rows are get-or-create by slug; a showing is
keyed by its slug (film, cinema, hall, local start), so a second load creates
nothing and a load on a later day adds only the days that are new. The
showings (~160) are written by the schedule import's bulk writer
(cinema.imports.showings_write: one transaction, about a second).

The halls are plain grids with seat kinds set by row here; the hall layout
specs (curved rows, aisles, a staff preview) are the layouts work's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from cinema.imports import PlannedShowing, showings_write
from cinema.models import Cinema, City, Film, Genre, Hall, Showing
from cinema.selectors import schedule_changed
from cinema.services import TicketTypeSpec, film_production, showing_slug
from events.models import Seat
from events.services import venue_create_from_spec

CITY_SLUG = "almaty"
ZONE = "Asia/Almaty"
DAYS = 7
# Local start times of each hall's day, by hall size (a big hall shows fewer, longer runs).
DAY_TIMES = {
    "small": ("12:00", "15:00", "18:00", "21:00"),
    "medium": ("11:00", "14:30", "18:30", "21:30"),
    "large": ("13:00", "17:00", "20:30"),
}

D = Decimal
PRICES = {
    Seat.Kind.STANDARD: D("2500"),
    Seat.Kind.VIP: D("4500"),
    Seat.Kind.WHEELCHAIR: D("1500"),
    Seat.Kind.COMPANION: D("1500"),
    Seat.Kind.LOVE: D("3500"),
}
IMAX_EXTRA = D("1500")


ZERO = Decimal("0")


def ticket_types(extra: Decimal = ZERO) -> list[TicketTypeSpec]:
    """Adult at the tier's price; child, student and pensioner cheaper on
    standard and VIP seats; no child or concession tickets on love seats."""
    std, vip = Seat.Kind.STANDARD, Seat.Kind.VIP
    love = Seat.Kind.LOVE
    return [
        TicketTypeSpec(key="adult", name="Взрослый", name_kk="Ересек", name_en="Adult"),
        TicketTypeSpec(
            key="child",
            name="Детский",
            name_kk="Балалар",
            name_en="Child",
            prices={std: D("1500") + extra, vip: D("3000") + extra, love: None},
        ),
        TicketTypeSpec(
            key="student",
            name="Студенческий",
            name_kk="Студенттік",
            name_en="Student",
            requires_document=True,
            prices={std: D("1800") + extra, vip: D("3500") + extra, love: None},
        ),
        TicketTypeSpec(
            key="pensioner",
            name="Пенсионный",
            name_kk="Зейнеткерлік",
            name_en="Pensioner",
            requires_document=True,
            prices={std: D("1500") + extra, vip: D("3000") + extra, love: None},
        ),
    ]


@dataclass(frozen=True)
class HallShape:
    code: str
    name: str
    name_en: str
    size: str  # small | medium | large (DAY_TIMES)
    rows: int
    per_row: int
    vip_rows: tuple[int, ...] = ()  # row numbers, 1 = the front row
    love_row: int | None = None  # a row of sofas: seats 1+2, 3+4, ...
    wheelchair: tuple[tuple[int, int], ...] = ()  # (row, seat): the seat after is its companion
    format: str = Showing.Format.TWO_D


SMALL = HallShape("1", "Зал 1", "Hall 1", "small", 5, 10, wheelchair=((1, 1),))
MEDIUM = HallShape(
    "2", "Зал 2", "Hall 2", "medium", 10, 20,
    vip_rows=(8, 9), love_row=10, wheelchair=((1, 1), (1, 19)),
)  # fmt: skip
LARGE = HallShape(
    "imax", "IMAX", "IMAX", "large", 18, 25,
    vip_rows=(15, 16, 17, 18), wheelchair=((1, 1), (1, 24), (18, 12)),
    format=Showing.Format.IMAX,
)  # fmt: skip
COMPACT = HallShape("3", "Зал 3", "Hall 3", "small", 8, 12, love_row=8, wheelchair=((1, 11),))

CINEMAS = [
    {
        "slug": "alatau",
        "name": "Алатау Синема",
        "name_kk": "Алатау Синема",
        "name_en": "Alatau Cinema",
        "address": "пр. Достык, 111",
        "address_kk": "Достық даңғылы, 111",
        "address_en": "111 Dostyk Ave",
        "map_url": "https://2gis.kz/almaty/search/Достык%20111",
        "rules": {"hold_minutes": 15, "refund_cutoff_minutes": 30, "sales_close_minutes": 10},
        "halls": (SMALL, MEDIUM),
    },
    {
        "slug": "koktem",
        "name": "Көктем Кино",
        "name_kk": "Көктем Кино",
        "name_en": "Koktem Kino",
        "address": "мкр. Коктем-1, 15",
        "address_kk": "Көктем-1 шағын ауданы, 15",
        "address_en": "15 Koktem-1",
        "map_url": "https://2gis.kz/almaty/search/Коктем-1%2015",
        "rules": {"hold_minutes": 10, "refund_cutoff_minutes": 60, "sales_close_minutes": 0},
        "halls": (LARGE, COMPACT),
    },
    {
        "slug": "esentai",
        "name": "Есентай Кинозал",
        "name_kk": "Есентай Кинозалы",
        "name_en": "Esentai Kinozal",
        "address": "пр. Аль-Фараби, 77/8",
        "address_kk": "Әл-Фараби даңғылы, 77/8",
        "address_en": "77/8 Al-Farabi Ave",
        "map_url": "https://2gis.kz/almaty/search/Аль-Фараби%2077",
        "rules": {"hold_minutes": 12, "refund_cutoff_minutes": 45, "sales_close_minutes": 15},
        "halls": (MEDIUM, SMALL),
    },
]

GENRES = {
    "drama": ("Драма", "Драма", "Drama"),
    "adventure": ("Приключения", "Шытырман оқиға", "Adventure"),
    "animation": ("Мультфильм", "Мультфильм", "Animation"),
    "family": ("Семейный", "Отбасылық", "Family"),
    "thriller": ("Триллер", "Триллер", "Thriller"),
    "comedy": ("Комедия", "Комедия", "Comedy"),
}

FILMS = [
    {
        "slug": "steppe-wind",
        "title": ("Ветер степи", "Дала желі", "Steppe Wind"),
        "synopsis": (
            "Молодой табунщик ищет пропавший табун и находит дорогу домой.",
            "Жас жылқышы жоғалған үйірді іздеп, үйге апаратын жолды табады.",
            "A young horse herder searches for a lost herd and finds his way home.",
        ),
        "duration": 118,
        "rating": "12+",
        "genres": ("drama", "adventure"),
    },
    {
        "slug": "snow-leopard",
        "title": ("Снежный барс", "Қар барысы", "Snow Leopard"),  # noqa: RUF001
        "synopsis": (
            "Котёнок снежного барса спускается с гор, чтобы спасти свою долину.",  # noqa: RUF001
            "Қар барысының күшігі өз алқабын құтқару үшін таудан түседі.",
            "A snow leopard cub comes down from the mountains to save its valley.",
        ),
        "duration": 92,
        "rating": "0+",
        "genres": ("animation", "family"),
    },
    {
        "slug": "last-caravan",
        "title": ("Последний караван", "Соңғы керуен", "The Last Caravan"),
        "synopsis": (
            "Караван на Шёлковом пути и тайна, которую везут его верблюды.",  # noqa: RUF001
            "Жібек жолындағы керуен және түйелері тасыған құпия.",
            "A caravan on the Silk Road and the secret its camels carry.",
        ),
        "duration": 104,
        "rating": "6+",
        "genres": ("adventure", "family"),
    },
    {
        "slug": "almaty-nights",
        "title": ("Ночной Алматы", "Түнгі Алматы", "Almaty Nights"),
        "synopsis": (
            "Таксист за одну ночь оказывается в центре громкого дела.",
            "Таксист бір түнде үлкен істің ортасында қалады.",  # noqa: RUF001
            "A taxi driver finds himself at the centre of a big case in one night.",
        ),
        "duration": 126,
        "rating": "16+",
        "genres": ("thriller",),
    },
    {
        "slug": "forty-days-to-spring",
        "title": ("Сорок дней до весны", "Көктемге қырық күн", "Forty Days to Spring"),
        "synopsis": (
            "Семья готовится к Наурызу, и всё идёт не по плану.",
            "Отбасы Наурызға дайындалады, бірақ бәрі жоспардан тыс өтеді.",
            "A family gets ready for Nauryz, and nothing goes to plan.",
        ),
        "duration": 99,
        "rating": "12+",
        "genres": ("comedy", "family"),
    },
]


def _city() -> City:
    city, _ = City.objects.get_or_create(
        slug=CITY_SLUG,
        defaults={"name": "Алматы", "name_kk": "Алматы", "name_en": "Almaty", "time_zone": ZONE},
    )
    return city


def _genres() -> dict[str, Genre]:
    found = {}
    for slug, (ru, kk, en) in GENRES.items():
        found[slug], _ = Genre.objects.get_or_create(
            slug=slug, defaults={"name": ru, "name_kk": kk, "name_en": en}
        )
    return found


def _films(genres: dict[str, Genre], today) -> list[Film]:
    films = []
    for index, spec in enumerate(FILMS):
        ru, kk, en = spec["title"]
        film = Film.objects.filter(slug=spec["slug"]).first()
        if film is None:
            s_ru, s_kk, s_en = spec["synopsis"]
            film = Film.objects.create(
                production=film_production(
                    film_slug=spec["slug"], title=ru, title_kk=kk, title_en=en
                ),
                slug=spec["slug"], title=ru, title_kk=kk, title_en=en,
                synopsis=s_ru, synopsis_kk=s_kk, synopsis_en=s_en,
                duration_minutes=spec["duration"], age_rating=spec["rating"],
                trailer_url=f"https://example.com/trailers/{spec['slug']}",
                release_date=today - timedelta(days=7 * index),
            )  # fmt: skip
            film.genres.set([genres[g] for g in spec["genres"]])
        films.append(film)
    return films


def _hall(cinema: Cinema, shape: HallShape) -> Hall:
    hall = Hall.objects.filter(cinema=cinema, code=shape.code).first()
    if hall is not None:
        return hall
    pitch = 30
    venue = venue_create_from_spec(
        spec={
            "venue": {
                "name": f"{cinema.name}, {shape.name}",
                "slug": f"hall-{cinema.slug}-{shape.code}",
                "city": "Алматы",
                "time_zone": cinema.time_zone,
                "map": {"width": 40 + shape.per_row * pitch, "height": 80 + shape.rows * pitch},
                "stage": {"x": 20, "y": 10, "w": shape.per_row * pitch, "h": 10},
            },
            "sections": [
                {"code": "H", "name": "Зал", "name_kk": "Зал", "name_en": "Hall",
                 "layout": "grid", "tier": "standard", "origin": [35, 60],
                 "rows": shape.rows, "seats_per_row": shape.per_row,
                 "spacing": [pitch, pitch]},
            ],
        }
    )  # fmt: skip
    seats = list(Seat.objects.filter(section__venue=venue).order_by("row_index", "number"))
    rows = sorted({s.row_index for s in seats})
    row_of = {index: n for n, index in enumerate(rows, start=1)}  # 1 = the front row
    by_pos = {(row_of[s.row_index], s.number): s for s in seats}
    vip = [s.pk for s in seats if row_of[s.row_index] in shape.vip_rows]
    Seat.objects.filter(pk__in=vip).update(kind=Seat.Kind.VIP)
    pairs = []
    if shape.love_row:
        for number in range(1, shape.per_row, 2):
            pairs.append((by_pos[(shape.love_row, number)], by_pos[(shape.love_row, number + 1)],
                          Seat.Kind.LOVE, Seat.Kind.LOVE))  # fmt: skip
    for row, number in shape.wheelchair:
        pairs.append((by_pos[(row, number)], by_pos[(row, number + 1)],
                      Seat.Kind.WHEELCHAIR, Seat.Kind.COMPANION))  # fmt: skip
    for a, b, kind_a, kind_b in pairs:
        Seat.objects.filter(pk=a.pk).update(kind=kind_a, pair=b)
        Seat.objects.filter(pk=b.pk).update(kind=kind_b, pair=a)
    return Hall.objects.create(
        cinema=cinema, venue=venue, code=shape.code, name=shape.name, name_en=shape.name_en,
        name_kk=shape.name, sort_order=0 if shape.code != "imax" else 9,
    )  # fmt: skip


def _cinemas(city: Cinema) -> list[tuple[Cinema, list[tuple[Hall, HallShape]]]]:
    result = []
    for spec in CINEMAS:
        cinema, _ = Cinema.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "city": city, "name": spec["name"], "name_kk": spec["name_kk"],
                "name_en": spec["name_en"], "address": spec["address"],
                "address_kk": spec["address_kk"], "address_en": spec["address_en"],
                "map_url": spec["map_url"], "time_zone": ZONE, **spec["rules"],
            },
        )  # fmt: skip
        result.append((cinema, [(_hall(cinema, shape), shape) for shape in spec["halls"]]))
    return result


def _plan(
    cinemas: list[tuple[Cinema, list[tuple[Hall, HallShape]]]],
    films: list[Film],
    now: datetime,
    days: int,
    top_up: bool,
) -> list[tuple[Hall, HallShape, Film, datetime]]:
    """(hall, shape, film, start) for every slot of the week still ahead; the
    films rotate through the halls so each plays in every cinema."""
    zone = ZoneInfo(ZONE)
    today = now.astimezone(zone).date()
    plan = []
    rotation = 0
    for day in range(days):
        date = today + timedelta(days=day)
        for _cinema, halls in cinemas:
            for hall, shape in halls:
                for clock in DAY_TIMES[shape.size]:
                    hour, minute = map(int, clock.split(":"))
                    start = datetime.combine(date, time(hour, minute), zone)
                    rotation += 1
                    if start > now + timedelta(minutes=20):
                        plan.append((hall, shape, films[rotation % len(films)], start))
    if top_up and not any(start < now + timedelta(hours=3) for *_rest, start in plan):
        # Nothing in the next hours (late evening, or the small hours): a few
        # showings starting soon in the small halls, so there is always
        # something to buy tonight.
        soon = (now + timedelta(minutes=50)).replace(second=0, microsecond=0)
        soon -= timedelta(minutes=soon.minute % 10)
        small = [(h, s) for _c, halls in cinemas for h, s in halls if s.size == "small"]
        for index, (hall, shape) in enumerate(small):
            start = soon + timedelta(minutes=20 * index)
            plan.append((hall, shape, films[index % len(films)], start))
    return plan


def cinema_demo_load(
    *, now: datetime | None = None, days: int = DAYS, say: Callable[[str], object] | None = None
) -> int:
    """Load the cinema demo (idempotent); returns how many showings it created."""
    now = now or timezone.now()
    # One transaction: a commit per showing (its fsync) would double the time.
    with transaction.atomic():
        return _load(now=now, days=days, say=say)


def _load(*, now: datetime, days: int, say: Callable[[str], object] | None) -> int:
    city = _city()
    films = _films(_genres(), now.astimezone(ZoneInfo(ZONE)).date())
    cinemas = _cinemas(city)
    # Tonight's top-up only when the city has nothing soon (not on a second load).
    top_up = not Showing.objects.filter(
        city=city, starts_at__gt=now, starts_at__lt=now + timedelta(hours=3)
    ).exists()
    plan = _plan(cinemas, films, now, days, top_up)
    by_slug = {showing_slug(hall=h, film=f, starts_at=t): (h, s, f, t) for h, s, f, t in plan}
    existing = set(
        Showing.objects.filter(event__slug__in=list(by_slug)).values_list("event__slug", flat=True)
    )
    plans: list[PlannedShowing] = []
    for slug, (hall, shape, film, start) in by_slug.items():
        if slug in existing:
            continue
        extra = IMAX_EXTRA if shape.format == Showing.Format.IMAX else D("0")
        created = len(plans)
        plans.append(
            PlannedShowing(
                line=created + 1,
                hall=hall,
                film=film,
                starts_at=start,
                ends_at=Showing.end_of(start, film),
                format=shape.format,
                language=Showing.Language.RU if created % 3 else Showing.Language.KK,
                subtitles="" if created % 3 else Showing.Language.RU,
                prices={kind: PRICES[kind] + extra for kind in _kinds(shape)},
                ticket_types=ticket_types(extra),
            )
        )
    # The import's bulk writer (the demo's plan has no overlaps by construction):
    # a few hundred showings in a second or two instead of one by one.
    if plans:
        showings_write(plans=plans, now=now)
        transaction.on_commit(lambda: schedule_changed(city_id=city.pk))
    created = len(plans)
    if say and created:
        say(f"cinema demo: {created} showings in {len(cinemas)} cinemas of Almaty")
    return created


def _kinds(shape: HallShape) -> list[str]:
    """The seat kinds the hall has: a tier only for those (no empty VIP tier)."""
    kinds = [Seat.Kind.STANDARD]
    if shape.vip_rows:
        kinds.append(Seat.Kind.VIP)
    if shape.wheelchair:
        kinds += [Seat.Kind.WHEELCHAIR, Seat.Kind.COMPANION]
    if shape.love_row:
        kinds.append(Seat.Kind.LOVE)
    return kinds
