"""Shared helpers for the phpredis serializers: PHP value model, numbers, array keys.

Every decoder in ninja_redis maps PHP values the same way:

* PHP ``string`` -> ``str`` when the bytes are valid UTF-8, else ``bytes``;
* PHP ``array``  -> ``list`` when its keys are exactly ``0..n-1`` in order, else ``dict``
  (``int``/``str``/``bytes`` keys);
* PHP objects    -> :class:`ninja_redis.php.PhpObject`, enum cases -> ``PhpEnum``.

Pure module: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from .exceptions import SerializeError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "array_items",
    "format_php_number",
    "php_string_cast",
    "is_php_numeric",
    "make_array",
    "php_gcvt",
    "php_str",
]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# PHP 8 is_numeric() for strings: leading AND trailing whitespace allowed.
_NUMERIC_RE = re.compile(
    rb"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"[ \t\n\r\v\f]*"
)
# zend_handle_numeric_str: a string array key that PHP stores as an int key.
_INT_KEY_RE = re.compile(r"-?(?:0|[1-9][0-9]*)")


def is_php_numeric(data: bytes | str) -> bool:
    """PHP 8 ``is_numeric()`` of a string: ``" 12"``, ``"1e3"``, ``".5"``, ``"12 "`` are."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return _NUMERIC_RE.fullmatch(data) is not None


