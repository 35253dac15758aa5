"""ISO 8601 timer values as designers write them: bare (``PT1H``) or quoted (``"PT1H"``),
dates without an offset read in the organisation's time zone (SEALFLOW_TIMEZONE)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_WEEK = re.compile(r"^\d{4}-?W\d{2}-?\d([T ].+)?$", re.I)
_CYCLE = re.compile(r"^R\d*/", re.I)

_zone = ZoneInfo("Asia/Shanghai")


def set_timezone(name: str) -> None:
    """The zone of dates written without an offset (set once by the app from its config)."""
    global _zone
    try:
        _zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def timezone_name() -> str:
    return str(_zone)


def day_start(at: datetime) -> datetime:
    """The start of ``at``'s day in the organisation's time zone, in UTC (a "day" as the
    people who read the log live it, not UTC's, which begins at 08:00 in Shanghai)."""
    local = at.astimezone(_zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text


def is_iso_timer(text: str) -> bool:
    """A bare or quoted ISO 8601 date, duration or repeating interval."""
    value = _unquote(str(text))
    if _CYCLE.match(value):
        return all(_is_part(p) for p in value.split("/")[1:]) and len(value.split("/")) in (2, 3)
    return _is_part(value)


def _is_part(value: str) -> bool:
    return bool(_DURATION.match(value) or _DATE.match(value) or _WEEK.match(value))


def _with_offset(value: str) -> str:
    """A date or date-time without an offset gets the organisation zone's offset."""
    if not _DATE.match(value) or value.endswith("Z") or re.search(r"[+-]\d{2}:?\d{2}$", value):
        return value
    parsed = datetime.fromisoformat(value.replace(" ", "T"))
    return parsed.replace(tzinfo=_zone).isoformat()


def normalise(text: str) -> str:
    """The ISO value SpiffWorkflow can parse, with offsets made explicit."""
    value = _unquote(str(text))
    if _CYCLE.match(value):
        head, *parts = value.split("/")
        return "/".join([head.upper(), *(_with_offset(p) for p in parts)])
    if _DURATION.match(value):
        return value.upper()
    return _with_offset(value)


def due_from(value: str, now: datetime | None = None) -> datetime:
    """When a user task's due date falls: an ISO date(-time) or a duration from now."""
    now = now or datetime.now(UTC)
    value = normalise(value)
    if _DURATION.match(value):
        from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), _zone)
    return datetime.fromisoformat(value).astimezone(UTC)


def moment(text: str, name: str, *, day_end: bool = False) -> datetime:
    """A filter's or a form's time: an ISO date (a day in the organisation's time zone: its
    start, or with ``day_end`` the start of the next day) or date-time (no offset: that zone).

    :raises BadInput: neither (the message names the field ``name``)."""
    from processes.errors import BadInput, msg
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if day_end else 0)
            return datetime.combine(day, time.min, _zone).astimezone(UTC)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(msg("%(name)s must be a date (2026-01-31) or a date and time, not "
                           "'%(value)s'", name=name, value=text)) from None
    return (when if when.tzinfo else when.replace(tzinfo=_zone)).astimezone(UTC)
