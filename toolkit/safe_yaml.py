"""YAML from files we do not control, loaded with bounds: input size, node count and,
where aliases are allowed at all, their expanded size.

PyYAML's safe loader builds no objects, but it expands aliases by reference: a few hundred
bytes of nested `&a [*b, *b, ...]` stand for billions of nodes, and whatever walks or
prints the result (a record's text, a recipe's line index) pays for all of them. So a
document is composed first (aliases stay shared nodes, cost linear in the input), its
expanded size is counted on the node graph, and only then is it constructed.

Document front matter and eval suites refuse aliases; recipes may use them (shared
blocks are a YAML idiom there) within an expanded-size bound.
"""

from __future__ import annotations

from typing import Any

import yaml

from toolkit.errors import DataError, GongmuError

# libyaml when present: legalize-kr front matter runs to 120 KB, and the pure-Python
# parser would be the slowest part of reading a statute.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_EXPANDED_CHARS = 8 << 20


def compose_yaml(
    text: str,
    where: str,
    *,
    aliases: bool = False,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    max_expanded_chars: int = MAX_EXPANDED_CHARS,
    first_line: int = 1,
    error: type[GongmuError] = DataError,
    syntax_error: type[Exception] | None = None,
) -> yaml.Node | None:
    """The node graph of the single YAML document in `text` (None when it is empty),
    after checking its bounds.

    `where` names the source (a file path) in messages, as `where:line` (as `line N` when
    `where` is empty: the caller names the file itself); `first_line` is
    the file line of the text's first line (front matter starts on line 2). Raises `error`
    (DataError by default) when the text is over `max_bytes`, is not valid YAML, uses an
    alias while `aliases` is false, has a recursive alias, or expands to more than
    `max_nodes` nodes or `max_expanded_chars` characters of scalars; invalid YAML raises
    `syntax_error` instead when one is given (a caller that reads non-YAML as plain text)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise error(f"{where or 'YAML'}: {size:,} bytes of YAML, over the limit of {max_bytes:,}. "
                    f"Shorten it or split it into several files.")
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise (syntax_error or error)(_syntax_message(exc, where, first_line)) from None
    except RecursionError:
        raise error(f"{where or 'YAML'}: nested too deeply to read.") from None
    finally:
        loader.dispose()
    if node is not None:
        _check_expansion(node, where, aliases, max_nodes, max_expanded_chars, first_line, error)
    return node


def load_yaml(text: str, where: str, **bounds: Any) -> Any:
    """The value of the single YAML document in `text`, loaded with the bounds of
    `compose_yaml` (same keyword arguments, same errors); None when it is empty."""
    node = compose_yaml(text, where, **bounds)
    return None if node is None else construct_yaml(
        node, where, first_line=bounds.get("first_line", 1),
        error=bounds.get("error", DataError))


def construct_yaml(node: yaml.Node, where: str = "", *, first_line: int = 1,
                   error: type[GongmuError] = DataError) -> Any:
    """The Python value of a node graph returned by `compose_yaml` (safe types only).
    Raises `error` for a value the safe loader cannot build: a tag such as
    `!!python/object`, an impossible date (2024-13-45), bad base64 in `!!binary`."""
    loader = _LOADER("")
    try:
        return loader.construct_document(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        mark = (getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
                or _failing_scalar_mark(node))
        at = _at(where, mark.line + first_line) if mark is not None else where or "YAML"
        problem = (getattr(exc, "problem", None) or str(exc)).splitlines()[0][:200]
        raise error(f"{at}: a value cannot be read ({problem}). Write it as plain text, "
                    f"a number, a list or a mapping.") from None
    except RecursionError:
        raise error(f"{where or 'YAML'}: nested too deeply to read.") from None
    finally:
        loader.dispose()


def _failing_scalar_mark(root: yaml.Node):
    """Where the first scalar is that the safe loader cannot build (a ValueError carries
    no position): found again scalar by scalar, only on the error path."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            loader = _LOADER("")
            try:
                loader.construct_object(node)
            except Exception:  # noqa: BLE001 -- any failure marks the culprit
                return node.start_mark
            finally:
                loader.dispose()
        elif isinstance(node, yaml.MappingNode):
            stack.extend(x for pair in reversed(node.value) for x in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None


def _check_expansion(root: yaml.Node, where: str, aliases: bool, max_nodes: int,
                     max_chars: int, first_line: int, error: type[GongmuError]) -> None:
    """Count nodes and scalar characters as if every alias were written out, on the graph
    (each shared node once, memoised), so the count itself costs no more than the input.
    Iterative: a deep document must not exhaust Python's stack here."""
    size: dict[int, tuple[int, int]] = {}   # id(node) -> (nodes, chars) expanded
    on_path: set[int] = set()

    def line(node: yaml.Node) -> int:
        return node.start_mark.line + first_line

    # Frames: (node, the line that refers to it, children pushed yet).
    stack: list[tuple[yaml.Node, int, bool]] = [(root, line(root), False)]
    while stack:
        node, ref_line, expanded = stack.pop()
        key = id(node)
        if not expanded:
            if key in on_path:
                raise error(f"{_at(where, ref_line)}: a YAML alias refers to a node that "
                            f"contains it (a recursive alias). Write the value out.")
            if key in size:
                if not aliases:
                    raise error(
                        f"{_at(where, ref_line)}: YAML aliases (*name) are not allowed here. "
                        f"Write the value out in full instead of referring to "
                        f"&anchor at line {line(node)}.")
                continue
            on_path.add(key)
            stack.append((node, ref_line, True))
            for child, child_line in reversed(list(_children(node, line))):
                stack.append((child, child_line, False))
            continue
        on_path.discard(key)
        nodes, chars = 1, len(node.value) if isinstance(node, yaml.ScalarNode) else 0
        for child, _ in _children(node, line):
            n, c = size[id(child)]
            nodes, chars = nodes + n, chars + c
        size[key] = (nodes, chars)
        if nodes > max_nodes:
            raise error(f"{_at(where, ref_line)}: YAML that expands to over {max_nodes:,} "
                        f"values (aliases included) is not accepted. Make it smaller.")
        if chars > max_chars:
            raise error(f"{_at(where, ref_line)}: YAML whose text expands to over "
                        f"{max_chars:,} characters (aliases included) is not accepted. "
                        f"Make it smaller.")


def _children(node: yaml.Node, line) -> list[tuple[yaml.Node, int]]:
    """A node's children, each with the line that refers to it: for a mapping value, its
    key's line (`제목: *bomb` is where the alias is); for a list item, the list's line (an
    alias node carries the line of its anchor, not its own)."""
    if isinstance(node, yaml.MappingNode):
        out = []
        for k, v in node.value:
            out += [(k, line(k)), (v, line(k))]
        return out
    if isinstance(node, yaml.SequenceNode):
        return [(item, line(node)) for item in node.value]
    return []


def _syntax_message(exc: yaml.YAMLError, where: str, first_line: int) -> str:
    mark = getattr(exc, "problem_mark", None)
    at = _at(where, mark.line + first_line) if mark is not None else where or "YAML"
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return (f"{at}: not valid YAML ({problem}). Check indentation and quoting on "
            f"that line.")


def _at(where: str, line: int) -> str:
    return f"{where}:{line}" if where else f"line {line}"
