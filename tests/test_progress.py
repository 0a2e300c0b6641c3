"""The backfill's progress line (``simulate.progress``): its text, its pacing on a terminal and in a
log, and how close the plan's estimate of the history's size comes to what is generated."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from refdata.files import default_dir, read_dir
from simulate.progress import FULL, MAX_BAR, Reporter, expected_events, line
from simulate.stream import messages, prepare

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_known_total_shows_a_bar_percent_counts_rate_time_left_and_day():
    text = line(sent=312_400, total=503_000, elapsed_s=74.2, latest=date(2026, 10, 3), width=120)
    assert text.startswith("history █")
    assert " 62 % 312,400 / 503,000 events, 4,210/s, about 45 s left, up to 2026-10-03" in text
    bar = text.split(" ")[1]
    assert set(bar) <= {"█", "░"}
    assert bar.count(FULL) == int(0.621 * len(bar))
    assert len(text) <= 120


def test_the_bar_shrinks_to_the_width_and_never_below_ten():
    wide = line(sent=50, total=100, elapsed_s=1, latest=None, width=200)
    narrow = line(sent=50, total=100, elapsed_s=1, latest=None, width=40)
    assert len(wide.split(" ")[1]) == MAX_BAR
    assert len(narrow.split(" ")[1]) == 10
    assert len(line(sent=50, total=100, elapsed_s=1, latest=None, width=70)) == 69


def test_an_unknown_total_shows_counts_and_rate_only():
    text = line(sent=1_234_567, total=None, elapsed_s=100, latest=date(2026, 1, 2))
    assert text == "history 1,234,567 events, 12,346/s, up to 2026-01-02"


def test_more_than_the_estimate_shows_a_full_bar_and_no_time_left():
    text = line(sent=1_100, total=1_000, elapsed_s=1, latest=None)
    assert "100 % 1,100 / 1,100 events, 1,100/s" in text
    assert "left" not in text


@pytest.mark.parametrize(("seconds", "shown"), [(0.2, "1 s"), (45, "45 s"), (600, "10 min"), (7200, "2.0 h")])
def test_time_left_is_said_in_a_readable_unit(seconds: float, shown: str):
    text = line(sent=100, total=100 + round(seconds * 100), elapsed_s=1, latest=None, width=200)
    assert f"about {shown} left" in text


def test_nothing_sent_yet_says_zero_without_dividing_by_zero():
    assert "0 / 10 events, 0/s" in line(sent=0, total=10, elapsed_s=0, latest=None)


def test_on_a_terminal_each_report_redraws_one_line_in_place():
    out = io.StringIO()
    bar = Reporter(out, tty=True, width=lambda: 100, prefix="ioc simulate: ")
    moment = datetime(2026, 10, 3, 10, tzinfo=TZ)
    for second in range(1, 4):
        bar.show(sent=second * 1000, total=3000, elapsed_s=second, latest=moment)
    bar.finish()
    text = out.getvalue()
    assert text.count("\r") == 3
    assert text.count("\n") == 1
    assert text.endswith("\n")
    assert all(len(part.rstrip("\n")) < 100 for part in text.split("\r"))
    assert "ioc simulate: history" in text
    assert "100 % 3,000 / 3,000 events" in text


def test_in_a_log_one_plain_line_every_five_seconds():
    out = io.StringIO()
    bar = Reporter(out, tty=False, width=lambda: 80)
    for second in range(13):
        bar.show(sent=second * 100, total=2000, elapsed_s=float(second), latest=None)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 3  # at 0, 5 and 10 s
    assert [text.split(" events")[0].rsplit(" ", 3)[1] for text in lines] == ["0", "500", "1,000"]


@pytest.mark.parametrize(("days", "rate", "within"), [(7, 0.2, 0.05), (30, 0.05, 0.05), (1, 0.5, 0.5)])
def test_the_estimate_from_the_plan_is_close_to_what_is_generated(days: float, rate: float, within: float):
    data = read_dir(default_dir())
    now = datetime(2026, 11, 25, 11, tzinfo=TZ)  # a Wednesday morning
    plan = prepare(data, seed=1, now=now, history_days=days, rate=rate, tz=TZ)
    generated = sum(1 for _ in messages(plan))
    assert abs(expected_events(plan) - generated) <= within * generated, (expected_events(plan), generated)


def test_no_history_expects_nothing():
    data = read_dir(default_dir())
    now = datetime(2026, 11, 25, 11, tzinfo=TZ)
    assert expected_events(prepare(data, seed=1, now=now, history_days=0, rate=1, tz=TZ)) == 0
