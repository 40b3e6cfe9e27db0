"""Password rules (等保 2.0 basics): length, three of four classes, not the user name."""

from __future__ import annotations

import pytest

from server.rules.passwords import character_classes, password_problems


@pytest.mark.parametrize(("password", "says"), [
    ("Ab1!", "至少8位"),
    ("abcdefghij", "至少三类"),
    ("abcdef123", "至少三类"),
    ("ABCDEFGH!!", "至少三类"),
    ("Zhaoshang", "至少三类"),
    ("X" * 100 + "a1" * 20, "最多128位"),
])
def test_a_password_breaking_a_rule_is_refused_saying_which(password: str, says: str) -> None:
    problems = password_problems(password, "zhaoshang")
    assert any(says in p for p in problems), problems
    assert all(" / " in p for p in problems)  # Chinese and English


def test_the_user_name_is_refused_even_in_another_case_or_reversed() -> None:
    assert any("用户名" in p for p in password_problems("Zhang.San1", "zhang.san1"))
    assert any("用户名" in p for p in password_problems("1NAS.gnahz", "zhang.san1"))


@pytest.mark.parametrize("password", ["Guanjia-2026", "new-pass-2026", "长风破浪会有时abc1",
                                      "CORRECT horse 9"])
def test_a_password_of_three_classes_passes(password: str) -> None:
    assert password_problems(password, "zhaoshang") == []


def test_an_installation_may_ask_for_more_length_never_less() -> None:
    assert password_problems("Abcdef-12", "u", min_length=12)
    assert password_problems("Abc-12", "u", min_length=4)  # 8 stays the floor
    assert character_classes("aA1!") == 4 and character_classes("中文ab") == 2
