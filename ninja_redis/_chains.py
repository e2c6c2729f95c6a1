"""Laravel's chain and unique-job rules for the queue worker, without I/O.

What ``CallQueuedHandler`` / ``Queueable::dispatchNextJobInChain()`` do to a job's
unserialized command after it ran (the next job of a chain, with the rest of the chain and
the chain settings) and how ``UniqueLock`` names a unique job. The worker
(``_async/worker.py``) does the Redis part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from . import php
from .exceptions import QueueError
from .payloads import JobPayload, PhpJob, queueable_properties
from .php import PhpObject

__all__ = [
    "Unique",
    "UniqueId",
    "chain_job",
    "may_chain",
    "next_in_chain",
    "php_truthy",
    "unique_id_of",
]

#: ``uniqueId()`` of a unique job: the unserialized command -> the id.
UniqueId = Callable[[PhpObject], Any]


@dataclass(frozen=True)
class Unique:
    """How a handler's PHP class is unique (``ShouldBeUnique`` / ``…UntilProcessing``)."""

    until_processing: bool
    unique_id: UniqueId | None


def php_truthy(value: Any) -> bool:
    """PHP's ``(bool)`` / ``! empty()``: false for null, false, 0, 0.0, "", "0" and []."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, bytes)):
        return value not in ("", "0", b"", b"0")
    if isinstance(value, (list, dict)):
        return len(value) > 0
    return True


# A chained job's command holds s:7:"chained";a:N:{...} with N > 0.
CHAINED = 's:7:"chained";a:'


def may_chain(payload: JobPayload, can_decrypt: bool) -> bool:
    """Cheap test before unserializing: can ``data.command`` carry a non-empty chain?
    (Every ``chained`` array in a plain command is looked at; an encrypted command is
    opened only when an ``APP_KEY`` is configured.)"""
    cmd = payload.command
    if not isinstance(cmd, str):
        return False
    if not cmd.startswith("O:"):
        return can_decrypt
    start = 0
    while True:
        i = cmd.find(CHAINED, start)
        if i < 0:
            return False
        if not cmd.startswith("0:", i + len(CHAINED)):
            return True
        start = i + 1


def shift(chained: Any) -> tuple[Any, Any]:
    """PHP ``array_shift($chained)``: (first element, the rest re-indexed)."""
    if isinstance(chained, list):
        return chained[0], chained[1:]
    if not isinstance(chained, dict):
        raise QueueError(f"chained is not an array: {chained!r:.80}")
    items = list(chained.items())
    rest: dict[Any, Any] = {}
    n = 0
    for key, value in items[1:]:
        if isinstance(key, int):
            rest[n] = value
            n += 1
        else:
            rest[key] = value
    if all(isinstance(k, int) for k in rest):
        return items[0][1], list(rest.values())
    return items[0][1], rest


def put_queueable(
    props: dict[Any, Any],
    name: str,
    value: Any,
    order: tuple[str, ...],
    omit_defaults: bool,
) -> None:
    """Set a public ``Queueable`` property of an unserialized job. With
    ``SerializesModels`` 9.4+ (``omit_defaults``) a value equal to its default (null,
    ``[]`` for ``chained``) is left out, as ``__serialize()`` does; a property that is
    missing is inserted at its declared place among the ``Queueable`` properties."""
    if omit_defaults and (value in ([], {}) if name == "chained" else value is None):
        props.pop(name, None)
        return
    if name in props:
        props[name] = value
        return
    i = order.index(name)
    items = list(props.items())
    keys = [k for k, _ in items]
    after = next((n for n in reversed(order[:i]) if n in props), None)
    before = next((n for n in order[i + 1 :] if n in props), None)
    if after is not None:
        pos = keys.index(after) + 1
    elif before is not None:
        pos = keys.index(before)
    else:
        pos = len(items)
    items.insert(pos, (name, value))
    props.clear()
    props.update(items)


def next_in_chain(command: PhpObject, version: tuple[int, int]) -> PhpObject:
    """``Queueable::dispatchNextJobInChain()`` without the dispatch: the next job
    unserialized from ``array_shift($this->chained)``, with the rest of the chain, its
    ``connection``/``queue`` falling back to ``chainConnection``/``chainQueue`` (``?:``)
    and this job's ``chainConnection``, ``chainQueue`` and ``chainCatchCallbacks``."""
    props = command.properties
    first, rest = shift(props.get("chained"))
    raw = first.encode("utf-8", "surrogateescape") if isinstance(first, str) else first
    if not isinstance(raw, bytes):
        raise QueueError(f"a chained job is not a serialized string: {first!r:.80}")
    nxt = php.loads(raw)
    if not isinstance(nxt, PhpObject):
        raise QueueError(f"a chained job is not an object: {raw[:80]!r}")
    mine = nxt.properties
    # SerializesModels 9.4+ leaves out properties equal to their default; a chained
    # job has chained = [] then, so a missing "chained" shows that mode.
    omit = version >= (9, 4) and "chained" not in mine
    order = queueable_properties(version)
    chain_connection = props.get("chainConnection")
    chain_queue = props.get("chainQueue")
    connection = mine.get("connection")
    queue = mine.get("queue")
    for name, value in (
        ("chained", rest),
        ("connection", connection if php_truthy(connection) else chain_connection),
        ("queue", queue if php_truthy(queue) else chain_queue),
        ("chainConnection", chain_connection),
        ("chainQueue", chain_queue),
        ("chainCatchCallbacks", props.get("chainCatchCallbacks")),
    ):
        put_queueable(mine, name, value, order, omit)
    return nxt


