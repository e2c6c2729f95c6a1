"""DateTime/Carbon objects <-> aware datetimes, checked against the fixtures."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ninja_redis.exceptions import SerializeError
from ninja_redis.php import PhpObject, carbon, dumps, loads, to_datetime
from tests._shared import iter_fixtures, raw

CARBON_MAJOR = {"10.50.3": 2}  # 11.x, 12.x and 13.x ship Carbon 3


def _carbon_inputs() -> list[tuple[str, str, str, bytes]]:
    found = []
    for version, scenario, data in iter_fixtures():
        if scenario != "cache_value_types":
            continue
        for step in data["steps"]:
            value = step["output"].get("input", {}).get("value")
            if isinstance(value, dict) and "$carbon" in str(value.get("json")):
                js = value["json"]
                found.append(
                    (version, js["$carbon"], js["class"], raw(value["serialize"]))
                )
    return found


CARBONS = _carbon_inputs()


def test_fixtures_have_carbon_values() -> None:
    assert {v for v, *_ in CARBONS} >= {"10.50.3", "11.56.0", "12.67.0"}


@pytest.mark.parametrize(("version", "iso", "cls", "blob"), CARBONS)
def test_carbon_builder_matches_laravel(
    version: str, iso: str, cls: str, blob: bytes
) -> None:
    when = dt.datetime.fromisoformat(iso)
    obj = carbon(when, cls, carbon_major=CARBON_MAJOR.get(version, 3))
    assert dumps(obj) == blob
    assert to_datetime(loads(blob)) == when
    assert loads(blob).to_datetime().utcoffset() == dt.timedelta(0)


def test_timezone_types() -> None:
    def obj(date: str, tz_type: int, tz: str) -> PhpObject:
        return PhpObject(
            "DateTime", {"date": date, "timezone_type": tz_type, "timezone": tz}
        )

    paris = to_datetime(obj("2024-07-01 12:00:00.000000", 3, "Europe/Paris"))
    assert paris.tzinfo == ZoneInfo("Europe/Paris")
    assert paris.utcoffset() == dt.timedelta(hours=2)
    edt = to_datetime(obj("2024-07-01 12:00:00.500000", 2, "EDT"))
    assert edt.utcoffset() == dt.timedelta(hours=-4) and edt.microsecond == 500000
    ist = to_datetime(obj("2024-07-01 12:00:00.000000", 1, "+05:30"))
    assert ist.utcoffset() == dt.timedelta(hours=5, minutes=30)
    neg = to_datetime(obj("2024-07-01 12:00:00", 1, "-03:00"))
    assert neg.utcoffset() == dt.timedelta(hours=-3)
    for bad in (obj("2024-07-01", 3, "UTC"), obj("x", 1, "+00:00"),
                obj("2024-07-01 12:00:00", 3, "Nowhere/City"),
                obj("2024-07-01 12:00:00", 2, "XYZT"), PhpObject("X", {})):  # fmt: skip
        with pytest.raises(ValueError):
            to_datetime(bad)


def test_carbon_variants() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=ZoneInfo("America/New_York"))
    plain = carbon(when, "DateTime")
    assert dumps(plain) == (
        b'O:8:"DateTime":3:{s:4:"date";s:26:"2024-01-02 03:04:05.000006";'
        b's:13:"timezone_type";i:3;s:8:"timezone";s:16:"America/New_York";}'
    )
    c3 = carbon(when)
    assert c3["dumpDateProperties"] == {
        "date": "2024-01-02 03:04:05.000006",
        "timezone": "America/New_York",
    }
    c2 = carbon(when, "Carbon\\Carbon", carbon_major=2)
    assert loads(c2["dumpDateProperties"]["timezone"].encode()) == PhpObject(
        "Carbon\\CarbonTimeZone", {"timezone_type": 3, "timezone": "America/New_York"}
    )
    assert "dumpDateProperties" not in carbon(when, dump_date_properties=False)
    odd = dt.timezone(dt.timedelta(hours=-9, minutes=-30))
    assert carbon(when.replace(tzinfo=odd))["timezone"] == "-09:30"
    assert to_datetime(c3) == when
    with pytest.raises(SerializeError, match="aware"):
        carbon(dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        carbon(when, carbon_major=1)
    with pytest.raises(SerializeError, match="carbon"):
        dumps(when)
