"""Where code that imports a handler directly finds it: the one list of source roots.

- The layer's package, `salesmetrics`, is installed into the dev venv (`make venv` runs
  `pip install -e layers/common`): it needs no path anywhere.
- A function's directory (`functions/<name>/`, its CodeUri) is not a package: Lambda puts it on
  sys.path, and so must whatever imports a handler module outside Lambda (the tests, the
  benchmarks, their subprocesses). This module is that list; the local AWS and the gateway take
  each function's directory from template.yaml instead, as Lambda does.
- mypy reads the same directories from `mypy_path` in pyproject.toml (static configuration).

    python -m devtools.sourceroots      # prints the PYTHONPATH value, for a shell
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIRS: tuple[Path, ...] = tuple(
    sorted(
        path for path in (REPO_ROOT / "functions").iterdir() if path.is_dir() and not path.name.startswith((".", "_"))
    )
)


def paths() -> list[str]:
    """Each function's directory, then the repository root (devtools, bench, tests)."""
    return [*(str(path) for path in FUNCTION_DIRS), str(REPO_ROOT)]


def pythonpath() -> str:
    """The PYTHONPATH a subprocess needs to import handlers (and devtools) directly."""
    return os.pathsep.join(paths())


def add_to_sys_path() -> None:
    """Put the function directories and the repository root on this process's sys.path."""
    for path in reversed(paths()):
        if path not in sys.path:
            sys.path.insert(0, path)


if __name__ == "__main__":
    print(pythonpath())
