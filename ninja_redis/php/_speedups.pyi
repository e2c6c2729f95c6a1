from collections.abc import Callable, Iterable
from typing import Any

def dumps(value: Any) -> bytes: ...
def loads(
    data: bytes,
    *,
    allowed_classes: bool | Iterable[str] = ...,
    max_depth: int = ...,
    strict: bool = ...,
) -> Any: ...
def dumps_json_escaped(value: Any) -> bytes: ...
def build_payload_rows(
    pieces: tuple[bytes, bytes, bytes, bytes, bytes],
    count: int,
    spec: tuple[tuple[str, str, Any, Any], ...],
    names: frozenset[str],
    rows: list[Any],
    uuid_random: bytes,
    ids: bytes,
    omit_defaults: bool,
    convert: Callable[[Any], Any],
    identical: Callable[[Any, Any], bool],
    prop_type: type,
    no_default: Any,
) -> list[bytes | None]: ...
