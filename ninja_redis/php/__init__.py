"""PHP ``serialize()`` / ``unserialize()``, byte for byte (PHP 8.x).

::

    from ninja_redis import php

    php.loads(b'a:1:{s:5:"theme";s:4:"dark";}')   # {'theme': 'dark'}
    php.dumps([1, 2.5, "é"])   # b'a:3:{i:0;i:1;i:1;d:2.5;i:2;s:2:"\\xc3\\xa9";}'

The C accelerator (``ninja_redis.php._speedups``) is used when it was built;
``NINJA_REDIS_PURE=1`` forces the pure-Python implementation. ``IMPLEMENTATION``
says which one is active (``"c"`` or ``"python"``). Both behave identically.

.. versionadded:: 0.1
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from . import _pure
from ._dates import carbon, to_datetime
from ._pure import format_float
from ._types import (
    PhpEnum,
    PhpIncompleteClass,
    PhpIncompleteSerializable,
    PhpObject,
    PhpRef,
    PhpSerializable,
    PropertyKey,
)

__all__ = [
    "IMPLEMENTATION",
    "PhpEnum",
    "PhpIncompleteClass",
    "PhpIncompleteSerializable",
    "PhpObject",
    "PhpRef",
    "PhpSerializable",
    "PropertyKey",
    "carbon",
    "dumps",
    "dumps_json_escaped",
    "format_float",
    "loads",
    "to_datetime",
]

_impl: Any = _pure
IMPLEMENTATION = "python"
if os.environ.get("NINJA_REDIS_PURE", "") in ("", "0"):
    try:
        from . import _speedups
    except ImportError:  # no compiler at install time: the pure fallback
        pass
    else:
        _impl = _speedups
        IMPLEMENTATION = "c"

_dumps = _impl.dumps
_loads = _impl.loads
_dumps_json_escaped = _impl.dumps_json_escaped


def dumps(value: Any) -> bytes:
    """Serialize ``value`` exactly like PHP 8's ``serialize()``.

    ``None``, ``bool``, ``int`` (64-bit), ``float``, ``str`` (UTF-8), ``bytes``,
    ``list``/``tuple`` (lists), ``dict`` (PHP arrays, keys normalised like PHP),
    :class:`PhpObject`, :class:`PhpEnum`, :class:`PhpSerializable` and
    :class:`PhpRef`. Containers that occur twice by identity become ``R:``/``r:``
    back-references, numbered like PHP. Anything else raises
    :class:`~ninja_redis.exceptions.SerializeError` naming the type (``datetime``
    included: build a Carbon object with :func:`carbon`).
    """
    result: bytes = _dumps(value)
    return result


def dumps_json_escaped(value: Any) -> bytes:
    """``dumps(value)`` escaped as the inside of a PHP ``json_encode`` string with
    ``JSON_UNESCAPED_UNICODE`` (``"`` ``\\`` ``/`` and control characters escaped,
    UTF-8 kept): how a serialized command sits in a queue payload. Invalid UTF-8
    raises :class:`~ninja_redis.exceptions.SerializeError`."""
    result: bytes = _dumps_json_escaped(value)
    return result


def loads(
    data: bytes,
    *,
    allowed_classes: bool | Iterable[str] = True,
    max_depth: int = 4096,
    strict: bool = False,
) -> Any:
    """Unserialize PHP ``serialize()`` bytes.

    ``allowed_classes``: like PHP's option: ``True`` (all), ``False`` (none) or class
    names (case-insensitive); other classes load as :class:`PhpIncompleteClass` /
    :class:`PhpIncompleteSerializable` and are written back unchanged. Enums are not
    affected (PHP 8 does not check them either).

    ``max_depth``: maximum nesting of arrays and objects (PHP's
    ``unserialize_max_depth``, default 4096; ``0`` = unlimited; parsing is iterative
    so any depth is safe).

    ``strict``: PHP ignores bytes after the first complete value (PHP 8.3+ also warns);
    so does ``loads()`` by default. ``strict=True`` rejects them.

    Every malformed or hostile input raises
    :class:`~ninja_redis.exceptions.UnserializeError` with ``.offset``; declared
    lengths and counts are checked against the remaining input before anything is
    allocated.
    """
    return _loads(
        data, allowed_classes=allowed_classes, max_depth=max_depth, strict=strict
    )
