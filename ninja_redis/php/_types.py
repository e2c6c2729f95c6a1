"""Python stand-ins for the PHP values that have no native Python type.

Both codec implementations (``_pure`` and the C ``_speedups``) build and read these.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TypeAlias

__all__ = [
    "PhpEnum",
    "PhpIncompleteClass",
    "PhpIncompleteSerializable",
    "PhpObject",
    "PhpRef",
    "PhpSerializable",
    "PropertyKey",
]

#: A raw (mangled) property name: ``str`` (``"name"``, ``"\0*\0name"``,
#: ``"\0Class\0name"``), ``int`` (``__serialize()`` arrays) or ``bytes`` (not UTF-8).
PropertyKey: TypeAlias = str | int | bytes

_PROTECTED = "\0*\0"


class PhpObject:
    """A PHP object: ``O:LEN:"Class":N:{...}``.

    ``class_name`` is the fully qualified name without a leading backslash and
    ``properties`` a ``dict`` of *raw* property names to values, in PHP order.
    Raw names keep PHP's visibility mangling, exactly as serialize() writes them:

    * public ``"name"``
    * protected ``"\\0*\\0name"``
    * private ``"\\0Declaring\\Class\\0name"``
    * ``int`` keys for objects written by ``__serialize()`` (e.g. Laravel's
      ``SerializesModels`` jobs keep string keys, ``ArrayObject`` uses ``0..3``).

    Construction::

        PhpObject("App\\Jobs\\SendInvoice", {"invoiceId": 7},
                  protected={"locale": "en"}, private={"secret": "x"})

    puts public properties first (raw names are accepted there too, so any order can
    be built), then ``protected`` ones, then ``private`` ones declared by
    ``class_name`` itself. Reading by bare name finds any visibility::

        obj["locale"]            # "en"  (the protected property)
        obj.visibility("locale") # "protected"

    .. versionadded:: 0.1
    """

    __slots__ = ("__weakref__", "class_name", "properties")

    class_name: str
    properties: dict[PropertyKey, Any]

    def __init__(
        self,
        class_name: str,
        properties: Mapping[PropertyKey, Any] | None = None,
        /,
        *,
        protected: Mapping[str, Any] | None = None,
        private: Mapping[str, Any] | None = None,
    ) -> None:
        self.class_name = class_name
        props: dict[PropertyKey, Any] = dict(properties) if properties else {}
        if protected:
            for name, value in protected.items():
                props[_PROTECTED + name] = value
        if private:
            prefix = f"\0{class_name}\0"
            for name, value in private.items():
                props[prefix + name] = value
        self.properties = props

    # -- naming helpers -------------------------------------------------------------

    @staticmethod
    def protected_name(name: str) -> str:
        """The raw name of protected property ``name``: ``"\\0*\\0name"``."""
        return _PROTECTED + name

    @staticmethod
    def private_name(class_name: str, name: str) -> str:
        """The raw name of ``class_name``'s private property: ``"\\0Class\\0name"``."""
        return f"\0{class_name}\0{name}"

    @staticmethod
    def split_name(raw: PropertyKey) -> tuple[str, PropertyKey]:
        """``(visibility, bare name)`` of a raw property name.

        Visibility is ``"public"``, ``"protected"`` or the declaring class name for
        private properties.
        """
        if isinstance(raw, str) and raw[:1] == "\0":
            end = raw.find("\0", 1)
            if end > 0:
                owner = raw[1:end]
                return ("protected" if owner == "*" else owner), raw[end + 1 :]
        if isinstance(raw, bytes) and raw[:1] == b"\0":
            end = raw.find(b"\0", 1)
            if end > 0:
                owner_b = raw[1:end].decode("utf-8", "surrogateescape")
                return ("protected" if owner_b == "*" else owner_b), raw[end + 1 :]
        return "public", raw

    def _find(self, name: PropertyKey) -> PropertyKey | None:
        props = self.properties
        if name in props:
            return name
        if isinstance(name, str):
            for candidate in (_PROTECTED + name, f"\0{self.class_name}\0{name}"):
                if candidate in props:
                    return candidate
            suffix = "\0" + name
            for raw in props:
                if isinstance(raw, str) and raw[:1] == "\0" and raw.endswith(suffix):
                    if raw.find("\0", 1) == len(raw) - len(suffix):
                        return raw
        return None

    def visibility(self, name: PropertyKey) -> str:
        """``"public"``, ``"protected"`` or the private property's declaring class."""
        raw = self._find(name)
        if raw is None:
            raise KeyError(name)
        return self.split_name(raw)[0]

    # -- mapping-like access by bare name -------------------------------------------

    def __getitem__(self, name: PropertyKey) -> Any:
        raw = self._find(name)
        if raw is None:
            raise KeyError(name)
        return self.properties[raw]

    def __setitem__(self, name: PropertyKey, value: Any) -> None:
        raw = self._find(name)
        self.properties[name if raw is None else raw] = value

    def __delitem__(self, name: PropertyKey) -> None:
        raw = self._find(name)
        if raw is None:
            raise KeyError(name)
        del self.properties[raw]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, (str, int, bytes)) and self._find(name) is not None

    def __iter__(self) -> Iterator[PropertyKey]:
        """Bare property names, in order."""
        return (self.split_name(raw)[1] for raw in self.properties)

    def __len__(self) -> int:
        return len(self.properties)

    def get(self, name: PropertyKey, default: Any = None) -> Any:
        """The property ``name`` of any visibility, or ``default``."""
        raw = self._find(name)
        return default if raw is None else self.properties[raw]

    def to_dict(self) -> dict[PropertyKey, Any]:
        """Properties keyed by bare name (visibility dropped; later names win)."""
        return {self.split_name(raw)[1]: v for raw, v in self.properties.items()}

    def to_datetime(self) -> datetime:
        """Convert a ``DateTime``/Carbon object to an aware ``datetime``.

        See :func:`ninja_redis.php.to_datetime`.
        """
        from ._dates import to_datetime

        return to_datetime(self)

    # -- value semantics ------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhpObject) or type(self) is not type(other):
            return NotImplemented
        return self.class_name == other.class_name and list(
            self.properties.items()
        ) == list(other.properties.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.class_name!r}, {self.properties!r})"


