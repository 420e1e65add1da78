"""The clock the servers under test run on: the system's, shifted by whole hours (`serve
--clock-offset-hours`) to where every US zone is well inside calling hours (09:00–18:00), so the tests'
contacts keep the zones of their own area codes and no test depends on the hour CI runs. No imports
beyond the standard library: the server benchmark uses it too."""
import datetime
import time
import zoneinfo

US_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Anchorage",
            "Pacific/Honolulu")


def calling_hours_shift():
    """The whole hours, 0 first and then the nearest, that put every US zone inside 09:00–18:00 now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    for hours in [0] + [h for k in range(1, 13) for h in (k, -k)]:
        then = now + datetime.timedelta(hours=hours)
        if all(9 <= then.astimezone(zoneinfo.ZoneInfo(zone)).hour < 18 for zone in US_ZONES):
            return hours
    raise AssertionError("no shift puts every US zone inside calling hours")


CLOCK_SHIFT_HOURS = calling_hours_shift()
# One argument with "=": a negative shift passed apart ("-1") would be read as an option.
CLOCK_SHIFT = [f"--clock-offset-hours={CLOCK_SHIFT_HOURS}"]


def server_now():
    """Seconds since the epoch on the servers' (shifted) clock."""
    return time.time() + CLOCK_SHIFT_HOURS * 3600
