"""Password rules (等保 2.0 basics, GB/T 22239-2019 8.1.4.1 身份鉴别: 口令具有复杂度要求).

Pure: the rules take the password and the user name and say what is wrong, in Chinese and
English, so every path that sets a password (an administrator's create or reset, a user's own
change, the command line) refuses alike. The history rule needs stored hashes and lives in
``server/services/users.py``.
"""

from __future__ import annotations

import string

#: The installation may ask for more (``GUANJIA_PASSWORD_MIN_LENGTH``), never for less.
MIN_LENGTH = 8
MAX_LENGTH = 128  # argon2 hashes anything, but a megabyte password is an attack, not a choice
CLASSES_REQUIRED = 3


def character_classes(password: str) -> int:
    """How many of the four classes (lower, upper, digit, other) the password uses.

    A character of none of the first three (a symbol, a space, a Chinese character) is
    "other".
    """
    return sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                any(c in string.digits for c in password),
                any(not (c.islower() or c.isupper() or c in string.digits)
                    for c in password)))


def password_problems(password: str, username: str, *, min_length: int = MIN_LENGTH
                      ) -> list[str]:
    """Every rule the password breaks (empty when it may be used)."""
    min_length = max(MIN_LENGTH, min_length)
    problems = []
    if len(password) < min_length:
        problems.append(f"密码至少{min_length}位 / at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"密码最多{MAX_LENGTH}位 / at most {MAX_LENGTH} characters")
    if character_classes(password) < CLASSES_REQUIRED:
        problems.append("密码须含小写字母、大写字母、数字、符号四类中的至少三类 / use at least "
                        "three of: lower-case letters, upper-case letters, digits, symbols")
    name = username.strip().lower()
    if name and (password.lower() == name or password.lower() == name[::-1]):
        problems.append("密码不能与用户名相同 / the password must not be the user name")
    return problems
