"""Write the application icon as PNGs (16-256 px, hicolor names) and SVG, from nnstudio/gui/app_icon.py.

QT_QPA_PLATFORM=offscreen python resources/icons/make_icons.py
"""

import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication

from nnstudio.gui.app_icon import SIZES, image, svg

HERE = Path(__file__).resolve().parent


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage text needs one)
    for size in SIZES:
        path = HERE / f"nnstudio-{size}.png"
        image(size).save(str(path))
        print(path.relative_to(HERE.parents[1]))
    (HERE / "nnstudio.svg").write_text(svg())
    print((HERE / "nnstudio.svg").relative_to(HERE.parents[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
