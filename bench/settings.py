"""Settings of the benchmark server: the project's, plus the bench-only trivial view.

The trivial view stays out of the project's URLconf (it is not a product page); this module
only swaps the URLconf and adds the directory of its template, so every other setting —
middleware, sessions, static storage — is the one production runs.
"""

from pathlib import Path
from typing import cast

from clspdr.settings import *  # noqa: F403
from clspdr.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"
_project_dirs = cast("list[Path]", TEMPLATES[0]["DIRS"])
TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*_project_dirs, BASE_DIR / "bench" / "templates"]},
    *TEMPLATES[1:],
]
