"""The core and the CLI work where Qt is not installed: importing them never loads Qt or pyqtgraph.

(.ci/run also runs tests/core and tests/cli in a virtual environment without PySide6 and pyqtgraph.)
"""

import subprocess
import sys
import textwrap


def test_core_and_cli_import_with_qt_unavailable():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys

        class NoQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"):
                    raise ImportError(f"{name} is not installed here")
                return None

        sys.meta_path.insert(0, NoQt())
        import nnstudio.core, nnstudio.cli
        for package in (nnstudio.core, nnstudio.cli):
            for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                importlib.import_module(m.name)
        from nnstudio.cli import main
        assert main(["grad", "x**2 + 3*x", "--at", "x=2", "--json"]) == 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6"))
        assert not loaded, loaded
        assert not any(m.startswith("nnstudio.gui") for m in sys.modules)
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr
