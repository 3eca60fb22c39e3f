"""Time in the simulated estate: 100 ns ticks since the Unix epoch, and the texts EM prints them as.

Every builder and view keeps times as ticks and turns them into text here, so one clock serves all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

# Times are kept as integer 100 ns ticks since the Unix epoch (.NET's resolution): exact, cheap to compare
# and to sort, and enough to print the 7 fractional digits EM sometimes emits.
TICKS_PER_SECOND = 10_000_000
TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
TICKS_PER_HOUR = 60 * TICKS_PER_MINUTE
TICKS_PER_DAY = 24 * TICKS_PER_HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ticks_of(dt: datetime) -> int:
    """100 ns ticks since the epoch of an aware datetime."""
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10


def datetime_of(ticks: int) -> datetime:
    """Aware UTC datetime of `ticks` (the seventh fractional digit is dropped)."""
    return _EPOCH + timedelta(microseconds=ticks // 10)


_DAY_TEXT: dict[int, str] = {}


def date_time_text(seconds: int) -> tuple[str, str]:
    """(`yyyy-MM-dd`, `HH:mm:ss`) of Unix `seconds`; day texts are cached since 150k items share 30 days."""
    day, sod = divmod(seconds, 86_400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
    hours, rest = divmod(sod, 3600)
    return date, f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def iso_utc(ticks: int) -> str:
    """ISO-8601 UTC text the way EM prints it: trailing fractional zeros (and a bare dot) dropped."""
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    date, time = date_time_text(seconds)
    if frac:
        return f"{date}T{time}." + f"{frac:07d}".rstrip("0") + "Z"
    return f"{date}T{time}Z"


def name_stamp(ticks: int) -> str:
    """`yyyy-MM-dd HH:mm:ss` (UTC) as used in VmRestorePoint, session and task names."""
    date, time = date_time_text(ticks // TICKS_PER_SECOND)
    return f"{date} {time}"


def sql_style_name(ticks: int) -> str:
    """SQL Server `mon dd yyyy hh:miAM` text, e.g. `Oct  6 2025  8:00PM` (space-padded day and hour)."""
    dt = datetime_of(ticks)
    hour12 = dt.hour % 12 or 12
    ampm = "AM" if dt.hour < 12 else "PM"
    return f"{_MONTHS[dt.month - 1]} {dt.day:>2} {dt.year} {hour12:>2}:{dt.minute:02d}{ampm}"



def to_second(ticks: int) -> int:
    """`ticks` cut to the second (a point's time then gets its own precision from `subsecond`)."""
    return ticks - ticks % TICKS_PER_SECOND


def days_from(start: datetime, end: datetime) -> Iterator[datetime]:
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    while day <= end:
        yield day
        day += timedelta(days=1)



def us_local(ticks: int, offset_hours: int) -> str:
    """`2/23/2017 1:06 PM`: the US-format local time EM writes into job descriptions."""
    dt = datetime_of(ticks) + timedelta(hours=offset_hours)
    hour12 = dt.hour % 12 or 12
    return f"{dt.month}/{dt.day}/{dt.year} {hour12}:{dt.minute:02d} {'AM' if dt.hour < 12 else 'PM'}"



def micro_text(ticks: int) -> str:
    """`yyyy-MM-ddTHH:mm:ss.ffffff` (no zone): system-session event times."""
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    date, time = date_time_text(seconds)
    return f"{date}T{time}.{frac // 10:06d}"


def millis(ticks: int) -> int:
    """`ticks` cut to the millisecond."""
    return ticks - ticks % 10_000


