"""A source plugin installed for real: a module and its dist-info on a temporary path."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from metrics import kinds


@contextmanager
def installed_plugin(root: Path, kind: str, module: str, source: str) -> Iterator[None]:
    """Install ``module`` (its code ``source``) declaring ``kind`` in ``outcome.sources``,
    the way pip would; on leaving, uninstall it and forget the kind."""
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[{kinds.ENTRY_POINT_GROUP}]\n{kind} = {module}:Source\n", encoding="utf-8")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    kinds.reload_plugins()
    try:
        yield
    finally:
        sys.path.remove(str(root))
        sys.modules.pop(module, None)
        importlib.invalidate_caches()
        kinds.reload_plugins()
