"""Plug-ins: corpus readers, instruction families, eval item builders and metrics, found
through Python entry points, so a ministry adds its own without editing gongmu.

gongmu's built-ins register in the same five groups, in the same way, as a third-party
package (in its pyproject.toml):

    [project.entry-points."gongmu.readers"]
    minwon_csv = "gongmu_minwon.reader:READER"

| group             | the object                   | named by                                   |
| ----------------- | ---------------------------- | ------------------------------------------ |
| `gongmu.readers`  | `Reader`                     | recipe `corpus.sources[].type` (+ `options`) |
| `gongmu.families` | `Family` (or a function)     | recipe `corpus.families` (+ `corpus.family_options`) |
| `gongmu.suites`   | `ItemBuilder` (or a function) | suite.yaml `items: {builder: NAME}`       |
| `gongmu.metrics`  | `Metric`                     | suite.yaml `metrics`                       |
| `gongmu.floors`   | `Baseline`                   | (every installed one scores every suite)   |

The entry point's name is the name recipes and suites use, and the object must declare
the same name. A `Reader` or `Family` may declare a pydantic `options` model: the recipe's
options for it are validated by that model, so a wrong key is reported with its file, line
and the nearest valid key like any other recipe key.

Entry points are listed without importing anything, and a plug-in is imported only when a
recipe or suite uses it: one that fails to import breaks only what names it, with a
`PluginError` naming its package, never `gongmu --help`; `gongmu plugins` shows it as
broken with the reason. This module imports no stage package.
"""

from __future__ import annotations

import difflib
import importlib.metadata
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Iterable, Mapping

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from toolkit.errors import GongmuError

READERS = "gongmu.readers"
FAMILIES = "gongmu.families"
SUITES = "gongmu.suites"
METRICS = "gongmu.metrics"
FLOORS = "gongmu.floors"
GROUPS = (READERS, FAMILIES, SUITES, METRICS, FLOORS)
# What one plug-in of each group is called in messages.
KIND = {READERS: "reader", FAMILIES: "instruction family", SUITES: "eval item builder",
        METRICS: "metric", FLOORS: "no-model baseline"}


class PluginError(GongmuError):
    """A plug-in cannot be used: it fails to import, is not what its group expects, or
    two packages register the same name."""


class UnknownPlugin(PluginError):
    """No installed package registers this name in this group."""


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Reader:
    """A corpus source type. `read(path, data, options)` turns one file (its bytes: `data`)
    into documents: it yields `{"text": str, "meta": {...}}` per document, adding
    `"line": n` when one file holds many records (the document id and path then end in
    `:n`), and `{"line": n, "unreadable": "why"}` for a record it cannot read. A file it
    cannot read at all raises ValueError (or `toolkit.corpus.formats.Unreadable`) with the
    reason. The corpus stage quarantines what is unreadable, with the reason, and goes on.
    `options` is an instance of the `options` model (None without one). `glob` and
    `profile` are the defaults of `corpus.sources[].glob` and `.profile` for this type."""

    name: str
    read: Callable[..., Iterable[Any]]
    options: type[BaseModel] | None = None
    glob: str = "**/*"
    profile: str = "document"
    description: str = ""


@dataclass(frozen=True)
class Family:
    """An instruction family. `build(doc, options)` returns the chat records of one
    document (a SourceDoc: id, source, source_type, path, text, meta; `meta["source_type"]`
    is the recipe's source type), [] when the family does not apply. A record is
    `{"id": "<doc id>#<family>[#n]", "messages": [user, assistant], "meta": {"task":
    <family>, "doc_id": <doc id>, ...}}`. `options` is the recipe's
    `corpus.family_options.<name>` validated by the `options` model; a family without one
    gets the corpus-wide synthesis options (max_answer_chars, max_source_chars,
    max_per_doc, seed)."""

    name: str
    build: Callable[..., list[dict]]
    options: type[BaseModel] | None = None
    description: str = ""


@dataclass(frozen=True)
class ItemBuilder:
    """Builds an eval suite's items at eval time: `build(documents, seed)` gets the corpus
    stage's held-out documents of the suite's split and returns items in suite.yaml's item
    form (id, messages, reference, ...)."""

    name: str
    build: Callable[[list[dict], int], list[dict]]
    description: str = ""


@dataclass(frozen=True)
class Metric:
    """`score(output, reference, item)` in [0, 1] for one eval item (`item` may be None; an
    item-aware metric reads `item["meta"]`). A suite's score is the mean over items.
    `higher_is_better` is False for rates of a failure (pii_leak): the gate and thresholds
    then treat a rise as the regression."""

    name: str
    score: Callable[..., float]
    higher_is_better: bool = True
    description: str = ""


