"""Walking the recipe schema: the concrete types a field admits, the Path-typed values in
raw recipe data, where a key was written, and the content hash of resolved values. Shared
by the schema (derived values) and the loader (overrides, error text)."""

from __future__ import annotations

import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel

# Where each key of a recipe was written: dotted key path -> (file, line).
Locations = dict[tuple, tuple[str, int]]


def content_hash(data: Any) -> str:
    """sha256 of `data` as canonical JSON (sorted keys, no spaces)."""
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation admits (Optional/Union/Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += unwrap(arg)
        return out
    return [annotation]


def field_model(annotation: Any) -> Any:
    for t in unwrap(annotation):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
        if typing.get_origin(t) is list:
            inner = typing.get_args(t)[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _named_choice(annotation: Any, value: Any) -> bool:
    """Whether `value` is one of the Literal names a Path-or-name field admits."""
    return any(typing.get_origin(t) is Literal and value in typing.get_args(t)
               for t in unwrap(annotation))


def map_paths(raw: Any, cls: type[BaseModel], fn: typing.Callable[[str], str]) -> None:
    """Apply `fn` to every Path-typed string value in `raw` (in place), guided by `cls`."""
    if not isinstance(raw, dict):
        return
    for name, field in cls.model_fields.items():
        if name not in raw or raw[name] is None:
            continue
        if _named_choice(field.annotation, raw[name]):
            continue  # `deepspeed: zero3` names a built-in, not a file
        for t in unwrap(field.annotation):
            if t is Path and isinstance(raw[name], str):
                raw[name] = fn(raw[name])
            elif typing.get_origin(t) is list:
                inner = typing.get_args(t)[0]
                if isinstance(raw[name], list):
                    for i, item in enumerate(raw[name]):
                        if inner is Path and isinstance(item, str):
                            raw[name][i] = fn(item)
                        elif (model := item_model(inner, item)) is not None:
                            map_paths(item, model, fn)
            elif isinstance(t, type) and issubclass(t, BaseModel):
                map_paths(raw[name], t, fn)



def item_model(annotation: Any, item: Any) -> Any:
    """The section model of a list item: the one model, or for a union tagged by `kind`
    (eval.candidates) the member whose `kind` the item names."""
    models = [t for t in unwrap(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    if len(models) == 1:
        return models[0]
    kind = item.get("kind") if isinstance(item, dict) else None
    for model in models:
        field = model.model_fields.get("kind")
        if field is not None and kind in typing.get_args(field.annotation):
            return model
    return None


def section_models(annotation: Any) -> list[Any]:
    """The section models an annotation admits (one, or each member of a tagged union)."""
    return [t for t in unwrap(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]


def mapping_value(annotation: Any) -> Any:
    """The value annotation of a `dict[str, X]` field (report.acceptance), else None."""
    for t in unwrap(annotation):
        if typing.get_origin(t) is dict:
            return typing.get_args(t)[1]
    return None


def dotted_key(key: typing.Sequence[Any]) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def written_at(locations: Locations, key: tuple, file: Path | str | None) -> str:
    for n in range(len(key), -1, -1):
        if key[:n] in locations:
            f, line = locations[key[:n]]
            return f if line == 0 else f"{f}:{line}"
    return str(file) if file else "<recipe>"

