"""Loading recipes: YAML with source locations, `extends` (deep merge, relative paths
against the file that names them), dotted `key=value` overrides typed by the schema, and
errors that name the file, the line and the nearest valid key.

A recipe is YAML. Relative paths in a recipe are resolved against the file that names
them (so a recipe runs the same from any working directory); paths given as command-line
overrides are resolved against the working directory.
"""

from __future__ import annotations

import copy
import difflib
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from toolkit.errors import RecipeError
from toolkit.recipe.fields import (
    Locations,
    dotted_key,
    field_model,
    item_model,
    map_paths,
    mapping_value,
    section_models,
    unwrap,
    written_at,
)
from toolkit.recipe.schema import Recipe
from toolkit.safe_yaml import compose_yaml, construct_yaml


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Load, merge (`extends`), override and validate a recipe. Raises RecipeError."""
    path = Path(path)
    if path.is_dir():
        raise RecipeError(
            f"{path} is a folder; give the path to a recipe YAML file, for example "
            f"recipes/quickstart.yaml."
        )
    if not path.is_file():
        raise RecipeError(
            f"Recipe file {path} does not exist. Give the path to a recipe YAML file, "
            f"for example recipes/quickstart.yaml."
        )
    data, locations = _load_with_extends(path.resolve(), stack=())
    for item in overrides:
        _apply_override(data, locations, item)
    data.pop("extends", None)
    # The default output folder, like every path, is relative to the recipe file.
    data.setdefault("output_dir", str(path.resolve().parent / "runs"))
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_explain(exc, locations, path)) from None
    recipe._file = path.resolve()
    recipe._locations = locations
    return recipe


def _load_yaml(path: Path) -> tuple[dict, Locations]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(
            f"{path}: the recipe is not UTF-8 text (byte {exc.start} cannot be decoded). Save "
            f"it as UTF-8."
        ) from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe ({exc.strerror or exc}).") from None
    # Aliases are allowed in recipes, but bounded: a 7-level alias chain must not expand
    # into gigabytes while its lines are collected.
    node = compose_yaml(text, str(path), aliases=True, error=RecipeError)
    data = None if node is None else construct_yaml(node, str(path), error=RecipeError)
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise RecipeError(
            f"{path}:1: a recipe must be a YAML mapping of keys (name:, corpus:, train: …), "
            f"not a {type(data).__name__}."
        )
    locations: Locations = {}
    if node is not None:
        _collect_lines(node, (), locations, str(path))
    return data, locations


def _collect_lines(node: yaml.Node, key: tuple, out: Locations, file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k_node, v_node in node.value:
            name = k_node.value
            line = k_node.start_mark.line + 1
            if name in seen:
                raise RecipeError(
                    f"{file}:{line}: key '{dotted_key(key + (name,))}' is set twice "
                    f"(first at line {seen[name]}). Keep one."
                )
            seen[name] = line
            out[key + (name,)] = (file, line)
            _collect_lines(v_node, key + (name,), out, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[key + (i,)] = (file, item.start_mark.line + 1)
            _collect_lines(item, key + (i,), out, file)


# `extends` is bounded: a chain deeper than this, or more files than this in all, is a
# mistake (or an attack); each file is read once however often it is named.
MAX_EXTENDS_DEPTH = 32
MAX_EXTENDS_FILES = 256


def _load_with_extends(path: Path, stack: tuple[Path, ...],
                       merged_files: dict[Path, tuple[dict, Locations]] | None = None
                       ) -> tuple[dict, Locations]:
    """`path` merged over what it extends. `merged_files` holds the result for each file
    already done, so a file named by many others is read and merged once (a chain that
    extends two files per level stays linear, not 2**depth)."""
    if merged_files is None:
        merged_files = {}
    if path in stack:
        chain = " -> ".join(str(p) for p in stack + (path,))
        raise RecipeError(f"Recipes extend each other in a cycle: {chain}. Break the cycle.")
    if path in merged_files:
        data, locations = merged_files[path]
        return copy.deepcopy(data), dict(locations)
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise RecipeError(
            f"{stack[-1]}: 'extends' goes more than {MAX_EXTENDS_DEPTH} files deep (from "
            f"{stack[0]}). Flatten the chain: let a recipe extend a few shared bases.")
    if len(merged_files) + len(stack) >= MAX_EXTENDS_FILES:
        raise RecipeError(
            f"{stack[-1]}: 'extends' names {path}, beyond the limit of {MAX_EXTENDS_FILES} "
            f"files a recipe may be built from (starting at {stack[0]}). Merge some of the "
            f"base recipes.")
    data, locations = _load_yaml(path)
    _resolve_paths(data, Recipe, path.parent)
    parents = data.get("extends") or []
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise RecipeError(
            f"{written_at(locations, ('extends',), path)}: 'extends' must be a file path or a "
            f"list of file paths."
        )
    merged: dict = {}
    merged_loc: Locations = {}
    for parent in parents:
        parent_path = (path.parent / parent).resolve()
        if not parent_path.is_file():  # a missing file or a folder
            raise RecipeError(
                f"{written_at(locations, ('extends',), path)}: 'extends' names {parent}, but "
                f"{parent_path} does not exist. Paths in 'extends' are relative to the file "
                f"that names them."
            )
        p_data, p_loc = _load_with_extends(parent_path, stack + (path,), merged_files)
        _deep_merge(merged, merged_loc, p_data, p_loc, ())
    _deep_merge(merged, merged_loc, data, locations, ())
    merged_files[path] = (copy.deepcopy(merged), dict(merged_loc))
    return merged, merged_loc


def _deep_merge(base: dict, base_loc: Locations, top: dict, top_loc: Locations, key: tuple):
    """Merge `top` into `base` in place: mappings merge, anything else is replaced."""
    for name, value in top.items():
        here = key + (name,)
        if isinstance(value, dict) and isinstance(base.get(name), dict):
            _deep_merge(base[name], base_loc, value, top_loc, here)
        else:
            base[name] = value
            for stale in [k for k in base_loc if k[: len(here)] == here]:
                del base_loc[stale]
            base_loc.update({k: v for k, v in top_loc.items() if k[: len(here)] == here})
        if here in top_loc:
            base_loc[here] = top_loc[here]


def _apply_override(data: dict, locations: Locations, item: str) -> None:
    """Apply one `dotted.key=value` override, typed later by the schema."""
    if "=" not in item:
        raise RecipeError(
            f"Override '{item}' is not of the form key=value (for example "
            f"train.learning_rate=1e-4)."
        )
    dotted, raw = item.split("=", 1)
    parts: list[Any] = [int(p) if p.isdigit() else p for p in dotted.strip().split(".")]
    if parts[0] == "extends":
        raise RecipeError(
            f"Override '{item}': 'extends' cannot be overridden; name the base recipe in the "
            f"recipe file."
        )
    if not raw.strip():
        raise RecipeError(
            f"Override '{item}' has an empty value. Give a value, or {dotted}=null to unset it."
        )
    # Walk the schema first, so a misspelled key fails before anything changes.
    # Lists take an index, `dict[str, X]` sections (report.acceptance) any name, and a
    # tagged union (eval.candidates) the fields of the member the item's `kind` names.
    models: list[Any] = [Recipe]
    annotation: Any = None
    node: Any = data
    for depth, part in enumerate(parts):
        value_type = mapping_value(annotation) if depth else None
        if value_type is not None:
            parts[depth] = part = str(part)
            annotation, models = value_type, section_models(value_type)
            node = node.get(part) if isinstance(node, dict) else None
            continue
        if isinstance(part, int):
            inner = _list_item(annotation)
            if inner is None:
                raise RecipeError(f"Override '{item}': '{dotted_key(parts[:depth])}' is not a list.")
            node = node[part] if isinstance(node, list) and part < len(node) else None
            tagged = item_model(inner, node)
            annotation, models = inner, [tagged] if tagged is not None else section_models(inner)
            continue
        if not models:
            hint = (" it is a list: give an item's index, for example "
                    f"{dotted_key(parts[:depth])}.0.{part}" if _list_item(annotation) else "")
            raise RecipeError(f"Override '{item}': '{dotted_key(parts[:depth])}' has no keys;"
                              f"{hint or ' it takes a value'}.")
        owner = next((m for m in models if part in m.model_fields), None)
        if owner is None:
            raise RecipeError(
                f"Override '{item}': unknown key '{dotted_key(parts[: depth + 1])}'."
                f"{_nearest_hint(part, models[0])}"
            )
        annotation = owner.model_fields[part].annotation
        models = section_models(annotation)
        node = node.get(part) if isinstance(node, dict) else None
    value = _override_value(raw, dotted.strip())
    accepted = _accepted_types(annotation)
    if str in accepted and not isinstance(value, accepted):
        value = raw  # `name=007`, `report.title=no`: the schema says text, keep the text
    value = _resolve_value_paths(value, annotation, Path.cwd())
    target: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(target, list) != isinstance(part, int):
            # the recipe writes a list where the schema has keys, or keys for a list
            raise RecipeError(
                f"Override '{item}': {written_at(locations, tuple(parts[:depth]), '<recipe>')}: "
                f"'{dotted_key(parts[:depth]) or 'the recipe'}' is written as "
                f"{'a list' if isinstance(target, list) else 'a mapping'}, so "
                f"'{dotted_key(parts[:depth + 1])}' cannot be set. Fix it in the recipe file.")
        if isinstance(target, list):
            if part >= len(target):
                raise RecipeError(
                    f"Override '{item}': '{dotted_key(parts[:depth])}' has no item {part} (an "
                    f"override changes an item the recipe file writes; a list left to its "
                    f"default has none: write the list in the recipe).")
            target = target[part]
        else:
            if not isinstance(target.get(part), (dict, list)):
                target[part] = [] if isinstance(parts[depth + 1], int) else {}
            target = target[part]
    last = parts[-1]
    if isinstance(target, list):
        if not isinstance(last, int) or last > len(target):
            raise RecipeError(f"Override '{item}': no list item {last} to set.")
        target[last:last + 1] = [value]
    else:
        target[last] = value
    here = tuple(parts)
    for stale in [k for k in locations if k[: len(here)] == here]:
        del locations[stale]
    locations[here] = ("<command line>", 0)


class _NotYaml(Exception):
    pass


def _override_value(raw: str, dotted: str) -> Any:
    """An override's value, read with the bounds of a recipe file (an alias bomb on the
    command line is refused like one in a file); text that is not YAML stays text."""
    try:
        node = compose_yaml(raw, f"<command line> {dotted}", aliases=True,
                            error=RecipeError, syntax_error=_NotYaml)
    except _NotYaml:
        return raw
    return None if node is None else construct_yaml(node, f"<command line> {dotted}",
                                                    error=RecipeError)


def _accepted_types(annotation: Any) -> tuple[type, ...]:
    """Python types a value of `annotation` may have as parsed YAML."""
    out: set[type] = set()
    for t in unwrap(annotation):
        origin = typing.get_origin(t)
        if t in (str, Path):
            out.add(str)
        elif origin is Literal:
            out.update(type(a) for a in typing.get_args(t))
        elif t is float:
            out.update((int, float))
        elif t in (int, bool):
            out.add(t)
        elif t is type(None):
            out.add(type(None))
        elif origin is list:
            out.add(list)
        elif origin is dict or (isinstance(t, type) and issubclass(t, BaseModel)):
            out.add(dict)
    return tuple(out)


def _resolve_value_paths(value: Any, annotation: Any, base: Path) -> Any:
    """Make the paths inside an override value absolute (plain, list or nested sections)."""
    holder = {"v": value}

    class _Holder(BaseModel):
        v: annotation  # type: ignore[valid-type]

    _resolve_paths(holder, _Holder, base)
    return holder["v"]


def _list_item(annotation: Any) -> Any:
    for t in unwrap(annotation):
        if typing.get_origin(t) is list:
            return typing.get_args(t)[0]
    return None


def _resolve_paths(raw: Any, cls: type[BaseModel], base: Path) -> None:
    """Make the Path-typed values in `raw` absolute, relative to `base` (in place)."""
    map_paths(raw, cls, lambda p: str((base / Path(p).expanduser()).resolve()))



def _model_at(key: tuple) -> Any:
    cls: Any = Recipe
    for part in key:
        if isinstance(part, int):
            continue
        if cls is None or part not in getattr(cls, "model_fields", {}):
            return None
        cls = field_model(cls.model_fields[part].annotation)
    return cls


def _nearest_hint(name: str, cls: Any) -> str:
    if cls is None:
        return ""
    valid = list(cls.model_fields)
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    near = f" Did you mean '{close[0]}'?" if close else ""
    return f"{near} Valid keys here: {', '.join(valid)}."


def _explain(exc: ValidationError, locations: Locations, file: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        where = written_at(locations, loc, file)
        dotted = dotted_key(loc)
        if err["type"] == "extra_forbidden":
            lines.append(
                f"{where}: unknown key '{dotted}'.{_nearest_hint(loc[-1], _model_at(loc[:-1]))}"
            )
        elif err["type"] == "missing":
            lines.append(f"{where}: required key '{dotted}' is missing.")
        else:
            expected = _expected_type(loc)
            # A value that may be a key (api_key_env, headers_env) is never repeated.
            got = "" if err["type"] == "secret_like" else f"; got {err.get('input')!r}"
            lines.append(
                f"{where}: key '{dotted}' {err['msg'][0].lower()}{err['msg'][1:]}"
                f"{f' (expected {expected})' if expected else ''}{got}."
            )
    return "Recipe is not valid. " + " ".join(lines)


def _expected_type(loc: tuple) -> str:
    parent = _model_at(loc[:-1])
    name = loc[-1] if loc else None
    if parent is None or name not in getattr(parent, "model_fields", {}):
        return ""
    ann = parent.model_fields[name].annotation
    names = []
    for t in unwrap(ann):
        if typing.get_origin(t) is Literal:
            names.append(" | ".join(repr(a) for a in typing.get_args(t)))
        else:
            names.append(getattr(t, "__name__", None) or str(t).replace("typing.", ""))
    return " or ".join(names)


def recipe_json_schema() -> dict:
    """JSON Schema of recipes, for editor completion (yaml-language-server)."""
    schema = Recipe.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gongmu recipe"
    return schema


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)

