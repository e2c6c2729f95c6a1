"""Laravel queue-job payloads: build them byte for byte, and parse them safely.

A Redis queue entry is the JSON that ``Queue::createPayload()`` writes (spec §9.4),
encoded with ``JSON_UNESCAPED_UNICODE``: ``/`` becomes ``\\/``, the NUL bytes of
mangled property names ``\\u0000``, UTF-8 stays raw. For an object job (12.51+)::

    {"uuid":"…","displayName":"App\\\\Jobs\\\\SendInvoiceEmail",
     "job":"Illuminate\\\\Queue\\\\CallQueuedHandler@call","maxTries":5,
     "maxExceptions":2,"failOnTimeout":false,"backoff":"10,60,300","timeout":120,
     "retryUntil":null,"data":{"commandName":"App\\\\Jobs\\\\SendInvoiceEmail",
     "command":"O:25:\\"App\\\\Jobs\\\\SendInvoiceEmail\\":5:{…}","batchId":null},
     "createdAt":1767225600,"id":"<Str::random(32)>","attempts":0,"delay":null}

Field order per version: ≤12.10 no ``createdAt``/``delay``; 12.11+ ``createdAt`` after
``data`` and ``delay`` last; 12.51+ ``data.batchId``; 13.x ``deleteWhenMissingModels``
between ``retryUntil`` and ``data``; 11.39+ ``ShouldBeUnique`` jobs carry the
``illuminate:log:context`` hook field (after ``data``/``createdAt``) with the unique
lock's store and key. String jobs (``"App\\Handlers\\Foo@bar"``) carry arbitrary
JSON ``data`` and no ``retryUntil``.

``data.command`` is PHP ``serialize()`` of the job object (:class:`PhpJob` describes
it: the class's own properties in declaration order, then the trait properties in
the order of the Laravel version, spec §9.5 and §13), or for ``ShouldBeEncrypted``
jobs ``Crypt::encrypt()`` of that string.

This module is pure: no Redis, no I/O.

.. versionadded:: 0.1
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import enum
import json
import math
import operator
import os
import re
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

from . import php
from ._phpvalue import php_string_cast
from .config import LaravelVersion
from .exceptions import DecryptError, JobPayloadError, SerializeError, UnserializeError
from .php import PhpEnum, PhpObject, format_float
from .php import _pure as _php_pure

if TYPE_CHECKING:
    from .crypto import Encrypter

__all__ = [
    "CALL_QUEUED_HANDLER",
    "MODEL_IDENTIFIER",
    "NO_DEFAULT",
    "JobPayload",
    "ModelIdentifier",
    "PayloadBuilder",
    "PhpJob",
    "PhpJobs",
    "Prop",
    "build_payload",
    "job_display_name",
    "parse_payload",
    "php_field",
    "php_job",
    "php_json_encode",
    "private",
    "protected",
    "random_id",
    "serialize_command",
    "to_php_job",
    "unique_lock_name",
]

#: ``job`` of every object job.
CALL_QUEUED_HANDLER: Final = "Illuminate\\Queue\\CallQueuedHandler@call"
#: The class ``SerializesModels`` writes for an Eloquent model or collection.
MODEL_IDENTIFIER: Final = "Illuminate\\Contracts\\Database\\ModelIdentifier"

VersionLike = LaravelVersion | tuple[int, int] | tuple[int, ...]
DelayLike = int | float | timedelta | datetime | None
T = TypeVar("T")


class _NoDefault:
    """Marker: a property without a declared default (typed or promoted)."""

    _instance: _NoDefault | None = None

    def __new__(cls) -> _NoDefault:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"

    def __reduce__(self) -> str:
        return "NO_DEFAULT"


#: A property that has no default in PHP (typed without ``= …``, or a promoted
#: constructor property): ``SerializesModels`` always writes it.
NO_DEFAULT: Final = _NoDefault()


def _ver(version: VersionLike) -> tuple[int, int]:
    if isinstance(version, LaravelVersion):
        return (version.major, version.minor)
    return (int(version[0]), int(version[1]) if len(version) > 1 else 0)


# =====================================================================================
# Values that have a PHP form only in a job
# =====================================================================================


@dataclasses.dataclass(frozen=True)
class ModelIdentifier:
    """An Eloquent model (or collection) as ``SerializesModels`` stores it.

    ``id`` is the key (int or str) or a list of keys for a collection; ``relations``
    the loaded relation names; ``collection_class`` only exists in 9.26+ (before, the
    object has 4 properties)::

        O:45:"Illuminate\\Contracts\\Database\\ModelIdentifier":5:{s:5:"class";
        s:15:"App\\Models\\User";s:2:"id";i:7;s:9:"relations";a:0:{}
        s:10:"connection";s:5:"mysql";s:15:"collectionClass";N;}
    """

    class_name: str
    id: Any
    relations: Sequence[str] = ()
    connection: str | None = None
    collection_class: str | None = None

    def to_php(self, version: VersionLike = (12, 67)) -> PhpObject:
        """The ``ModelIdentifier`` object for ``version`` (4 props before 9.26)."""
        props: dict[Any, Any] = {
            "class": self.class_name,
            "id": list(self.id) if isinstance(self.id, (list, tuple)) else self.id,
            "relations": list(self.relations),
            "connection": self.connection,
        }
        if _ver(version) >= (9, 26):
            props["collectionClass"] = self.collection_class
        return PhpObject(MODEL_IDENTIFIER, props)

    @classmethod
    def from_php(cls, obj: PhpObject) -> ModelIdentifier:
        """Read a ``ModelIdentifier`` object written by any version."""
        ids = obj.get("id")
        rel = obj.get("relations") or []
        relations = list(rel.values()) if isinstance(rel, dict) else list(rel)
        return cls(
            str(obj.get("class")),
            ids,
            tuple(relations),
            obj.get("connection"),
            obj.get("collectionClass"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Prop:
    """A job property with its PHP visibility and declared default.

    ``default`` matters for ``SerializesModels`` (9.4+), which leaves out properties
    equal (``===``) to their declared default. Leave it as :data:`NO_DEFAULT` for a
    typed or promoted constructor property (always written); an untyped property
    without ``= …`` has the default ``None``. ``declaring_class`` names the class that
    declares a private property when it is not the job class itself.
    """

    value: Any
    visibility: Literal["public", "protected", "private"] = "public"
    default: Any = NO_DEFAULT
    declaring_class: str | None = None


def protected(value: Any, default: Any = NO_DEFAULT) -> Prop:
    """A protected property (``"\\0*\\0name"``)."""
    return Prop(value, "protected", default)


def private(
    value: Any, default: Any = NO_DEFAULT, *, declaring_class: str | None = None
) -> Prop:
    """A private property (``"\\0Class\\0name"``, the job class unless given)."""
    return Prop(value, "private", default, declaring_class)


def _php_array(value: Mapping[Any, Any]) -> dict[Any, Any]:
    """A dict with PHP's array keys (``"5"``, ``5.7`` and ``True`` are int keys; the
    last value of a repeated key wins at the first one's position)."""
    out: dict[Any, Any] = {}
    for k, x in value.items():
        key = _php_key(k)
        if isinstance(key, str):
            n = _int_key(key)
            if n is not None:
                key = n
        out[key] = x
    return out


