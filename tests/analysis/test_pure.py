"""analysis/ is pure: importing every module in it loads no model or UI library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "streamlit", "sentence_transformers")


def test_every_analysis_module_imports_without_torch_transformers_or_streamlit():
    # A fresh interpreter: this test session may have imported torch elsewhere.
    code = (
        "import importlib, pkgutil, sys, analysis\n"
        "names = sorted(m.name for m in pkgutil.iter_modules(analysis.__path__))\n"
        "for name in names: importlib.import_module('analysis.' + name)\n"
        f"print(len(names), sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    n_modules, _, loaded = result.stdout.strip().partition(" ")
    assert int(n_modules) == len([p for p in (ROOT / "analysis").glob("*.py") if p.name != "__init__.py"])
    assert loaded == "[]", loaded
