"""The licence pyproject.toml declares ships as a LICENSE file (issue 15, item 11)."""

from __future__ import annotations

import hashlib
import tomllib

from tests.helpers import REPO

# md5 of the Apache License 2.0 text as published at apache.org/licenses/LICENSE-2.0.txt.
APACHE_2_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"


def test_license_file_is_the_apache_2_text_pyproject_declares():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    license = project["license"]
    assert (license if isinstance(license, str) else license.get("text")) == "Apache-2.0"
    assert hashlib.md5((REPO / "LICENSE").read_bytes()).hexdigest() == APACHE_2_MD5
