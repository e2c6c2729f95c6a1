"""``DateTime`` / Carbon objects <-> aware ``datetime``.

PHP writes a ``DateTime`` as three properties (``date``, ``timezone_type``,
``timezone``); Carbon adds ``dumpDateProperties`` when the ``msgpack`` extension is
loaded (Laravel's fixtures and most servers). See spec §1.1 and §14 item 8.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..exceptions import SerializeError
from ._types import PhpObject

__all__ = ["DATE_CLASSES", "carbon", "to_datetime"]

#: Classes whose serialized form is ``date`` / ``timezone_type`` / ``timezone``.
DATE_CLASSES = frozenset(
    {
        "DateTime",
        "DateTimeImmutable",
        "Carbon\\Carbon",
        "Carbon\\CarbonImmutable",
        "Illuminate\\Support\\Carbon",
    }
)

_DATE = re.compile(
    r"(-?\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\Z", re.ASCII
)
_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)(?::?(\d\d))?\Z", re.ASCII)

# timezone_type 2 abbreviations (the common ones of timelib's table): hours from UTC
_ABBREVIATIONS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 1, "BST": 1,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "SAST": 2, "IST": 5.5, "PKT": 5, "HKT": 8, "SGT": 8, "AWST": 8, "JST": 9,
    "KST": 9, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12,
    "NZDT": 13, "HST": -10, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7,
    "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4,
    "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5, "BRT": -3, "ART": -3,
}  # fmt: skip


def _parse_offset(text: str) -> timezone:
    m = _OFFSET.match(text)
    if not m:
        raise ValueError(f"unrecognised UTC offset {text!r}")
    sign, hh, mm, ss = m.groups()
    delta = timedelta(hours=int(hh), minutes=int(mm), seconds=int(ss or 0))
    return timezone(-delta if sign == "-" else delta)


def to_datetime(obj: PhpObject) -> datetime:
    """An aware ``datetime`` from a serialized ``DateTime``/Carbon object.

    ``timezone_type`` 1 (``"+02:00"``) gives a fixed ``timezone``, 2 (``"CEST"``) a
    fixed offset named by the abbreviation, 3 (``"Europe/Paris"``) a ``ZoneInfo``.
    Raises ``ValueError`` if the object has no such properties or a date outside
    Python's range (years 1..9999).
    """
    try:
        date_s = obj["date"]
        tz_type = obj["timezone_type"]
        tz_name = obj["timezone"]
    except KeyError as exc:
        raise ValueError(
            f"{obj.class_name} object has no date/timezone_type/timezone properties"
        ) from exc
    if not isinstance(date_s, str) or not isinstance(tz_name, str):
        raise ValueError("date and timezone must be strings")
    m = _DATE.match(date_s)
    if not m:
        raise ValueError(f"unrecognised PHP date {date_s!r}")
    year, month, day, hour, minute, second, frac = m.groups()
    tz: tzinfo
    if tz_type == 1:
        tz = _parse_offset(tz_name)
    elif tz_type == 2:
        hours = _ABBREVIATIONS.get(tz_name.upper())
        if hours is None:
            raise ValueError(f"unknown timezone abbreviation {tz_name!r}")
        tz = timezone(timedelta(hours=hours), tz_name)
    elif tz_type == 3:
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {tz_name!r}") from exc
    else:
        raise ValueError(f"unknown timezone_type {tz_type!r}")
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        int((frac or "0").ljust(6, "0")),
        tzinfo=tz,
    )


def _timezone_of(dt: datetime) -> tuple[int, str]:
    tz = dt.tzinfo
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)  # zoneinfo / pytz
    if isinstance(key, str):
        return 3, key
    offset = dt.utcoffset()
    assert offset is not None
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hh, rest = divmod(total, 3600)
    mm, ss = divmod(rest, 60)
    return 1, f"{sign}{hh:02d}:{mm:02d}" + (f":{ss:02d}" if ss else "")


def carbon(
    dt: datetime,
    class_name: str = "Illuminate\\Support\\Carbon",
    carbon_major: int = 3,
    *,
    dump_date_properties: bool | None = None,
) -> PhpObject:
    """The object PHP's ``serialize()`` writes for ``dt`` as a Carbon/DateTime.

    ``dt`` must be aware: a ``ZoneInfo`` zone gives ``timezone_type`` 3 (the zone
    name), any other tzinfo (``timezone.utc``, fixed offsets) type 1 (``"+00:00"``),
    as Carbon does for ``Carbon::parse('...+00:00')``.

    Carbon 2 and 3 add ``dumpDateProperties`` when PHP has the ``msgpack``
    extension (the default here, ``dump_date_properties=None`` means "for Carbon
    classes"); Carbon 2 writes its timezone there as a serialized
    ``Carbon\\CarbonTimeZone``. ``DateTime``/``DateTimeImmutable`` never have it::

        carbon(datetime(2024, 5, 17, 10, 30, tzinfo=timezone.utc))
        # O:25:"Illuminate\\Support\\Carbon":4:{s:4:"date";s:26:"2024-05-17 10:30:00.000000";
        #   s:13:"timezone_type";i:1;s:8:"timezone";s:6:"+00:00";
        #   s:18:"dumpDateProperties";a:2:{s:4:"date";...;s:8:"timezone";s:6:"+00:00";}}
    """
    if not isinstance(dt, datetime):
        raise SerializeError(f"carbon() needs a datetime, not {type(dt).__name__}", dt)
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise SerializeError(
            "carbon() needs an aware datetime (PHP dates always carry a timezone)", dt
        )
    if carbon_major not in (2, 3):
        raise ValueError("carbon_major must be 2 or 3")
    tz_type, tz_name = _timezone_of(dt)
    date_s = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond:06d}"
    )
    props: dict[Any, Any] = {
        "date": date_s,
        "timezone_type": tz_type,
        "timezone": tz_name,
    }
    if dump_date_properties is None:
        dump_date_properties = class_name not in ("DateTime", "DateTimeImmutable")
    if dump_date_properties:
        tz_value: str
        if carbon_major == 2:
            from . import dumps

            zone = PhpObject(
                "Carbon\\CarbonTimeZone",
                {"timezone_type": tz_type, "timezone": tz_name},
            )
            tz_value = dumps(zone).decode("utf-8")
        else:
            tz_value = tz_name
        props["dumpDateProperties"] = {"date": date_s, "timezone": tz_value}
    return PhpObject(class_name, props)
