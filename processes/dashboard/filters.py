"""The dashboard's filters, as the page's address and the API's query string carry them (the
same names): ``from`` and ``to`` (days, ``YYYY-MM-DD``, in SEALFLOW_TIMEZONE; both included),
``flow`` (a flow's key), ``business_type``, ``seal`` (an id) and ``group`` (a group's key)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from processes.errors import BadInput, msg
from processes.isotime import timezone_name
from processes.models import utcnow

NAMES = ("from", "to", "flow", "business_type", "seal", "group")
"""The query parameters, in the order an address writes them."""
DEFAULT_MONTHS = 12
"""With no ``from``: the current month and the eleven before it."""
MAX_MONTHS = 120
"""A range spans at most ten years (one column per month in the seal uses)."""
MAX_TEXT = 200


@dataclass(frozen=True)
class Filters:
    """What the figures are read over. ``start`` and ``end`` are the range's bounds in UTC
    (``end`` excluded); ``months`` the first moment of each month the range touches, in the
    organisation's zone (the seal uses' columns), with the bound after the last."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime
    months: tuple[datetime, ...]
    flow: str | None = None
    business_type: str | None = None
    seal_id: int | None = None
    group: str | None = None

    def as_args(self) -> dict[str, str]:
        """The filters as query parameters (the range always written out)."""
        args = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(),
                "flow": self.flow, "business_type": self.business_type,
                "seal": str(self.seal_id) if self.seal_id else None, "group": self.group}
        return {k: v for k, v in args.items() if v}

    def month_labels(self) -> list[str]:
        """``YYYY-MM`` of each month column."""
        return [m.strftime("%Y-%m") for m in self.months[:-1]]


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadInput(msg("%(name)s must be a day written YYYY-MM-DD", name=name)) from None


def _text(raw: str | None, name: str) -> str | None:
    value = (raw or "").strip()
    if len(value) > MAX_TEXT:
        raise BadInput(msg("%(name)s is too long (at most %(most)s characters)", name=name,
                           most=MAX_TEXT))
    return value or None


def _seal(raw: str | None) -> int | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18 or int(value) < 1:
        raise BadInput(msg("seal must be a seal's id (a whole number)"))
    return int(value)


def _month_starts(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, ...]:
    """The first moment of each month from ``first``'s to ``last``'s, then of the month after."""
    starts = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        starts.append(datetime(year, month, 1, tzinfo=zone))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    starts.append(datetime(year, month, 1, tzinfo=zone))
    return tuple(starts)


def parse(args: Mapping[str, str], now: datetime | None = None) -> Filters:
    """The filters in ``args`` (a query string); BadInput naming the one that is wrong."""
    zone = ZoneInfo(timezone_name())
    today = (now or utcnow()).astimezone(zone).date()
    raw_to = (args.get("to") or "").strip()
    last = _day(raw_to, "to") if raw_to else today
    raw_from = (args.get("from") or "").strip()
    if raw_from:
        first = _day(raw_from, "from")
    else:
        back = last.year * 12 + last.month - 1 - (DEFAULT_MONTHS - 1)
        first = date(back // 12, back % 12 + 1, 1)
    if first > last:
        raise BadInput(msg("from must not be after to"))
    months = _month_starts(first, last, zone)
    if len(months) - 1 > MAX_MONTHS:
        raise BadInput(msg("the range may span at most %(most)s months", most=MAX_MONTHS))
    start = datetime.combine(first, time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
    return Filters(first_day=first, last_day=last, start=start, end=end,
                   # The first column starts with the range, the bound after the last ends it.
                   months=(start, *months[1:-1], end),
                   flow=_text(args.get("flow"), "flow"),
                   business_type=_text(args.get("business_type"), "business_type"),
                   seal_id=_seal(args.get("seal")), group=_text(args.get("group"), "group"))