def php_str(data: bytes) -> str | bytes:
    """A PHP string as Python: ``str`` if valid UTF-8, else the ``bytes`` unchanged."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def make_array(keys: list[Any], values: list[Any]) -> list[Any] | dict[Any, Any]:
    """A decoded PHP array: a ``list`` for keys ``0..n-1`` in order, else a ``dict``.

    Later duplicate keys overwrite the value but keep the first position, like PHP.
    """
    n = len(keys)
    for i in range(n):
        k = keys[i]
        if k != i or type(k) is not int:
            return dict(zip(keys, values, strict=True))
    return values


def _key(k: Any) -> int | str | bytes:
    """PHP array key normalisation (``"5"`` -> ``5``, ``True`` -> ``1``)."""
    t = type(k)
    if t is int:
        if not INT64_MIN <= k <= INT64_MAX:
            raise SerializeError(f"array key {k!r} does not fit in a PHP int", k)
        return k  # type: ignore[no-any-return]
    if t is str:
        if (
            k
            and (k[0] in "-0123456789")
            and len(k) < 21
            and _INT_KEY_RE.fullmatch(k)
            and k != "-0"
            and INT64_MIN <= int(k) <= INT64_MAX
        ):
            return int(k)
        return k  # type: ignore[no-any-return]
    if t is bytes or t is bytearray:
        try:
            s = bytes(k).decode("ascii")
        except UnicodeDecodeError:
            return bytes(k)
        n = _key(s)
        return n if isinstance(n, int) else bytes(k)
    if t is bool:
        return int(k)
    if isinstance(k, int):
        return _key(int(k))
    if isinstance(k, str):
        return _key(str(k))
    raise SerializeError(f"unsupported PHP array key type {t.__name__}", k)


def array_items(value: list[Any] | tuple[Any, ...] | dict[Any, Any]) -> list[Any]:
    """``[(key, value), ...]`` of a Python list/dict as the PHP array would hold it."""
    if not isinstance(value, dict):
        return list(enumerate(value))
    out: dict[int | str | bytes, Any] = {}
    plain = True
    for k in value:
        if type(k) is not int or not INT64_MIN <= k <= INT64_MAX:
            plain = False
            break
    if plain:
        return list(value.items())
    for k, v in value.items():
        nk = _key(k)
        # bytes and str keys with the same bytes are the same PHP key
        if isinstance(nk, bytes):
            try:
                nk = nk.decode("utf-8")
            except UnicodeDecodeError:
                pass
        out[nk] = v
    return list(out.items())


def is_list_like(items: Iterable[tuple[Any, Any]]) -> bool:
    """True when keys are ``0..n-1`` in order (PHP ``array_is_list``)."""
    for i, (k, _) in enumerate(items):
        if k != i or type(k) is not int:
            return False
    return True


def _digits_shortest(x: float) -> tuple[str, int]:
    """Shortest round-trip digits and decimal exponent of ``abs(x)`` (zend_dtoa mode 0)."""
    s = repr(abs(x))
    if "e" in s:
        mant, exp = s.split("e")
        digits = mant.replace(".", "")
        decpt = int(exp) + 1
    else:
        ip, fp = s.split(".")
        if ip != "0":
            digits = ip + fp
            decpt = len(ip)
        else:
            stripped = fp.lstrip("0")
            digits = stripped
            decpt = -(len(fp) - len(stripped))
    digits = digits.rstrip("0") or "0"
    if digits == "0":
        decpt = 1
    return digits, decpt


def _digits_precision(x: float, ndigit: int) -> tuple[str, int]:
    """``ndigit`` correctly rounded significant digits (zend_dtoa mode 2).

    zend_dtoa drops trailing zeros, except on its "small integer" path: an integral
    value below 1e15 that is an exact tie rounded down (half to even) keeps them, so
    PHP casts ``120000000000005.0`` to ``"1.2000000000000E+14"``.
    """
    s = f"{abs(x):.{ndigit - 1}e}"
    mant, exp = s.split("e")
    digits = mant.replace(".", "")
    n = int(abs(x)) if abs(x) < 1e15 and x.is_integer() else 0
    drop = len(str(n)) - ndigit
    if not (
        drop > 0
        and n % 10**drop == 5 * 10 ** (drop - 1)
        and int(digits) == n // 10**drop
    ):
        digits = digits.rstrip("0") or "0"
    decpt = int(exp) + 1
    if digits == "0":
        decpt = 1
    return digits, decpt


def php_gcvt(x: float, precision: int, exp_char: str = "E") -> str:
    """PHP's ``php_gcvt`` / ``smart_str_append_double``.

    ``precision`` 17 with shortest digits is ``serialize_precision = -1`` (json_encode,
    serialize); 14 is ini ``precision`` used by the ``(string)`` cast.
    """
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INF" if x > 0 else "-INF"
    if precision == -1:
        digits, decpt = _digits_shortest(x)
        precision = 17
    else:
        digits, decpt = _digits_precision(x, precision)
    neg = math.copysign(1.0, x) < 0
    sign = "-" if neg else ""
    if (decpt < -3) if decpt < 0 else (decpt > precision):
        # exponential: 1.0E+25, 1.5E-7
        e = decpt - 1
        esign = "-" if e < 0 else "+"
        rest = digits[1:] or "0"
        return f"{sign}{digits[0]}.{rest}{exp_char}{esign}{abs(e)}"
    if decpt <= 0:
        return f"{sign}0.{'0' * (-decpt)}{digits}"
    if len(digits) <= decpt:
        return sign + digits + "0" * (decpt - len(digits))
    return f"{sign}{digits[:decpt]}.{digits[decpt:]}"


def format_php_number(value: int | float) -> str:
    """A PHP number as phpredis sends it: the ``(string)`` cast (ini ``precision`` 14).

    ``5`` -> ``"5"``, ``0.1 + 0.2`` -> ``"0.3"``, ``1e14`` -> ``"1.0E+14"``,
    ``-0.0`` -> ``"-0"``, ``12345678901234.5`` -> ``"12345678901234"`` (exact ties
    round half to even). ``bool`` is rejected: PHP does not treat it as a number here.
    """
    t = type(value)
    if t is int:
        return str(value)
    if t is float:
        return php_gcvt(value, 14)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"format_php_number() needs an int or float, not {t.__name__}")
    return format_php_number(int(value) if isinstance(value, int) else float(value))


def php_string_cast(value: Any) -> str:
    """PHP's ``(string) $value`` (string interpolation, ``implode()``): ``null`` and
    ``false`` → ``""``, ``true`` → ``"1"``, numbers as :func:`format_php_number`
    (``0.1 + 0.2`` → ``"0.3"``), bytes kept byte for byte (``surrogateescape``)."""
    if isinstance(value, str):
        return value
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, (int, float)):
        return format_php_number(value)
    return str(value)
