from collections.abc import Iterable
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