@dataclass(frozen=True)
class Baseline:
    """A no-model strategy, what a program that reads nothing answers: `answer(item,
    items, k) -> str` for generated answers (the item, the suite's items, its position),
    or `choose(item) -> int` (a choice's index) for multiple choice. Every eval scores
    every installed baseline on every suite it applies to; a suite's floor is the best,
    and 적합 asks for the whole interval above it."""

    name: str
    answer: Callable[[dict, list, int], str] | None = None
    choose: Callable[[dict], int] | None = None
    description: str = ""


_DECLARATION = {READERS: Reader, FAMILIES: Family, SUITES: ItemBuilder, METRICS: Metric,
                FLOORS: Baseline}
# Groups where a bare function stands for a declaration without options.
_FUNCTION_FORM = {FAMILIES: "build", SUITES: "build"}


@dataclass(frozen=True)
class PluginRecord:
    """Which package provided a plug-in: what a stage manifest records."""

    group: str
    name: str
    package: str
    version: str

    def as_dict(self) -> dict:
        return {"group": self.group, "name": self.name, "package": self.package,
                "version": self.version}


# --------------------------------------------------------------------------- lookup


@cache
def _entry_points(group: str) -> dict[str, tuple[importlib.metadata.EntryPoint, ...]]:
    found: dict[str, list] = {}
    for ep in importlib.metadata.entry_points(group=group):
        found.setdefault(ep.name, []).append(ep)
    return {name: tuple(eps) for name, eps in sorted(found.items())}


def refresh() -> None:
    """Forget what was found and loaded (after installing a plug-in in this process)."""
    _entry_points.cache_clear()
    _load.cache_clear()


def names(group: str) -> list[str]:
    """The names registered in `group`, without importing any plug-in."""
    return list(_entry_points(group))


def _package(ep: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "an unknown package", "?"
    return dist.metadata["Name"] or dist.name, dist.version


def _origin(ep: importlib.metadata.EntryPoint) -> str:
    package, version = _package(ep)
    return f"package {package} {version} (entry point {ep.name} = {ep.value})"


def _entry_point(group: str, name: str) -> importlib.metadata.EntryPoint:
    if group not in GROUPS:
        raise ValueError(f"unknown plug-in group '{group}'")
    eps = _entry_points(group)
    if name not in eps:
        raise UnknownPlugin(unknown_message(group, name))
    if len(eps[name]) > 1:
        raise PluginError(
            f"Two installed packages register the {KIND[group]} '{name}' in {group}: "
            f"{'; '.join(_origin(ep) for ep in eps[name])}. Uninstall one of them."
        )
    return eps[name][0]


def unknown_message(group: str, name: str) -> str:
    known = names(group)
    if not known:
        return (f"No {KIND[group]} is registered in entry-point group {group}, not even "
                f"gongmu's own: gongmu is not installed as a package here. Install it "
                f"(pip install -e .) and retry.")
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    near = f" Did you mean '{close[0]}'?" if close else ""
    return (f"unknown {KIND[group]} '{name}'.{near} Installed: {', '.join(known)} "
            f"(`gongmu plugins` lists them with their packages; a plug-in package must be "
            f"installed in this environment)")


def load(group: str, name: str):
    """The declaration registered as `name` in `group` (imported on first use, then kept).
    Raises UnknownPlugin when nothing registers it, PluginError when it fails to import
    or is not a declaration of its group."""
    return _load(group, name)


@cache
def _load(group: str, name: str):
    ep = _entry_point(group, name)
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - any import failure is the plug-in's
        raise PluginError(
            f"The {KIND[group]} '{name}' cannot be used: its {_origin(ep)} fails to import "
            f"({type(exc).__name__}: {exc}). Reinstall or fix that package, or stop naming "
            f"'{name}'; `gongmu plugins` shows every installed plug-in and whether it loads."
        ) from exc
    declared = _DECLARATION[group]
    if callable(obj) and not isinstance(obj, declared) and group in _FUNCTION_FORM:
        doc = (obj.__doc__ or "").strip().splitlines()
        obj = declared(name, obj, description=doc[0] if doc else "")
    if not isinstance(obj, declared):
        raise PluginError(
            f"The {KIND[group]} '{name}' from {_origin(ep)} is a {type(obj).__name__}, not a "
            f"toolkit.plugins.{declared.__name__}. Point the entry point at one."
        )
    if obj.name != name:
        raise PluginError(
            f"The {KIND[group]} registered as '{name}' by {_origin(ep)} declares the name "
            f"'{obj.name}'. Make the entry point's name and the declared name the same."
        )
    return obj


def check_name(group: str, name: str) -> str:
    """`name` when `group` registers it, else ValueError (for schema validators: the
    recipe loader adds the file and line)."""
    if name not in _entry_points(group):
        raise ValueError(unknown_message(group, name))
    return name


# --------------------------------------------------------------------------- options


def validate_options(group: str, name: str, options: Mapping[str, Any] | None,
                     at: tuple = ()) -> dict:
    """The options for plug-in `name` checked by its own options model, defaults filled
    in, as plain data. For use inside a pydantic validator: errors come out as a
    ValidationError located at each bad key (below `at`, within the validated field; an
    unknown key names the nearest valid one), so the recipe loader reports the file and
    line."""
    plugin = load(group, name)
    options = dict(options or {})
    if plugin.options is None:
        if options:
            raise ValueError(f"the {KIND[group]} '{name}' takes no options; "
                             f"remove {', '.join(map(str, options))}")
        return {}
    try:
        return plugin.options.model_validate(options).model_dump(mode="json")
    except ValidationError as exc:
        raise _with_key_hints(exc, plugin, group, at) from None


def options_model(group: str, name: str, options: Mapping[str, Any] | None):
    """The options instance a plug-in's function receives (None without an options model)."""
    plugin = load(group, name)
    return None if plugin.options is None else plugin.options.model_validate(dict(options or {}))


def _with_key_hints(exc: ValidationError, plugin, group: str, at: tuple) -> ValidationError:
    valid = list(plugin.options.model_fields)
    errors = []
    for err in exc.errors():
        detail = {"type": err["type"], "loc": (*at, *err["loc"]), "input": err.get("input")}
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), valid, n=1, cutoff=0.5)
            near = f"did you mean '{close[0]}'? " if close else ""
            detail["type"] = PydanticCustomError(
                "unknown_option", "is not an option of the {kind} '{name}' ({near}its options: "
                "{valid})", {"kind": KIND[group], "name": plugin.name, "near": near,
                             "valid": ", ".join(valid) or "none"})
        errors.append(detail)
    return ValidationError.from_exception_data(exc.title, errors)


