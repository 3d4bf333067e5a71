"""The short forms of a duration, in English and Chinese, at each unit's edges."""

from __future__ import annotations

import pytest

from engine.durations import format_duration

CASES = [
    (0, "0s", "0秒"),
    (45, "45s", "45秒"),
    (60, "1m", "1分钟"),
    (61, "1m01s", "1分1秒"),
    (725, "12m05s", "12分5秒"),
    (3600, "1h", "1小时"),
    (11100, "3h05m", "3小时5分"),
    (86400, "1d", "1天"),
    (187200, "2d4h", "2天4小时"),
    (-5, "0s", "0秒"),
]


@pytest.mark.parametrize(("seconds", "en", "zh"), CASES)
def test_short_forms(seconds: float, en: str, zh: str) -> None:
    assert format_duration(seconds) == en
    assert format_duration(seconds, "zh-CN") == zh
    assert format_duration(seconds, "fr") == en  # a language without its own forms: English
