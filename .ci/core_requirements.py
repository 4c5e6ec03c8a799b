"""Print the project's requirements without Qt (PySide6, pyqtgraph), plus the test runner.

.ci/run installs these into a second virtual environment to show that the core and the CLI
(tests/core, tests/cli) work where Qt is not installed.
"""

import re
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
QT = re.compile(r"^\s*(pyside6|pyside6-essentials|pyqtgraph|shiboken6)\b", re.IGNORECASE)
test = [r for r in project["optional-dependencies"]["test"] if r.split(">")[0].strip() in ("pytest", "pytest-timeout")]
for requirement in [*project["dependencies"], *test]:
    if not QT.match(requirement):
        print(requirement)