# --------------------------------------------------------------------------- listing


def installed() -> list[dict]:
    """Every registered plug-in, group by group: group, name, package, version, status
    ("ok", or "broken: <why>") and description. Loads each one to tell."""
    rows = []
    for group in GROUPS:
        for name, eps in _entry_points(group).items():
            for ep in eps:
                package, version = _package(ep)
                row = {"group": group, "name": name, "package": package, "version": version,
                       "status": "ok", "description": ""}
                try:
                    row["description"] = load(group, name).description
                except PluginError as exc:
                    cause = exc.__cause__
                    row["status"] = "broken: " + (f"{type(cause).__name__}: {cause}"
                                                  if cause is not None else str(exc))
                rows.append(row)
    return rows


def print_plugins(rows: list[dict] | None = None) -> None:
    """`gongmu plugins`: the installed plug-ins as one table per group; a plug-in that
    cannot be loaded is listed as broken, with the reason."""
    from rich.markup import escape
    from rich.table import Table

    from toolkit.console import console

    rows = installed() if rows is None else rows
    for group in GROUPS:
        table = Table(title=f"{group} ({KIND[group]})", title_justify="left", box=None,
                      padding=(0, 2, 0, 0))
        for column in ("name", "package", "version", "status"):
            table.add_column(column, overflow="fold")
        for row in (r for r in rows if r["group"] == group):
            status = escape(row["status"])
            table.add_row(escape(row["name"]), escape(row["package"]), escape(row["version"]),
                          status if row["status"] == "ok" else f"[bold red]{status}[/]")
        console.print(table)
    broken = sum(r["status"] != "ok" for r in rows)
    if broken:
        console.print(f"[yellow]warning[/] {broken} plug-in(s) cannot be loaded; recipes and "
                      f"suites that name them fail until their package is fixed or removed.",
                      highlight=False, soft_wrap=True)


def plugins_used(used: Mapping[str, Iterable[str]]) -> list[dict]:
    """Manifest records ({group, name, package, version}) of the plug-ins named in
    `used` ({group: names}), sorted: which package and version did the work."""
    records = []
    for group, used_names in used.items():
        for name in sorted(set(used_names)):
            package, version = _package(_entry_point(group, name))
            records.append(PluginRecord(group, name, package, version).as_dict())
    return records