class PhpIncompleteClass(PhpObject):
    """An object whose class was not in ``allowed_classes`` (PHP's
    ``__PHP_Incomplete_Class``). It keeps its name and properties and is written back
    unchanged, exactly like PHP re-serializes an incomplete object.
    """

    __slots__ = ()


class PhpEnum:
    """A PHP 8.1 enum case: ``E:LEN:"Class:Case";``.

    Enum cases are singletons in PHP, so equal ``PhpEnum`` values that occur twice in
    one ``dumps()`` call are written as ``r:N;`` the second time, like PHP does.
    """

    __slots__ = ("case", "class_name")

    class_name: str
    case: str

    def __init__(self, class_name: str, case: str) -> None:
        object.__setattr__(self, "class_name", class_name)
        object.__setattr__(self, "case", case)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PhpEnum is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhpEnum):
            return NotImplemented
        return self.class_name == other.class_name and self.case == other.case

    def __hash__(self) -> int:
        return hash((PhpEnum, self.class_name, self.case))

    def __repr__(self) -> str:
        return f"PhpEnum({self.class_name!r}, {self.case!r})"


class PhpSerializable:
    """An object of a class implementing PHP's legacy ``Serializable`` interface:
    ``C:LEN:"Class":DATALEN:{data}``. ``data`` is kept as opaque bytes.
    """

    __slots__ = ("__weakref__", "class_name", "data")

    class_name: str
    data: bytes

    def __init__(self, class_name: str, data: bytes) -> None:
        self.class_name = class_name
        self.data = data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhpSerializable) or type(self) is not type(other):
            return NotImplemented
        return self.class_name == other.class_name and self.data == other.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.class_name!r}, {self.data!r})"


class PhpIncompleteSerializable(PhpSerializable):
    """A ``C:`` object whose class was not in ``allowed_classes``; written back as is."""

    __slots__ = ()


class PhpRef:
    """A PHP reference (``&$x``) to a value: the target of ``R:N;``.

    ``loads()`` shares lists and dicts directly when ``R:`` points to an array. When
    it points to a scalar (or an object), every place that holds the reference gets
    the *same* ``PhpRef`` instance, so ``dumps()`` writes ``R:N;`` again.
    """

    __slots__ = ("value",)

    value: Any

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PhpRef):
            return NotImplemented
        return self is other or bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PhpRef({self.value!r})"
