"""Register plug-ins for one test without installing a package: a distribution made of its
`.dist-info` alone (METADATA and entry_points.txt) on sys.path is what importlib.metadata,
and so `toolkit.plugins`, finds for an installed package."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

from toolkit import plugins


def write_dist_info(folder: Path, package: str, version: str,
                    entry_points: dict[str, dict[str, str]]) -> Path:
    """`folder/<package>-<version>.dist-info` declaring `entry_points` ({group: {name:
    "module:attr"}})."""
    info = folder / f"{package.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in names.items()) + "\n"
        for group, names in entry_points.items()), encoding="utf-8")
    return info


@contextlib.contextmanager
def registered(folder: Path, entry_points: dict[str, dict[str, str]],
               package: str = "gongmu-test-plugin", version: str = "0.0.1") -> Iterator[Path]:
    """Within the block, `entry_points` are installed as `package` `version`."""
    write_dist_info(folder, package, version, entry_points)
    sys.path.insert(0, str(folder))
    plugins.refresh()
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        plugins.refresh()
