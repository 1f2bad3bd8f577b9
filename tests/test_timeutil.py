"""RFC3339 times as Go servers write them, in any zone (``colonies.timeutil``), and how the CLI
shows them (``colonies.cli.output.format_time``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colonies.cli.output import format_time
from colonies.timeutil import NS, format_ns, parse_ns

# Go's zero time (0001-01-01T00:00:00Z) as Go servers in various zones write it. Stockholm's
# offset in year 1 is local mean time, +01:12:12, which Go writes without its seconds.
ZERO_TIMES = [
    "",
    "0001-01-01T00:00:00Z",
    "0001-01-01T01:12:12+01:12",  # Europe/Stockholm (TZ of upstream's docker-compose.env)
    "0001-01-01T01:12:12+01:12:12",  # the same offset with its seconds
    "0000-12-31T19:03:58-04:56",  # America/New_York: year 0 west of Greenwich
    "0001-01-01T09:18:59+09:18",  # Asia/Tokyo's local mean time
    "0001-01-01T00:00:00.000000000+00:00",
]


@pytest.mark.parametrize("text", ZERO_TIMES)
def test_go_zero_time_in_any_zone_is_zero(text: str) -> None:
    assert parse_ns(text) == 0
    assert format_time(text) == ""


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2023-11-14T22:13:20.12Z", 1_700_000_000_120_000_000),
        ("2023-11-14T23:13:20.12+01:00", 1_700_000_000_120_000_000),
        ("2023-11-14T17:13:20.120000000-05:00", 1_700_000_000_120_000_000),
        ("2023-11-14T23:25:32.12+01:12:12", 1_700_000_000_120_000_000),  # seconds in the offset
        ("2023-11-14T22:13:20.1234567891234Z", 1_700_000_000_123_456_789),  # cut after 9 digits
        ("2023-11-14t22:13:20z", 1_700_000_000 * NS),
        ("2023-11-14T22:13:20", 1_700_000_000 * NS),  # no zone: UTC
        ("1970-01-01T00:00:00.000000001Z", 1),
        ("1969-12-31T23:59:59Z", -NS),  # before the epoch, after year 1: a real time
    ],
)
def test_offsets_and_fractions(text: str, ns: int) -> None:
    assert parse_ns(text) == ns


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(
    st.datetimes(
        min_value=datetime(1800, 1, 1),
        max_value=datetime(9000, 1, 1),
        timezones=st.integers(-23 * 60 + 1, 23 * 60 - 1).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        ),
    )
)
def test_parses_what_python_formats_in_any_offset(moment: datetime) -> None:
    seconds = (moment - EPOCH) // timedelta(seconds=1)
    assert parse_ns(moment.isoformat()) == seconds * NS + moment.microsecond * 1000


@given(st.integers(min_value=1, max_value=2**62))
def test_round_trip(ns: int) -> None:
    assert parse_ns(format_ns(ns)) == ns


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00+1:00"],
)
def test_not_a_time_is_a_value_error_and_shown_raw(text: str) -> None:
    with pytest.raises(ValueError, match="not an RFC3339 time"):
        parse_ns(text)
    assert format_time(text) == text  # the CLI shows what the server sent, never a traceback


def test_format_time_is_local_wall_clock() -> None:
    text = "2024-05-01T14:00:00.5+02:00"
    local = datetime.fromtimestamp(parse_ns(text) / NS)
    assert format_time(text) == local.strftime("%Y-%m-%d %H:%M:%S")