def delay_value(value: Any) -> Any:
    """A job's ``delay`` property as :class:`PhpJob` takes it (seconds, datetime or
    timedelta); ``None`` when unset."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(value, PhpObject):
        if "date" in value and "timezone_type" in value:  # DateTimeInterface
            return php.to_datetime(value)
        parts = [value.get(k) for k in ("y", "m", "d", "h", "i", "s")]
        if all(isinstance(p, int) for p in parts) and parts[0] == parts[1] == 0:
            seconds = parts[2] * 86400 + parts[3] * 3600 + parts[4] * 60 + parts[5]
            sign = -1 if value.get("invert") else 1
            return timedelta(seconds=sign * seconds)  # DateInterval without y/m
    raise QueueError(f"cannot dispatch a chained job with delay {value!r:.80}")


def chain_job(nxt: PhpObject, unique: Unique | None) -> PhpJob:
    """The :class:`PhpJob` that re-serializes ``nxt`` as it is (its properties in their
    order, nothing added) and gives ``createObjectPayload()``'s fields from its public
    properties: ``tries``, ``maxExceptions``, ``failOnTimeout``, ``backoff``,
    ``timeout``, ``retryUntil``, ``shouldBeEncrypted``, ``delay`` (and ``uniqueId`` /
    ``uniqueFor`` when the class is registered as unique)."""
    props: dict[str, Any] = {}
    for key, value in nxt.properties.items():
        if not isinstance(key, str):
            raise QueueError(f"{nxt.class_name}: property name {key!r} is not a string")
        props[key] = value
    retry_until = props.get("retryUntil")
    if isinstance(retry_until, PhpObject):
        retry_until = php.to_datetime(retry_until)
    elif not isinstance(retry_until, int) or isinstance(retry_until, bool):
        retry_until = None
    options: dict[str, Any] = {}
    if unique is not None:
        unique_for = props.get("uniqueFor")
        options = {
            "unique": True,
            "unique_id": unique_id_of(nxt, unique),
            "unique_for": int(unique_for)
            if isinstance(unique_for, (int, float)) and not isinstance(unique_for, bool)
            else 0,
        }
    return PhpJob(
        nxt.class_name,
        props,
        retry_until=retry_until,
        delay=delay_value(props.get("delay")),
        encrypted=php_truthy(props.get("shouldBeEncrypted")),
        traits=(),
        tuning_properties=False,
        serializes_models=False,
        **options,
    )


def unique_id_of(command: PhpObject, unique: Unique) -> Any:
    """``uniqueId()`` (the registered callable) ?? ``$command->uniqueId ?? ''``."""
    if unique.unique_id is not None:
        value = unique.unique_id(command)
    else:
        value = command.properties.get("uniqueId")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    if value is not None and not isinstance(value, (str, int, float)):
        raise QueueError(
            f"{command.class_name}: uniqueId must be a string or a number, not "
            f"{type(value).__name__}"
        )
    return value
