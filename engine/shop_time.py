"""The shop's time zone: `time.hour` and `time.weekday` are the shop's local time, whatever offset
the caller wrote `now` in, so one instant falls in one hour (23:30+08:00 and 15:30Z alike)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .suggestions import Hint, did_you_mean

_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


@cache
def shop_timezone(name: str) -> tuple[tzinfo, str | None, Hint]:
    """The zone an IANA name (Asia/Shanghai) or a UTC offset (+08:00, UTC+8) names, a problem or None,
    and the nearest known name when the name is unknown."""
    if name in ("UTC", "Z"):
        return timezone.utc, None, Hint()
    match = _OFFSET.match(name)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            return timezone.utc, f"time zone `{name}` is not an offset between -14:00 and +14:00", Hint()
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if sign == "-" else offset), None, Hint()
    try:
        return ZoneInfo(name), None, Hint()
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, sorted(available_timezones()))
        return timezone.utc, (f"unknown time zone `{name}`: write an IANA name such as Asia/Shanghai or an offset "
                              f"such as +08:00{hint}"), hint


def shop_local(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` on the shop's clock; one past the calendar's end there (9999-12-31T23:59Z at +08:00)
    keeps the caller's offset rather than failing the request."""
    try:
        return moment.astimezone(zone)
    except OverflowError:
        return moment