def _php_identical(a: Any, b: Any) -> bool:
    """PHP ``===`` for the values a Python job holds."""
    if a is b:
        return True
    ta, tb = type(a), type(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(_php_identical, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        a, b = _php_array(a), _php_array(b)
        if len(a) != len(b) or list(a) != list(b):
            return False
        return all(_php_identical(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, dict):
        return _php_identical(dict(enumerate(a)), b)
    if isinstance(a, dict) and isinstance(b, (list, tuple)):
        return _php_identical(a, dict(enumerate(b)))
    if isinstance(a, (str, bytes)) and isinstance(b, (str, bytes)):
        # both PHP strings: identical when the bytes are
        return _php_bytes(a) == _php_bytes(b)
    if ta is not tb:
        return False
    if isinstance(a, (PhpObject, ModelIdentifier)):
        return False  # objects are identical only when they are the same instance
    return bool(a == b)


def _php_bytes(value: str | bytes) -> bytes:
    return (
        value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    )


# =====================================================================================
# PhpJob: a Laravel job object described from Python
# =====================================================================================

# Tuning properties a job class may declare, in the order the usual stub declares them.
_TUNING = (
    ("tries", "tries"),
    ("backoff", "backoff"),
    ("timeout", "timeout"),
    ("max_exceptions", "maxExceptions"),
    ("fail_on_timeout", "failOnTimeout"),
    ("delete_when_missing_models", "deleteWhenMissingModels"),
)

#: The traits a job normally uses (``Dispatchable`` and ``SerializesModels`` add no
#: properties). ``"Batchable"`` adds ``batchId``; order = the ``use`` statement's.
DEFAULT_TRAITS: tuple[str, ...] = ("InteractsWithQueue", "Queueable")
_KNOWN_TRAITS = frozenset({"InteractsWithQueue", "Queueable", "Batchable"})


def queueable_properties(version: VersionLike) -> tuple[str, ...]:
    """Names of ``Illuminate\\Bus\\Queueable``'s properties, in declaration order.

    8.x–10.x: ``connection, queue, chainConnection, chainQueue, chainCatchCallbacks,
    delay, afterCommit, middleware, chained``; 11.x moves the chain settings last;
    12.27 adds ``messageGroup`` (named ``group`` in 12.27 only) and 12.32
    ``deduplicator``; 13.x adds ``debounceOwner`` and ``uniqueLockOwner``.
    """
    v = _ver(version)
    if v < (11, 0):
        return (
            "connection",
            "queue",
            "chainConnection",
            "chainQueue",
            "chainCatchCallbacks",
            "delay",
            "afterCommit",
            "middleware",
            "chained",
        )
    head: tuple[str, ...] = ("connection", "queue")
    if v >= (12, 28):
        head += ("messageGroup",)
    elif v >= (12, 27):
        head += ("group",)
    if v >= (12, 32):
        head += ("deduplicator",)
    if v >= (13, 0):
        head += ("debounceOwner", "uniqueLockOwner")
    return head + (
        "delay",
        "afterCommit",
        "middleware",
        "chained",
        "chainConnection",
        "chainQueue",
        "chainCatchCallbacks",
    )


_QUEUEABLE_DEFAULTS: dict[str, Any] = {
    "middleware": [],
    "chained": [],
    "debounceOwner": "",
    "uniqueLockOwner": "",
}


class PhpJob:
    """A Laravel job object (``ShouldQueue``), described by class name and properties.

    ``properties``: the class's *own* properties in declaration order (a property
    declared above the constructor comes before the promoted ones). Values are Python
    values (``str``, ``int``, ``float``, ``bool``, ``None``, ``list``, ``dict``),
    :class:`~ninja_redis.php.PhpEnum`, :class:`ModelIdentifier`, aware ``datetime``
    (written as ``Illuminate\\Support\\Carbon``), :class:`~ninja_redis.php.PhpObject`,
    or a :class:`Prop` (``protected(v)`` / ``private(v)``) for visibility and default.
    Keys may also be raw mangled names (``"\\0*\\0email"``).

    ``tries``, ``backoff`` (int or list), ``timeout``, ``max_exceptions``,
    ``fail_on_timeout`` and ``delete_when_missing_models`` fill the payload fields.
    When ``tuning_properties`` is true (the default) they are also the class's
    declared ``public $tries = …`` properties: first in the object, left out by
    ``SerializesModels`` 9.4+ (equal to their default) and written by 8.x or by jobs
    without ``SerializesModels``. List one in ``properties`` to place it yourself.

    ``retry_until`` (datetime or Unix time) and ``display_name`` are what the
    ``retryUntil()`` / ``displayName()`` methods return. ``queue``, ``connection``,
    ``delay`` and ``chain`` are what ``onQueue()``, ``onConnection()``, ``delay()``
    and ``Bus::chain()`` set on the ``Queueable`` properties (so they are part of the
    command); ``chain`` is a list of further :class:`PhpJob`, dispatched as
    ``Bus::chain([...])->onConnection(chain_connection)->onQueue(chain_queue)`` does:
    ``chainCatchCallbacks`` becomes ``[]`` and the first job takes the chain's
    connection and queue unless it has its own.

    ``encrypted`` = ``ShouldBeEncrypted``. ``unique_id`` / ``unique_for`` make the job
    ``ShouldBeUnique`` (``uniqueId()`` / ``$uniqueFor``).

    Example (``App\\Jobs\\SendInvoiceEmail`` with a protected and a private property)::

        PhpJob("App\\Jobs\\SendInvoiceEmail",
               {"invoiceId": 1001, "email": protected("billing@example.com"),
                "meta": private({"lines": []}), "status": PhpEnum(…), "dueAt": None},
               tries=5, backoff=[10, 60, 300], timeout=120, max_exceptions=2)

    .. versionadded:: 0.1
    """

    __slots__ = (
        "_cache",
        "backoff",
        "batch_id",
        "chain",
        "chain_connection",
        "chain_queue",
        "class_name",
        "connection",
        "delay",
        "delete_when_missing_models",
        "display_name",
        "encrypted",
        "fail_on_timeout",
        "max_exceptions",
        "properties",
        "queue",
        "retry_until",
        "serializes_models",
        "tags",
        "timeout",
        "traits",
        "tries",
        "tuning_properties",
        "unique",
        "unique_for",
        "unique_id",
    )

    def __init__(
        self,
        class_name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        tries: int | None = None,
        backoff: int | Sequence[int] | None = None,
        timeout: int | None = None,
        retry_until: datetime | int | None = None,
        max_exceptions: int | None = None,
        fail_on_timeout: bool | None = None,
        delete_when_missing_models: bool | None = None,
        delay: DelayLike = None,
        chain: Sequence[PhpJob] = (),
        chain_connection: str | None = None,
        chain_queue: str | None = None,
        encrypted: bool = False,
        queue: str | None = None,
        connection: str | None = None,
        display_name: str | None = None,
        unique: bool = False,
        unique_id: str | int | None = None,
        unique_for: int | None = None,
        batch_id: str | None = None,
        tags: Sequence[str] | None = None,
        serializes_models: bool = True,
        traits: Sequence[str] = DEFAULT_TRAITS,
        tuning_properties: bool = True,
    ) -> None:
        if not isinstance(class_name, str) or not class_name:
            raise TypeError("PhpJob needs the job's PHP class name")
        if "@" in class_name:
            raise ValueError(
                f"{class_name!r} looks like a string job: push it as a str, "
                "not a PhpJob"
            )
        unknown = set(traits) - _KNOWN_TRAITS
        if unknown:
            raise ValueError(f"unknown trait(s) {sorted(unknown)}")
        self.class_name = class_name.lstrip("\\")
        self.properties: dict[str, Any] = dict(properties or {})
        self.tries = tries
        self.backoff = backoff
        self.timeout = timeout
        self.retry_until = retry_until
        self.max_exceptions = max_exceptions
        self.fail_on_timeout = fail_on_timeout
        self.delete_when_missing_models = delete_when_missing_models
        self.delay = delay
        self.chain: tuple[PhpJob, ...] = tuple(chain)
        self.chain_connection = chain_connection
        self.chain_queue = chain_queue
        self.encrypted = encrypted
        # PendingChain::dispatch() (and dispatchNextJobInChain()): a job takes the
        # chain's queue and connection unless it names its own (PHP ``?:``)
        self.queue = queue or chain_queue or queue
        self.connection = connection or chain_connection or connection
        self.display_name = display_name
        self.unique = unique or unique_id is not None or unique_for is not None
        self.unique_id = unique_id
        self.unique_for = unique_for
        self.batch_id = batch_id
        self.tags = None if tags is None else list(tags)
        self.serializes_models = serializes_models
        self.traits = tuple(traits)
        self.tuning_properties = tuning_properties
        # command bytes per version, created on first use (fewer objects per job)
        self._cache: dict[Any, bytes] | None = None

    def __repr__(self) -> str:
        return f"PhpJob({self.class_name!r}, {self.properties!r})"

    def many(self, rows: Iterable[Mapping[str, Any]]) -> PhpJobs:
        """Many jobs of this class and options, one per row of property values.

        Each row's values replace this job's property values, keeping each
        property's visibility and declared default (a :class:`Prop` in a row
        replaces the whole property; a name this job lacks is added last)::

            template = PhpJob("App\\Jobs\\SendInvoiceEmail",
                              {"invoiceId": 0, "email": protected("")}, tries=5)
            app.queue.bulk(template.many({"invoiceId": i, "email": e}
                                         for i, e in invoices))

        ``queue.bulk`` builds the payloads of such rows without a ``PhpJob`` per
        row; the bytes are those of ``bulk([template.many(rows)[i], ...])``.
        """
        return PhpJobs(self, rows)

    def _with_properties(self, row: Mapping[str, Any]) -> PhpJob:
        """A copy of this job whose property values are replaced by ``row``'s."""
        job = copy.copy(self)
        props = dict(self.properties)
        for name, value in row.items():
            old = props.get(name)
            if type(old) is Prop and not isinstance(value, Prop):
                value = Prop(value, old.visibility, old.default, old.declaring_class)
            props[name] = value
        job.properties = props
        job.tags = None if self.tags is None else list(self.tags)
        job._cache = None
        return job

    # ---------------------------------------------------------------- payload fields

    def _prop_value(self, name: str) -> Any:
        v = self.properties.get(name)
        return v.value if isinstance(v, Prop) else v

    def max_tries_value(self, version: VersionLike | None = None) -> int | None:
        """``maxTries`` of the payload: ``$job->tries ?? $job->tries()``.

        With ``tuning_properties=False`` ``tries`` is the ``tries()`` method, which
        ``createObjectPayload()`` reads only from 10.39 on (``getJobTries()``,
        laravel/framework#49473): before, ``maxTries`` is ``$job->tries ?? null``.
        """
        prop: int | None = (
            self._prop_value("tries") if "tries" in self.properties else None
        )
        if self.tuning_properties or self.tries is None:
            return self.tries if self.tries is not None else prop
        if prop is not None:
            return prop  # the property wins over the tries() method
        if version is not None and _ver(version) < (10, 39):
            return None
        return self.tries

    def _field(self, attr: str, prop: str) -> Any:
        value = getattr(self, attr)
        if value is None and prop in self.properties:
            return self._prop_value(prop)
        return value

    def backoff_value(self) -> str | None:
        """``backoff`` of the payload: the list joined with ``,`` (``"10,60,300"``)."""
        backoff = self._field("backoff", "backoff")
        if backoff is None:
            return None
        items = backoff if isinstance(backoff, (list, tuple)) else [backoff]
        return ",".join(php_string_cast(_seconds_value(b)) for b in items)

    def retry_until_value(self) -> int | None:
        """``retryUntil`` of the payload: a Unix timestamp (``$job->retryUntil ??
        $job->retryUntil()``: a ``retryUntil`` property wins over the method)."""
        ru = self._prop_value("retryUntil") if "retryUntil" in self.properties else None
        if ru is None or isinstance(ru, bool) or not isinstance(ru, (int, datetime)):
            ru = self.retry_until  # (a PHP object value: what the caller decoded)
        if ru is None:
            return None
        if isinstance(ru, datetime):
            return _timestamp(ru)
        return int(ru)

    def display_name_value(self) -> str:
        """``displayName``: ``displayName()`` if the job defines it, else the class."""
        return self.display_name if self.display_name is not None else self.class_name

    # ---------------------------------------------------------------- the command

    def php_object(self, version: VersionLike = (12, 67)) -> PhpObject:
        """The job as the ``PhpObject`` that ``serialize(clone $job)`` writes."""
        v = _ver(version)
        props = self._part(v, "head")
        props.update(self._part(v, "own"))
        props.update(self._part(v, "tail"))
        return PhpObject(self.class_name, props)

    def _part(self, v: tuple[int, int], part: str) -> dict[Any, Any]:
        """Raw-named properties of one part of the object, in order: ``head`` (the
        declared tuning properties), ``own`` (``properties``), ``tail`` (traits)."""
        carbon_major = 3 if v >= (11, 0) else 2
        omit_defaults = self.serializes_models and v >= (9, 4)
        props: dict[Any, Any] = {}
        cls = self.class_name

        def put(
            name: str, value: Any, vis: str, default: Any, owner: str | None
        ) -> None:
            if vis == "private" and self._foreign_private(owner):
                return
            if omit_defaults and default is not NO_DEFAULT:
                if _php_identical(value, default):
                    return
            props[_mangled(cls, name, vis, owner)] = _to_php(value, v, carbon_major)

        if part == "head":
            if self.tuning_properties:
                for attr, prop in _TUNING:
                    value = getattr(self, attr)
                    if value is not None and prop not in self.properties:
                        if prop == "backoff" and isinstance(value, tuple):
                            value = list(value)
                        put(prop, value, "public", value, None)
            return props
        if part == "own":
            for name, value in self.properties.items():
                if isinstance(value, Prop):
                    put(
                        name,
                        value.value,
                        value.visibility,
                        value.default,
                        value.declaring_class,
                    )
                elif name[:1] == "\0":
                    vis, bare = PhpObject.split_name(name)
                    if vis == "public":
                        props[name] = _to_php(value, v, carbon_major)
                    else:
                        put(
                            str(bare),
                            value,
                            "protected" if vis == "protected" else "private",
                            NO_DEFAULT,
                            None if vis == "protected" else vis,
                        )
                else:
                    put(name, value, "public", NO_DEFAULT, None)
            return props
        queueable = self._queueable_values(v)
        for trait in self.traits:
            if trait == "InteractsWithQueue":
                put("job", None, "public", None, None)
            elif trait == "Batchable":
                put("batchId", self.batch_id, "public", None, None)
            else:
                for name in queueable_properties(v):
                    put(
                        name,
                        queueable.get(name, _QUEUEABLE_DEFAULTS.get(name)),
                        "public",
                        _QUEUEABLE_DEFAULTS.get(name),
                        None,
                    )
        return props

    def _foreign_private(self, owner: str | None) -> bool:
        """True for a parent class's private property under ``SerializesModels``:
        its ``__serialize()`` walks ``ReflectionClass::getProperties()``, which has
        no private property of a parent class, so PHP leaves it out (a plain
        ``serialize()`` writes it as ``"\\0Parent\\0name"``)."""
        return (
            self.serializes_models
            and owner is not None
            and owner.lstrip("\\") != self.class_name
        )

    def _shape_key(self, v: tuple[int, int]) -> tuple[Any, ...] | None:
        """What head and tail depend on (``None``: not cacheable, e.g. a chain)."""
        if self.chain or isinstance(self.delay, datetime):
            return None
        return (
            self.class_name,
            v,
            self.serializes_models,
            self.traits,
            self.tuning_properties,
            self.tries,
            repr(self.backoff),
            self.timeout,
            self.max_exceptions,
            self.fail_on_timeout,
            self.delete_when_missing_models,
            tuple(
                k
                for k in (
                    "tries",
                    "backoff",
                    "timeout",
                    "maxExceptions",
                    "failOnTimeout",
                    "deleteWhenMissingModels",
                )
                if k in self.properties
            ),
            self.connection,
            self.queue,
            self.delay,
            self.chain_connection,
            self.chain_queue,
            self.batch_id,
        )

    def _queueable_values(self, v: tuple[int, int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.connection is not None:
            out["connection"] = self.connection
        if self.queue is not None:
            out["queue"] = self.queue
        if self.delay is not None:
            out["delay"] = _delay_property(self.delay)
        if self.chain:
            out["chained"] = [
                serialize_command(job, v).decode("utf-8", "surrogateescape")
                for job in self.chain
            ]
            # PendingChain::dispatch(): chainCatchCallbacks = catchCallbacks() ?? []
            out["chainCatchCallbacks"] = []
        if self.chain_connection is not None:
            out["chainConnection"] = self.chain_connection
        if self.chain_queue is not None:
            out["chainQueue"] = self.chain_queue
        return out


class PhpJobs(Sequence[PhpJob]):
    """Jobs sharing one :class:`PhpJob` ``template``, one per row of property
    values (see :meth:`PhpJob.many`). A sequence of :class:`PhpJob` (each built
    on access); ``queue.bulk`` reads the rows directly.

    .. versionadded:: 0.1
    """

    __slots__ = ("rows", "template")

    def __init__(self, template: PhpJob, rows: Iterable[Mapping[str, Any]]) -> None:
        self.template = template
        self.rows: list[Mapping[str, Any]] = list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> PhpJob: ...
    @overload
    def __getitem__(self, index: slice) -> list[PhpJob]: ...
    def __getitem__(self, index: int | slice) -> PhpJob | list[PhpJob]:
        if isinstance(index, slice):
            return [self.template._with_properties(r) for r in self.rows[index]]
        return self.template._with_properties(self.rows[index])

    def __repr__(self) -> str:
        return f"PhpJobs({self.template!r}, <{len(self.rows)} rows>)"


def _delay_property(delay: DelayLike) -> Any:
    if isinstance(delay, timedelta):
        # a DateInterval has no simple PHP form here: store seconds like delay(int)
        return int(delay.total_seconds())
    if isinstance(delay, datetime):
        return delay
    return delay


# Values ``php.dumps`` takes as they are (exact types: an ``IntEnum`` is not here).
_PLAIN_TYPES: Final = frozenset({str, int, float, bool, type(None), PhpEnum})


def _to_php(value: Any, v: tuple[int, int], carbon_major: int) -> Any:
    """Python job values → values ``php.dumps`` accepts (copies containers, so a
    list used twice is written twice, as PHP's value-semantics arrays are)."""
    t = type(value)
    if t in _PLAIN_TYPES:
        return value
    if t is dict:
        return {
            k: x if type(x) in _PLAIN_TYPES else _to_php(x, v, carbon_major)
            for k, x in value.items()
        }
    if t is list:
        return [
            x if type(x) in _PLAIN_TYPES else _to_php(x, v, carbon_major) for x in value
        ]
    if isinstance(value, ModelIdentifier):
        return value.to_php(v)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise SerializeError(
                "a naive datetime has no PHP form: give it a tzinfo "
                "(PHP dates always carry a timezone)",
                value,
            )
        return php.carbon(value, carbon_major=carbon_major)
    if isinstance(value, PhpJob):
        return value.php_object(v)
    if isinstance(value, (list, tuple)):
        return [_to_php(x, v, carbon_major) for x in value]
    if isinstance(value, dict):
        return {k: _to_php(x, v, carbon_major) for k, x in value.items()}
    if isinstance(value, enum.Enum) and not isinstance(value, PhpEnum):
        php_class = getattr(value, "__php_class__", None)
        if isinstance(php_class, str):
            return PhpEnum(php_class, value.name)
    return value


def _items(blob: bytes) -> tuple[int, bytes]:
    """``(count, items)`` of a serialized array ``a:N:{items}``."""
    brace = blob.index(b"{")
    return int(blob[2 : brace - 1]), blob[brace + 1 : -1]


_SHAPES: dict[tuple[Any, ...], tuple[bytes, int, bytes, int]] = {}


def serialize_command(job: PhpJob, version: VersionLike = (12, 67)) -> bytes:
    """``serialize(clone $job)`` for ``version``: the plain ``data.command`` bytes.

    Fast path: the tuning (head) and trait (tail) properties are constant for a job
    "shape" and cached as serialized bytes; only the own properties are serialized
    per job. When those contain a back-reference (``r:``/``R:``, whose slot numbers
    depend on the whole object) the object is serialized in one piece instead.
    """
    v = _ver(version)
    cache = job._cache
    if cache is None:
        cache = job._cache = {}
    else:
        cached = cache.get(v)
        if cached is not None:
            return cached
    key = job._shape_key(v)
    result: bytes | None = None
    if key is not None:
        shape = _SHAPES.get(key)
        if shape is None:
            head_n, head = _items(php.dumps(job._part(v, "head")))
            tail_n, tail = _items(php.dumps(job._part(v, "tail")))
            if b"r:" in head + tail or b"R:" in head + tail:
                shape = (b"", -1, b"", -1)
            else:
                shape = (head, head_n, tail, tail_n)
            if len(_SHAPES) > 4096:
                _SHAPES.clear()
            _SHAPES[key] = shape
        head, head_n, tail, tail_n = shape
        if head_n >= 0:
            own_n, own = _items(php.dumps(job._part(v, "own")))
            if b"r:" not in own and b"R:" not in own:
                cls = job.class_name.encode("utf-8")
                result = b'O:%d:"%b":%d:{%b%b%b}' % (
                    len(cls),
                    cls,
                    head_n + own_n + tail_n,
                    head,
                    own,
                    tail,
                )
    if result is None:
        result = php.dumps(job.php_object(v))
    cache[v] = result
    return result


# What a payload's constant parts depend on, besides ``backoff`` (see _plan).
_SHAPE_ATTRS: Final = operator.attrgetter(
    "class_name",
    "display_name",
    "tries",
    "timeout",
    "retry_until",
    "max_exceptions",
    "fail_on_timeout",
    "delete_when_missing_models",
    "serializes_models",
    "traits",
    "tuning_properties",
    "connection",
    "queue",
    "delay",
    "chain_connection",
    "chain_queue",
    "batch_id",
)
# properties the payload fields read (a job that has one takes the general path)
_TUNING_NAMES: Final = frozenset(prop for _attr, prop in _TUNING) | {"retryUntil"}
_MANGLED: dict[tuple[str, str, str, str | None], str] = {}


def _mangled(cls: str, name: str, visibility: str, owner: str | None) -> str:
    """The serialized name of a property: ``name``, ``"\\0*\\0name"`` (protected) or
    ``"\\0Class\\0name"`` (private, ``owner`` or the job's class); cached."""
    key = (cls, name, visibility, owner)
    raw = _MANGLED.get(key)
    if raw is None:
        if visibility == "public":
            raw = name
        elif visibility == "protected":
            raw = "\0*\0" + name
        else:
            raw = f"\0{owner or cls}\0{name}"
        if len(_MANGLED) > 4096:
            _MANGLED.clear()
        _MANGLED[key] = raw
    return raw


def _own_properties(job: PhpJob, v: tuple[int, int]) -> dict[str, Any] | None:
    """``job._part(v, "own")`` for the usual property kinds (``None``: a raw
    mangled name, left to the general path)."""
    omit_defaults = job.serializes_models and v >= (9, 4)
    cls = job.class_name
    own: dict[str, Any] = {}
    carbon_major = 3 if v >= (11, 0) else 2
    plain = _PLAIN_TYPES
    for name, value in job.properties.items():
        if type(value) is Prop:
            vis = value.visibility
            owner = value.declaring_class
            raw = _mangled(cls, name, vis, owner)
            if vis == "private" and job._foreign_private(owner):
                continue  # a parent's private property: left out
            default = value.default
            value = value.value
            if (
                omit_defaults
                and default is not NO_DEFAULT
                and _php_identical(value, default)
            ):
                continue
        elif isinstance(value, Prop) or type(name) is not str or name[:1] == "\0":
            return None
        else:
            raw = name
        t = type(value)
        # lists and dicts go as they are: a value php.dumps rejects (a datetime, a
        # ModelIdentifier, an enum member…) or one it writes as a back-reference
        # (the same list twice; _to_php copies them) sends the job to the general
        # path, which converts everything.
        own[raw] = (
            value
            if t in plain or t is list or t is dict
            else _to_php(value, v, carbon_major)
        )
    return own


# =====================================================================================
# Declaring a Python class once: @php_job
# =====================================================================================


def php_field(
    *,
    name: str | None = None,
    visibility: Literal["public", "protected", "private"] = "public",
    php_default: Any = NO_DEFAULT,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field of a :func:`php_job` class.

    ``name``: the PHP property name (default: the field name); ``visibility``;
    ``php_default``: the default declared in PHP (see :class:`Prop`).
    """
    meta = {"php": {"name": name, "visibility": visibility, "default": php_default}}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


_JOB_OPTIONS = "__php_job__"
C = TypeVar("C", bound=type)


def php_job(class_name: str, **options: Any) -> Callable[[C], C]:
    """Class decorator: a Python dataclass that *is* a Laravel job.

    The fields, in order, are the PHP class's own properties (use :func:`php_field`
    for another name, visibility or declared default); ``options`` are the
    :class:`PhpJob` keywords that do not change per instance (``tries``,
    ``backoff``, ``encrypted``, ``serializes_models``, ``traits``, …)::

        @php_job("App\\Jobs\\SendInvoiceEmail", tries=5, backoff=[10, 60, 300])
        @dataclass
        class SendInvoiceEmail:
            invoice_id: int = php_field(name="invoiceId")
            email: str = php_field(visibility="protected", default="")

        app.queue.push(SendInvoiceEmail(1001, "billing@example.com"))

    The class gains ``to_php_job(**overrides) -> PhpJob`` and
    ``from_php(obj: PhpObject)`` (the reverse mapping, for workers).
    """
    PhpJob(class_name, **options)  # validate the options now

    def decorate(cls: C) -> C:
        if not dataclasses.is_dataclass(cls):
            cls = dataclasses.dataclass(cls)  # type: ignore[assignment]
        setattr(cls, _JOB_OPTIONS, (class_name, dict(options)))

        def to_php_job_method(self: Any, **overrides: Any) -> PhpJob:
            return to_php_job(self, **overrides)

        def from_php(klass: type[T], obj: PhpObject) -> T:
            kwargs: dict[str, Any] = {}
            for f in dataclasses.fields(klass):  # type: ignore[arg-type]
                meta = f.metadata.get("php", {})
                pname = meta.get("name") or f.name
                if pname in obj:
                    kwargs[f.name] = obj[pname]
            return klass(**kwargs)

        cls.to_php_job = to_php_job_method  # type: ignore[attr-defined]
        cls.from_php = classmethod(from_php)  # type: ignore[attr-defined]
        return cls

    return decorate


def to_php_job(obj: Any, **overrides: Any) -> PhpJob:
    """A :class:`PhpJob` from a :class:`PhpJob` or an instance of a :func:`php_job`
    class (``overrides``: per-dispatch keywords such as ``queue`` or ``delay``)."""
    if isinstance(obj, PhpJob):
        return obj
    spec = getattr(type(obj), _JOB_OPTIONS, None)
    if spec is None:
        raise TypeError(
            f"{type(obj).__qualname__} is not a job: use PhpJob(...) or decorate "
            "the class with @php_job(...)"
        )
    class_name, options = spec
    props: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        meta = f.metadata.get("php", {})
        name = meta.get("name") or f.name
        value = getattr(obj, f.name)
        vis = meta.get("visibility", "public")
        default = meta.get("default", NO_DEFAULT)
        if vis == "public" and default is NO_DEFAULT:
            props[name] = value
        else:
            props[name] = Prop(value, vis, default)
    return PhpJob(class_name, props, **{**options, **overrides})


# =====================================================================================
# JSON the way PHP's json_encode writes it
# =====================================================================================


def _json_float(x: float) -> str:
    # json_encode: serialize_precision -1, lowercase exponent: 1.0e+20, 0.1, 1
    if x != x or x in (float("inf"), float("-inf")):
        raise SerializeError("json_encode cannot encode INF or NAN", x)
    return format_float(x).decode("ascii").replace("E", "e")


def _int_key(k: Any) -> int | None:
    if type(k) is int:
        return k
    if (
        isinstance(k, str)
        and k
        and (k == "0" or (k[0] != "0" and k.lstrip("-")[:1] not in ("", "0")))
    ):
        try:
            n = int(k)
        except ValueError:
            return None
        if str(n) == k and -(2**63) <= n < 2**63:
            return n
    return None


def _is_php_list(d: Mapping[Any, Any]) -> bool:
    return all(_int_key(k) == i for i, k in enumerate(d))


_INT64: Final = (-(2**63), 2**63)


def _needs_php_walk(value: Any) -> bool:
    t = type(value)
    if t is str or t is bool or value is None:
        return False
    if t is int:
        return not _INT64[0] <= value < _INT64[1]  # no such PHP int: the walk raises
    if t is list or t is tuple:
        return any(_needs_php_walk(x) for x in value)
    if t is dict:
        if not value:
            return True
        for k, x in value.items():
            if type(k) is not str or _int_key(k) is not None or _needs_php_walk(x):
                return True
        return False
    return True


def _php_json_slow(value: Any, ascii_only: bool) -> str:
    t = type(value)
    if value is None or t is bool or t is str:
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, int):
        if not _INT64[0] <= value < _INT64[1]:
            raise SerializeError(
                f"integer {value} is outside PHP's 64-bit int range", value
            )
        return str(int(value))
    if isinstance(value, str):
        return json.dumps(str(value), ensure_ascii=ascii_only)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_php_json_slow(x, ascii_only) for x in value) + "]"
    if isinstance(value, Mapping):
        # PHP array keys: "5" and 5 (and True, 5.7) are the same key; the last
        # value wins at the first one's position, as in a PHP array literal
        items = _php_array(value)
        if all(k == i for i, k in enumerate(items)):
            return (
                "["
                + ",".join(_php_json_slow(x, ascii_only) for x in items.values())
                + "]"
            )
        parts = []
        for k, x in items.items():
            parts.append(
                json.dumps(str(k), ensure_ascii=ascii_only)
                + ":"
                + _php_json_slow(x, ascii_only)
            )
        return "{" + ",".join(parts) + "}"
    raise SerializeError(
        f"json_encode: a {type(value).__name__} has no JSON form in a job payload",
        value,
    )


def _php_key(k: Any) -> int | str:
    if isinstance(k, bool):
        return int(k)
    if isinstance(k, int):
        return k
    if isinstance(k, float):
        return int(k)
    if k is None:
        return ""
    if isinstance(k, str):
        return k
    if isinstance(k, bytes):
        return k.decode("utf-8", "surrogateescape")
    raise SerializeError(f"invalid array key type {type(k).__name__}", k)


def php_json_encode(value: Any, *, unescaped_unicode: bool = True) -> str:
    """PHP ``json_encode($value, JSON_UNESCAPED_UNICODE)`` (or default flags).

    ``/`` → ``\\/``; U+2028/U+2029 stay escaped (PHP needs
    ``JSON_UNESCAPED_LINE_TERMINATORS`` for those); floats like PHP (``1.0e+20``,
    ``1``); empty and sequential-int-key dicts are PHP lists (``[]``).
    """
    ascii_only = not unescaped_unicode
    if _needs_php_walk(value):
        text = _php_json_slow(value, ascii_only)
    else:
        text = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))
    _check_utf8(text, value)
    return _finish_json(text, unescaped_unicode)


def _check_utf8(text: str, value: Any) -> None:
    """A lone surrogate (``"\\udcff"`` from ``surrogateescape``) is a byte that is
    not UTF-8 in PHP: ``json_encode()`` fails on it (``JSON_ERROR_UTF8``), and so
    ``createPayload()`` throws ``InvalidPayloadException``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise SerializeError(
            "json_encode: malformed UTF-8 characters (PHP's JSON_ERROR_UTF8: "
            "Laravel throws InvalidPayloadException)",
            value,
        ) from None


def _finish_json(text: str, unescaped_unicode: bool) -> str:
    text = text.replace("/", "\\/")
    if unescaped_unicode and ("\u2028" in text or "\u2029" in text):
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


_encode_basestring: Callable[[str], str] = json.encoder.encode_basestring
# php.dumps() JSON-escaped as a piece of a JSON string (C accelerator if built)
_dumps_json_escaped: Callable[[Any], bytes] = php.dumps_json_escaped
# the PhpJob.many rows loop (C accelerator if built, else its pure twin)
_build_payload_rows: Callable[..., list[bytes | None]] = getattr(
    php._impl, "build_payload_rows", _php_pure.build_payload_rows
)


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (a byte that is not UTF-8 in PHP) makes
    PHP's ``json_encode()`` fail, and Laravel throw ``InvalidPayloadException``."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise SerializeError(
            "json_encode: malformed UTF-8 characters (PHP's JSON_ERROR_UTF8: "
            "Laravel throws InvalidPayloadException)",
            text,
        ) from None


def _json_string(text: str) -> str:
    """``json_encode($text, JSON_UNESCAPED_UNICODE)`` of a PHP string, quotes
    included: ``a/b"`` → ``"a\\/b\\""``."""
    return _finish_json(_encode_basestring(text), True)


def _json_chars(text: str) -> str:
    """:func:`_json_string` without the quotes: a piece of a JSON string."""
    return _finish_json(_encode_basestring(text)[1:-1], True)


# =====================================================================================
# Building payloads
# =====================================================================================

_B64_DROP = bytes.maketrans(b"", b"")


def random_id(length: int = 32) -> str:
    """``Str::random($length)``: ``[A-Za-z0-9]`` from ``random_bytes`` via base64."""
    out = b""
    while len(out) < length:
        size = length - len(out)
        chunk = base64.b64encode(os.urandom(-(-size // 3) * 3)).translate(
            _B64_DROP, b"+/="
        )
        out += chunk[:size]
    return out.decode("ascii")


def _random_ids(n: int, length: int = 32) -> list[str]:
    """``n`` :func:`random_id` values from one ``os.urandom`` call (base64 without
    ``+/=`` is uniform over ``[A-Za-z0-9]``, like ``Str::random``)."""
    need = n * length
    chars = b""
    while len(chars) < need:
        size = -(-((need - len(chars)) * 3 // 4 + 48) // 3) * 3
        chars += base64.b64encode(os.urandom(size)).translate(_B64_DROP, b"+/=")
    text = chars[:need].decode("ascii")
    return [text[i : i + length] for i in range(0, need, length)]


def _uuid4_of(random16: bytes) -> str:
    """The version-4 uuid ``build_payload_rows`` makes of 16 random bytes (the
    form of :func:`_uuid4s`): ``xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx``."""
    return _php_pure._uuid4_text(random16).decode("ascii")


# version-4 variant nibble: 10xx
_UUID_VARIANT: Final = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def _uuid4s(n: int) -> list[str]:
    """``n`` random version-4 UUID strings (``Str::uuid()``) from one ``os.urandom``."""
    h = os.urandom(16 * n).hex()
    var = _UUID_VARIANT
    # 8-4-4-4-12 hex digits; digit 12 is the version (4), digit 16 the variant
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{var[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


# Pre-generated uuids/ids for single pushes, refilled 256 at a time. Emptied in a
# forked child so parent and child never hand out the same values.
_POOL_SIZE: Final = 256
_uuid_pool: list[str] = []
_id_pool: list[str] = []


def _clear_pools() -> None:
    _uuid_pool.clear()
    _id_pool.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_clear_pools)


def _next_uuid() -> str:
    try:
        return _uuid_pool.pop()
    except IndexError:
        _uuid_pool.extend(_uuid4s(_POOL_SIZE))
        return _uuid_pool.pop()


def _next_id() -> str:
    try:
        return _id_pool.pop()
    except IndexError:
        _id_pool.extend(_random_ids(_POOL_SIZE))
        return _id_pool.pop()


def _timestamp(dt: datetime) -> int:
    """``getTimestamp()``: whole seconds, rounded down. A naive ``datetime`` is
    local time, as ``datetime.timestamp()`` takes it."""
    return int(dt.timestamp() // 1)


def _seconds_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return max(0, _timestamp(value) - int(_time.time()))
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value


def delay_times(delay: DelayLike, now: float) -> tuple[int, int]:
    """``(delay field, availableAt)`` of ``later($delay, …)`` at time ``now``.

    The 12.11+ payload field is ``secondsUntil($delay)``: ``max(0, ts - now)`` for
    a date (a ``timedelta`` is a ``DateInterval``: ``Carbon::now()->add()``), else
    ``(int) $delay`` (negative seconds stay negative). The ``:delayed`` score is
    ``availableAt($delay)``: the date's timestamp, or ``now + $delay`` seconds.
    """
    if isinstance(delay, datetime):
        at = _timestamp(delay)
        return max(0, at - int(now)), at
    if isinstance(delay, timedelta):
        at = int((now + delay.total_seconds()) // 1)
        return max(0, at - int(now)), at
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TypeError(
            f"a delay must be seconds, timedelta or datetime, not {delay!r}"
        )
    # Carbon::now()->addRealSeconds($delay): setTimestamp((int) (time + $delay))
    return int(delay), int(int(now) + delay)


def delay_seconds(delay: DelayLike, now: float | None = None) -> int:
    """Seconds until ``delay`` (``int``/``float`` seconds, ``timedelta`` or
    ``datetime``), like ``InteractsWithTime::secondsUntil`` (never negative)."""
    if delay is None:
        return 0
    if isinstance(delay, datetime):
        now = _time.time() if now is None else now
        return max(0, _timestamp(delay) - int(now))
    if isinstance(delay, timedelta):
        return max(0, int(delay.total_seconds()))
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TypeError(
            f"a delay must be seconds, timedelta or datetime, not {delay!r}"
        )
    return max(0, int(delay))


class PayloadBuilder:
    """Builds payloads for one Laravel version (and optionally Horizon), fast.

    ``encrypter`` is needed for ``encrypted`` jobs (``ShouldBeEncrypted``).
    ``horizon=True`` writes Horizon's variant: ``id`` = ``uuid``, plus ``type``,
    ``tags``, ``silenced`` and ``pushedAt``, re-encoded with default ``json_encode``
    flags (unicode escaped), as Horizon's ``RedisQueue`` does (spec §11).
    """

    def __init__(
        self,
        version: VersionLike = (12, 67),
        *,
        encrypter: Encrypter | None = None,
        horizon: bool = False,
    ) -> None:
        v = _ver(version)
        self.version = v
        self.encrypter = encrypter
        self.horizon = horizon
        self._created_at = v >= (12, 11)
        self._batch_id = v >= (12, 51)
        self._dwmm = v >= (13, 0)
        self._unique_context = v >= (11, 39)
        #: ``cache.default`` (or the job's ``uniqueVia()`` store name) that 11.39+
        #: records in the hidden Context of a ``ShouldBeUnique`` job's payload.
        self.unique_cache_store = "redis"
        self._heads: dict[tuple[Any, ...], str] = {}
        self._plans: dict[tuple[Any, ...], tuple[bytes, int, bytes, bytes] | None] = {}

    # The constant part of an object payload for one job "shape": everything from
    # "displayName" to the "command" key, already JSON-encoded.
    def _head(self, job: PhpJob) -> str:
        key = (
            job.class_name,
            job.display_name,
            job.max_tries_value(self.version),
            repr(job._field("max_exceptions", "maxExceptions")),
            repr(job._field("fail_on_timeout", "failOnTimeout")),
            repr(job._field("backoff", "backoff")),
            repr(job._field("timeout", "timeout")),
            job.retry_until_value(),
            repr(job._field("delete_when_missing_models", "deleteWhenMissingModels")),
        )
        head = self._heads.get(key)
        if head is None:
            fields: dict[str, Any] = {
                "displayName": job.display_name_value(),
                "job": CALL_QUEUED_HANDLER,
                "maxTries": job.max_tries_value(self.version),
                "maxExceptions": job._field("max_exceptions", "maxExceptions"),
                "failOnTimeout": bool(job._field("fail_on_timeout", "failOnTimeout"))
                if job._field("fail_on_timeout", "failOnTimeout") is not None
                else False,
                "backoff": job.backoff_value(),
                "timeout": job._field("timeout", "timeout"),
                "retryUntil": job.retry_until_value(),
            }
            if self._dwmm:
                dwmm = job._field(
                    "delete_when_missing_models", "deleteWhenMissingModels"
                )
                fields["deleteWhenMissingModels"] = (
                    bool(dwmm) if dwmm is not None else False
                )
            text = php_json_encode(fields)
            head = (
                text[1:-1]
                + ',"data":{"commandName":'
                + _finish_json(json.dumps(job.class_name, ensure_ascii=False), True)
                + ',"command":'
            )
            if len(self._heads) > 4096:
                self._heads.clear()
            self._heads[key] = head
        return head

    def command(self, job: PhpJob) -> str:
        """``data.command``: the serialized job, encrypted for ``encrypted`` jobs."""
        raw = serialize_command(job, self.version)
        if job.encrypted:
            if self.encrypter is None:
                raise SerializeError(
                    f"{job.class_name} is ShouldBeEncrypted but no Encrypter "
                    "(APP_KEY) is configured",
                    None,
                )
            return self.encrypter.encrypt(raw, serialize=True)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializeError(
                f"{job.class_name}: the serialized command is not UTF-8, so "
                "json_encode() would fail (PHP: 'Malformed UTF-8 characters')",
                raw,
            ) from exc

    def build(
        self,
        job: PhpJob | str,
        data: Any = "",
        *,
        uuid: str | None = None,
        id: str | None = None,
        created_at: int | None = None,
        delay: int | None = None,
        attempts: int = 0,
        pushed_at: float | None = None,
    ) -> bytes:
        """The payload bytes for ``job`` (a :class:`PhpJob`, or a ``'Class@method'``
        string job with ``data``).

        ``uuid``/``id``/``created_at`` are generated when not given; ``delay`` is the
        12.11+ ``delay`` field (seconds, ``None`` for ``push``).
        """
        if uuid:
            uuid_json = _json_chars(uuid)  # a caller's uuid may need escaping
        else:
            uuid = uuid_json = _next_uuid()
        if self.horizon:
            id = uuid
            id_json = ""  # the fast path is not used for Horizon payloads
        elif id is None:
            id = _next_id()
            id_json = '"' + id + '"'  # [A-Za-z0-9]: nothing to escape
        else:
            id_json = _json_string(id)
        if created_at is None and self._created_at:
            created_at = int(_time.time())
        if not self.horizon and type(job) is PhpJob:
            fast = self._fast(job, uuid_json, id_json, created_at, delay, attempts)
            if fast is not None:
                return fast
        if isinstance(job, str):
            text = self._string_payload(
                job, data, uuid, id, created_at, delay, attempts
            )
        else:
            command = self.command(job)
            parts = ['{"uuid":"', uuid_json, '",', self._head(job)]
            parts.append(_finish_json(json.dumps(command, ensure_ascii=False), True))
            if self._batch_id:
                parts.append(
                    ',"batchId":'
                    + (
                        "null"
                        if job.batch_id is None
                        else _finish_json(
                            json.dumps(job.batch_id, ensure_ascii=False), True
                        )
                    )
                )
            parts.append("}")
            if self._created_at:
                parts.append(f',"createdAt":{int(created_at or 0)}')
            if job.unique and self._unique_context:
                parts.append(self._unique_context_field(job))
            parts.append(',"id":')
            parts.append(_finish_json(json.dumps(id, ensure_ascii=False), True))
            parts.append(f',"attempts":{int(attempts)}')
            if self._created_at:
                parts.append(
                    ',"delay":' + ("null" if delay is None else str(int(delay)))
                )
            parts.append("}")
            text = "".join(parts)
        if self.horizon:
            text = self._horizon(text, job, pushed_at)
        return _utf8(text)

    # ------------------------------------------------------------------ fast path
    #
    # An object payload is constant but for uuid, the job's own properties, the
    # times and the id. Per job "shape" (everything but the own property values)
    # the rest is kept already JSON-escaped; per job only the own properties are
    # serialized (one php.dumps) and escaped. Escaping is per character, so
    # escape(a + b) == escape(a) + escape(b) and the bytes equal the slow path's.

    def _plan(self, job: PhpJob) -> tuple[bytes, int, bytes, bytes] | None:
        """``(head, count, mid, end)`` of ``job``'s shape, or ``None`` (slow path):
        payload = ``{"uuid":"…",`` head ``<count + own>`` mid ``<own>`` end …"""
        backoff: Any = job.backoff
        if backoff is not None and type(backoff) is not int:
            try:
                backoff = tuple(backoff)
            except TypeError:
                return None
            for b in backoff:
                if type(b) is not int:
                    return None
        try:
            key = (_SHAPE_ATTRS(job), backoff)
            plan = self._plans.get(key, False)
        except TypeError:  # an unhashable attribute
            return None
        if plan is not False:
            return plan  # type: ignore[return-value]
        plan = self._make_plan(job)
        if len(self._plans) > 4096:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _make_plan(self, job: PhpJob) -> tuple[bytes, int, bytes, bytes] | None:
        v = self.version
        head_n, head = _items(php.dumps(job._part(v, "head")))
        tail_n, tail = _items(php.dumps(job._part(v, "tail")))
        if b"r:" in head + tail or b"R:" in head + tail:
            return None
        try:
            head_s, tail_s = head.decode("utf-8"), tail.decode("utf-8")
        except UnicodeDecodeError:
            return None
        cls = job.class_name
        prefix = f'O:{len(cls.encode("utf-8"))}:"{cls}":'
        end = _json_chars(tail_s) + '}"'
        if self._batch_id:
            end += ',"batchId":' + (
                "null" if job.batch_id is None else _json_string(job.batch_id)
            )
        end += "}"
        try:
            return (
                (self._head(job) + '"' + _json_chars(prefix)).encode("utf-8"),
                head_n + tail_n,
                (":{" + _json_chars(head_s)).encode("utf-8"),
                end.encode("utf-8"),
            )
        except UnicodeEncodeError:
            return None  # the general path raises json_encode's error

    def _fast(
        self,
        job: PhpJob,
        uuid: str,
        id_json: str,
        created_at: int | None,
        delay: int | None,
        attempts: int,
    ) -> bytes | None:
        """The payload of a plain (not encrypted, no chain) object job, or ``None``
        when it needs the general path. ``uuid`` is JSON-escaped already (a
        generated uuid needs no escaping)."""
        if (
            job.encrypted
            or job.chain
            or job._cache
            or isinstance(job.delay, datetime)
            or not _TUNING_NAMES.isdisjoint(job.properties)
            or (job.unique and self._unique_context)
        ):
            return None
        plan = self._plan(job)
        if plan is None:
            return None
        own = _own_properties(job, self.version)
        if own is None:
            return None
        try:
            # a:N:{…} serialized and JSON-escaped in one go (C accelerator)
            blob = _dumps_json_escaped(own)
        except SerializeError:
            return None  # the general path raises the error
        if b"r:" in blob or b"R:" in blob:
            return None
        brace = blob.index(b"{")
        head, count, mid, end = plan
        if self._created_at:
            # ,"createdAt":1767225600,"id":"…","attempts":0,"delay":null}
            dl = "null" if delay is None else int(delay)
            trailer = (
                f',"createdAt":{int(created_at or 0)},"id":{id_json},'
                f'"attempts":{int(attempts)},"delay":{dl}}}'
            )
        else:
            trailer = f',"id":{id_json},"attempts":{int(attempts)}}}'
        return b'{"uuid":"%b",%b%d%b%b%b%b' % (
            _utf8(uuid),
            head,
            count + int(blob[2 : brace - 1]),
            mid,
            blob[brace + 1 : -1],
            end,
            _utf8(trailer),
        )

    def _row_spec(self, job: PhpJob) -> list[tuple[str, str, Any, Any]] | None:
        """``(name, raw name, declared default, value)`` of each property of a
        ``PhpJobs`` template (``None``: a template only the per-job path takes)."""
        if (
            job.encrypted
            or job.chain
            or isinstance(job.delay, datetime)
            or not _TUNING_NAMES.isdisjoint(job.properties)
        ):
            return None
        spec: list[tuple[str, str, Any, Any]] = []
        cls = job.class_name
        for name, value in job.properties.items():
            if type(value) is Prop:
                vis, owner = value.visibility, value.declaring_class
                if vis == "private" and job._foreign_private(owner):
                    continue  # left out (a row that sets it: the per-job path)
                raw = _mangled(cls, name, vis, owner)
                spec.append((name, raw, value.default, value.value))
            elif isinstance(value, Prop) or type(name) is not str or name[:1] == "\0":
                return None
            else:
                spec.append((name, name, NO_DEFAULT, value))
        return spec

    def _fast_rows(
        self,
        template: PhpJob,
        rows: Sequence[Mapping[str, Any]],
        uuid_random: bytes,
        ids: Sequence[str],
        created_at: int | None,
    ) -> list[bytes] | None:
        """The ``push`` payloads of ``template.many(rows)`` (``None``: the template
        needs the per-job path). Row ``i`` gets the version-4 uuid made of
        ``uuid_random[16*i : 16*i+16]`` (:func:`_uuid4_of`) and the 32-character id
        ``ids[i]``. The rows loop is ``php.build_payload_rows`` (C accelerator); a
        row it cannot take (a ``Prop`` value, a new name, a back-reference…) is
        built from its ``PhpJob``, so every payload equals ``build(jobs[i], …)``."""
        plan = self._plan(template)
        spec = self._row_spec(template) if plan is not None else None
        if plan is None or spec is None:
            return None
        v = self.version
        head, count, mid, end = plan
        if self._created_at:
            # ,"createdAt":1767225600,"id":"…","attempts":0,"delay":null}
            t_id = f',"createdAt":{int(created_at or 0)},"id":"'.encode()
            t_end = b'","attempts":0,"delay":null}'
        else:
            t_id, t_end = b',"id":"', b'","attempts":0}'
        carbon_major = 3 if v >= (11, 0) else 2
        row_list = rows if type(rows) is list else list(rows)
        id_blob = "".join(ids).encode("ascii")
        if len(ids) != len(row_list) or len(id_blob) != 32 * len(row_list):
            raise ValueError("_fast_rows: one 32-character id per row")
        # {"uuid":"<uuid>",<head><count + N><mid><props><end>,…"id":"<id>",…}
        out = _build_payload_rows(
            (b'{"uuid":"', b'",' + head, mid, end + t_id, t_end),
            count,
            tuple(spec),
            frozenset(entry[0] for entry in spec),
            row_list,
            uuid_random,
            id_blob,
            template.serializes_models and v >= (9, 4),
            lambda value: _to_php(value, v, carbon_major),
            _php_identical,
            Prop,
            NO_DEFAULT,
        )
        for i, payload in enumerate(out):
            if payload is None:
                out[i] = self.build(
                    template._with_properties(row_list[i]),
                    uuid=_uuid4_of(uuid_random[16 * i : 16 * i + 16]),
                    id=ids[i],
                    created_at=created_at,
                )
        return out  # type: ignore[return-value]  # no None left

    def _unique_context_field(self, job: PhpJob) -> str:
        """The ``illuminate:log:context`` hook field of a ``ShouldBeUnique`` job
        (11.39+, laravel/framework#54000): ``dispatch()`` adds the lock's store and
        key to the hidden Context, whose payload hook writes them serialized, so
        that a worker can release the lock when the job's models are gone::

            ,"illuminate:log:context":{"data":[],"hidden":{
             "laravel_unique_job_cache_store":"s:5:\\"redis\\";",
             "laravel_unique_job_key":"s:30:\\"laravel_unique_job:App\\\\Jobs\\\\U:5\\";"}}
        """
        name, uid = unique_lock_name(job, self.version)
        key = f"laravel_unique_job:{name}:{uid}"  # UniqueLock::getKey(), 11.x+
        hidden = {
            "laravel_unique_job_cache_store": php.dumps(self.unique_cache_store),
            "laravel_unique_job_key": php.dumps(key),
        }
        context = {
            "data": [],
            "hidden": {k: v.decode("utf-8") for k, v in hidden.items()},
        }
        return ',"illuminate:log:context":' + php_json_encode(context)

    def _string_payload(
        self,
        job: str,
        data: Any,
        uuid: str,
        id: str,
        created_at: int | None,
        delay: int | None,
        attempts: int,
    ) -> str:
        if "@" not in job and not job:
            raise ValueError("a string job needs a class name ('Class@method')")
        fields: dict[str, Any] = {
            "uuid": uuid,
            "displayName": job.split("@", 1)[0],
            "job": job,
            "maxTries": None,
            "maxExceptions": None,
            "failOnTimeout": False,
            "backoff": None,
            "timeout": None,
        }
        head = php_json_encode(fields)[:-1]
        parts = [head, ',"data":', php_json_encode(data)]
        if self._created_at:
            parts.append(f',"createdAt":{int(created_at or 0)}')
        parts.append(',"id":' + php_json_encode(id))
        parts.append(f',"attempts":{int(attempts)}')
        if self._created_at:
            parts.append(',"delay":' + ("null" if delay is None else str(int(delay))))
        parts.append("}")
        return "".join(parts)

    def _horizon(self, text: str, job: PhpJob | str, pushed_at: float | None) -> str:
        decoded = json.loads(text)
        tags: list[str]
        if isinstance(job, PhpJob):
            tags = job.tags if job.tags is not None else horizon_auto_tags(job)
        else:
            tags = []
        decoded["type"] = "job"
        decoded["tags"] = tags
        decoded["silenced"] = False
        at = _time.time() if pushed_at is None else pushed_at
        decoded["pushedAt"] = php_string_cast(float(at))
        return _php_json_slow(decoded, True).replace("/", "\\/")


def horizon_auto_tags(job: PhpJob) -> list[str]:
    """Horizon's automatic tags: ``Model\\Class:id`` for each model property."""
    tags: list[str] = []
    for value in job.properties.values():
        if isinstance(value, Prop):
            value = value.value
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, ModelIdentifier):
                ids = item.id if isinstance(item.id, (list, tuple)) else [item.id]
                tags.extend(f"{item.class_name}:{i}" for i in ids)
    return tags


@lru_cache(maxsize=64)
def _builder(version: tuple[int, int], horizon: bool) -> PayloadBuilder:
    return PayloadBuilder(version, horizon=horizon)


def build_payload(
    job: PhpJob | str,
    data: Any = "",
    *,
    version: VersionLike = (12, 67),
    uuid: str | None = None,
    id: str | None = None,
    created_at: int | None = None,
    delay: int | None = None,
    encrypter: Encrypter | None = None,
    horizon: bool = False,
    pushed_at: float | None = None,
) -> bytes:
    """The payload JSON bytes that Laravel ``version`` writes for ``job``.

    ``job``: a :class:`PhpJob` (object job) or ``"App\\Handlers\\Foo@bar"`` with
    ``data``. See :meth:`PayloadBuilder.build`; reuse a :class:`PayloadBuilder` when
    building many payloads.
    """
    v = _ver(version)
    if encrypter is not None:
        builder = PayloadBuilder(v, encrypter=encrypter, horizon=horizon)
    else:
        builder = _builder(v, horizon)
    return builder.build(
        job,
        data,
        uuid=uuid,
        id=id,
        created_at=created_at,
        delay=delay,
        pushed_at=pushed_at,
    )


def job_display_name(job: PhpJob | str) -> str:
    """``displayName`` of a job (the text before ``@`` for string jobs)."""
    if isinstance(job, str):
        return job.split("@", 1)[0]
    return job.display_name_value()


def unique_lock_name(job: PhpJob, version: VersionLike = (12, 67)) -> tuple[str, str]:
    """``(job_name, unique_id)`` for :meth:`KeySpace.unique_job_lock` (spec row 19):
    the class name; when the job defines a ``displayName()``, 12.41–12.53 use its
    value as is (laravel/framework#57499) and 12.54+ ``xxh128(displayName())``
    (#59141)."""
    v = _ver(version)
    uid = "" if job.unique_id is None else php_string_cast(job.unique_id)
    name = job.class_name
    if (12, 41) <= v < (12, 54) and job.display_name is not None:
        name = job.display_name
    elif v >= (12, 54) and job.display_name is not None:
        try:
            import xxhash
        except ImportError as exc:  # pragma: no cover - depends on the environment
            from .exceptions import MissingExtraError

            raise MissingExtraError(
                "unique jobs with a displayName() on Laravel 12.54+", "queue", "xxhash"
            ) from exc
        name = xxhash.xxh128_hexdigest(job.display_name.encode("utf-8"))
    return name, uid


# =====================================================================================
# Parsing payloads
# =====================================================================================


def _int_or_none(payload: dict[str, Any], key: str, raw: bytes) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise JobPayloadError(f"payload field {key!r} must be an integer or null", raw)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # cjson re-encoding of large numbers
    if isinstance(value, str) and _int_key(value) is not None:
        return int(value)
    raise JobPayloadError(
        f"payload field {key!r} must be an integer or null, not {type(value).__name__}",
        raw,
    )


class JobPayload:
    """A parsed Laravel job payload (see :func:`parse_payload`).

    Typed accessors for the fields Laravel's ``Job`` reads; ``raw`` keeps the exact
    bytes (use them, never a re-encoding, for ``:reserved`` members: spec §12 item 9)
    and ``payload`` the decoded JSON object.
    """

    __slots__ = ("payload", "raw")

    def __init__(self, raw: bytes, payload: dict[str, Any]) -> None:
        self.raw = raw
        self.payload = payload

    def __repr__(self) -> str:
        return (
            f"<JobPayload {self.display_name!r} id={self.id!r} "
            f"attempts={self.attempts}>"
        )

    def get(self, key: str, default: Any = None) -> Any:
        """Any top-level payload field."""
        return self.payload.get(key, default)

    @property
    def uuid(self) -> str | None:
        """``uuid`` (absent from hand-written raw payloads)."""
        return self.payload.get("uuid")

    @property
    def id(self) -> str | None:
        """``id``: ``Str::random(32)`` (Horizon: the uuid)."""
        value = self.payload.get("id")
        return None if value is None else str(value)

    @property
    def job(self) -> str:
        """``job``: ``Illuminate\\Queue\\CallQueuedHandler@call`` or ``Class@method``."""
        return str(self.payload["job"])

    @property
    def is_object_job(self) -> bool:
        """True for ``CallQueuedHandler@call`` payloads (a serialized command)."""
        return self.job == CALL_QUEUED_HANDLER

    @property
    def display_name(self) -> str:
        """``displayName`` or, like ``JobName::resolve``, the ``job`` string when it
        is ``empty()`` (absent, ``""`` or ``"0"``)."""
        name = self.payload.get("displayName")
        return name if isinstance(name, str) and name not in ("", "0") else self.job

    @property
    def max_tries(self) -> int | None:
        """``maxTries``."""
        return _int_or_none(self.payload, "maxTries", self.raw)

    @property
    def max_exceptions(self) -> int | None:
        """``maxExceptions``."""
        return _int_or_none(self.payload, "maxExceptions", self.raw)

    @property
    def fail_on_timeout(self) -> bool:
        """``failOnTimeout`` (false when absent), as PHP's ``if`` reads it (``"0"`` and
        ``[]`` are false)."""
        value = self.payload.get("failOnTimeout")
        return bool(value) and value != "0"

    @property
    def delete_when_missing_models(self) -> bool:
        """``deleteWhenMissingModels`` (13.x; false when absent)."""
        return bool(self.payload.get("deleteWhenMissingModels") or False)

    @property
    def backoff(self) -> list[int] | None:
        """``backoff`` as a list of seconds (``"10,60,300"`` → ``[10, 60, 300]``)."""
        return _backoff_list(self.payload.get("backoff"))

    def backoff_for(self, attempts: int, default: int | str = 0) -> int:
        """The release delay after attempt ``attempts``, like ``Worker::calculateBackoff``:
        ``backoff`` ?? ``delay`` ?? ``default`` (the worker's ``--backoff``), element
        ``attempts - 1``, clamped to the last one."""
        value = self.payload.get("backoff")
        if value is None:
            value = self.payload.get("delay")
        if value is None:
            value = default
        # explode(',', "") is [""] and (int) "" is 0: an empty backoff (PHP's
        # implode(',', []) of ``$backoff = []``) releases with 0, not the worker's
        items = _backoff_list(value) or [0]
        index = attempts - 1
        return items[index] if 0 <= index < len(items) else items[-1]

    @property
    def timeout(self) -> int | None:
        """``timeout`` in seconds."""
        return _int_or_none(self.payload, "timeout", self.raw)

    @property
    def retry_until(self) -> int | None:
        """``retryUntil`` (Unix time), or the legacy ``timeoutAt`` like
        ``Job::retryUntil()``."""
        value = _int_or_none(self.payload, "retryUntil", self.raw)
        if value is None:
            value = _int_or_none(self.payload, "timeoutAt", self.raw)
        return value

    @property
    def attempts(self) -> int:
        """``attempts`` as stored (0 at push; the pop script adds 1)."""
        return _int_or_none(self.payload, "attempts", self.raw) or 0

    @property
    def created_at(self) -> int | None:
        """``createdAt`` (12.11+)."""
        return _int_or_none(self.payload, "createdAt", self.raw)

    @property
    def delay(self) -> int | None:
        """``delay`` (12.11+): the dispatch delay in seconds."""
        return _int_or_none(self.payload, "delay", self.raw)

    @property
    def data(self) -> Any:
        """``data``: ``{commandName, command, …}`` or a string job's data."""
        return self.payload.get("data")

    @property
    def command_name(self) -> str | None:
        """``data.commandName`` (the job's PHP class)."""
        data = self.payload.get("data")
        return data.get("commandName") if isinstance(data, dict) else None

    @property
    def command(self) -> str | None:
        """``data.command``: the serialized (or encrypted) job, as a string."""
        data = self.payload.get("data")
        return data.get("command") if isinstance(data, dict) else None

    @property
    def batch_id(self) -> str | None:
        """``data.batchId`` (12.51+)."""
        data = self.payload.get("data")
        return data.get("batchId") if isinstance(data, dict) else None

    @property
    def is_encrypted(self) -> bool:
        """True when ``data.command`` is an encrypted envelope, not ``O:…``."""
        cmd = self.command
        return cmd is not None and not cmd.startswith("O:")

    def command_bytes(self, encrypter: Encrypter | None = None) -> bytes:
        """The serialized command, decrypted if needed (``O:…`` bytes)."""
        cmd = self.command
        if cmd is None:
            raise JobPayloadError(
                f"{self.display_name}: payload has no data.command", self.raw
            )
        if cmd.startswith("O:"):
            return cmd.encode("utf-8", "surrogateescape")
        if encrypter is None:
            raise JobPayloadError(
                f"{self.display_name}: the command is encrypted "
                "(ShouldBeEncrypted) and no Encrypter was given",
                self.raw,
            )
        # Crypt::encrypt(serialize($job)) → plaintext s:N:"O:…";
        try:
            inner = encrypter.decrypt(cmd, unserialize=True)
        except DecryptError:
            raise
        if isinstance(inner, str):
            return inner.encode("utf-8", "surrogateescape")
        if isinstance(inner, bytes):
            return inner
        raise JobPayloadError(
            f"{self.display_name}: decrypted command is not a string", self.raw
        )

    def command_object(
        self,
        encrypter: Encrypter | None = None,
        *,
        allowed_classes: bool | Iterable[str] = True,
    ) -> Any:
        """Unserialize (and decrypt if needed) ``data.command`` → usually a
        :class:`~ninja_redis.php.PhpObject` of the job class."""
        data = self.command_bytes(encrypter)
        try:
            return php.loads(data, allowed_classes=allowed_classes)
        except UnserializeError as exc:
            raise JobPayloadError(
                f"{self.display_name}: data.command is not valid serialize() data "
                f"({exc.reason} at offset {exc.offset})",
                self.raw,
            ) from exc


def _backoff_list(value: Any) -> list[int] | None:
    """``Worker::calculateBackoff``'s ``explode(',', $backoff)``, each piece cast
    with ``(int)`` (``None`` for an absent or empty value)."""
    if value is None or value == "":
        return None
    if isinstance(value, (bool, int, float)):
        value = php_string_cast(value)  # explode() takes the string form: 1.0E+20
    if isinstance(value, (list, tuple)):
        return [_php_intval(x) for x in value]
    if isinstance(value, str):
        return [_php_intval(x) for x in value.split(",")]
    return None


# PHP's numeric prefix: leading whitespace, an integer or a float with exponent
_NUMERIC_PREFIX = re.compile(
    r"[ \t\n\r\v\f]*([+-]?(?:[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)"
)


def _php_intval(value: Any) -> int:
    """PHP ``(int)`` of a string piece: its numeric prefix (``" 12"`` → 12,
    ``"1.9"`` → 1, ``"1e3"`` → 1000, ``"2x"`` → 2), else 0. A number beyond 64
    bits saturates; an infinite one (``"1e400"``) gives 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        value = php_string_cast(value)
    m = _NUMERIC_PREFIX.match(str(value))
    if m is None:
        return 0
    text = m.group(1)
    if m.group(2) is None and m.group(3) is None and "." not in text:
        return max(_INT64[0], min(_INT64[1] - 1, int(text)))
    f = float(text)
    if not math.isfinite(f):
        return 0
    return max(_INT64[0], min(_INT64[1] - 1, int(f)))  # zend_dval_to_lval_cap


_OPTIONAL_INT = (
    "maxTries",
    "maxExceptions",
    "timeout",
    "retryUntil",
    "createdAt",
    "delay",
)


_json_decode = json.JSONDecoder().decode
_STR_FIELDS = ("uuid", "displayName")


def _looks_plain(payload: dict[str, Any]) -> bool:
    """True when every field :func:`parse_payload` checks has its ordinary type, so the
    payload is valid without the detailed checks (which give the precise error)."""
    get = payload.get
    job = get("job")
    if type(job) is not str or not job or type(get("attempts")) is not int:
        return False
    for key in _OPTIONAL_INT:
        value = get(key)
        if value is not None and type(value) is not int:
            return False
    for key in _STR_FIELDS:
        value = get(key)
        if value is not None and type(value) is not str:
            return False
    ident = get("id")
    if ident is not None and type(ident) is not str and type(ident) is not int:
        return False
    backoff = get("backoff")
    if backoff is not None and type(backoff) not in (str, int, float, list):
        return False
    if job == CALL_QUEUED_HANDLER:
        data = get("data")
        return (
            type(data) is dict
            and type(data.get("command")) is str
            and type(data.get("commandName")) is str
        )
    return True


@overload
def parse_payload(raw: bytes | str) -> JobPayload: ...
@overload
def parse_payload(raw: bytes | str, *, require_attempts: bool) -> JobPayload: ...


def parse_payload(raw: bytes | str, *, require_attempts: bool = True) -> JobPayload:
    """Decode and validate a queue payload.

    Raises :class:`~ninja_redis.exceptions.JobPayloadError` (``.payload`` = the raw
    bytes) when it is not JSON, not an object, has no string ``job``, no integer
    ``attempts`` (the pop script needs it: spec §12 item 11), or a field of the
    wrong type. Unknown fields are kept (hook fields, Horizon's).
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    elif not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        # Laravel payloads are UTF-8: decoding first skips json's encoding sniffing
        payload = _json_decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        try:  # UTF-16/32 JSON, as json.loads(bytes) accepts it
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise JobPayloadError(f"job payload is not JSON ({exc})", raw) from None
    except ValueError as exc:
        raise JobPayloadError(f"job payload is not JSON ({exc})", raw) from None
    if type(payload) is dict and _looks_plain(payload):
        return JobPayload(raw, payload)
    if not isinstance(payload, dict):
        raise JobPayloadError(
            f"job payload must be a JSON object, not {type(payload).__name__}", raw
        )
    job = payload.get("job")
    if not isinstance(job, str) or not job:
        raise JobPayloadError(
            "job payload has no 'job' string (Laravel cannot resolve a handler)", raw
        )
    if "attempts" not in payload:
        if require_attempts:
            raise JobPayloadError(
                "job payload has no 'attempts' (Laravel's pop script would lose it)",
                raw,
            )
    elif isinstance(payload["attempts"], bool) or not isinstance(
        payload["attempts"], (int, float)
    ):
        raise JobPayloadError("payload field 'attempts' must be an integer", raw)
    for key in _OPTIONAL_INT:
        _int_or_none(payload, key, raw)
    for key in ("uuid", "displayName"):
        value = payload.get(key)
        if value is not None and not isinstance(value, str):
            raise JobPayloadError(f"payload field {key!r} must be a string", raw)
    ident = payload.get("id")
    if ident is not None and (
        isinstance(ident, bool) or not isinstance(ident, (str, int))
    ):
        raise JobPayloadError("payload field 'id' must be a string", raw)
    backoff = payload.get("backoff")
    if backoff is not None and (
        isinstance(backoff, bool) or not isinstance(backoff, (str, int, float, list))
    ):
        raise JobPayloadError("payload field 'backoff' must be a string or null", raw)
    if job == CALL_QUEUED_HANDLER:
        data = payload.get("data")
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("command"), str)
            or not isinstance(data.get("commandName"), str)
        ):
            raise JobPayloadError(
                "object job payload needs data.commandName and data.command strings",
                raw,
            )
    return JobPayload(raw, payload)
