"""Help ▸ About nnstudio: version, license, the libraries it runs on and the datasets it learns from."""

from __future__ import annotations

import platform

import numpy
import pyqtgraph
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from nnstudio import __version__

from .app_icon import app_icon

DATASET_CREDITS = (
    (
        "MNIST",
        "Yann LeCun, Corinna Cortes and Christopher J. C. Burges, <i>The MNIST database of handwritten digits</i>.",
    ),
    (
        "Fashion-MNIST",
        "Han Xiao, Kashif Rasul and Roland Vollgraf, Zalando Research, <i>Fashion-MNIST: a novel image "
        "dataset for benchmarking machine learning algorithms</i> (2017), MIT License.",
    ),
)


def versions() -> list[tuple[str, str]]:
    """(name, version) of nnstudio and everything it runs on, as a bug report wants them."""
    return [
        ("nnstudio", __version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("NumPy", numpy.__version__),
        ("pyqtgraph", pyqtgraph.__version__),
        ("System", f"{platform.system()} {platform.release()} ({QGuiApplication.platformName()})"),
    ]


class AboutDialog(QDialog):
    """The About box; "Copy versions" puts the version list on the clipboard for a bug report."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About nnstudio")

        icon = QLabel(objectName="aboutIcon")
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignTop)
        title = QLabel(
            f"<h2 style='margin:0'>nnstudio {__version__}</h2>"
            "<p>Learn neural networks by building one, training it and looking inside it while it learns. "
            "Every number comes from nnstudio's own NumPy engine.</p>"
            "<p>Free software under the MIT License.</p>",
            objectName="aboutTitle",
        )
        title.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addSpacing(12)
        header.addWidget(title, 1)

        rows = "".join(f"<tr><td>{name}</td><td>&nbsp;&nbsp;{version}</td></tr>" for name, version in versions())
        self.versions_label = QLabel(f"<b>Runs on</b><table>{rows}</table>", objectName="aboutVersions")
        self.versions_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        credits = "".join(f"<p><b>{name}</b>: {text}</p>" for name, text in DATASET_CREDITS)
        self.credits_label = QLabel(
            f"<b>Datasets</b>{credits}<p>The shipped models were trained by nnstudio on these datasets.</p>",
            objectName="aboutCredits",
        )
        self.credits_label.setWordWrap(True)

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        copy = QPushButton("&Copy Versions", objectName="aboutCopyButton")
        copy.setToolTip("Copy the version list, for a bug report")
        copy.clicked.connect(self.copy_versions)
        buttons.addButton(copy, QDialogButtonBox.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addWidget(self.versions_label)
        layout.addWidget(self.credits_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def version_text(self) -> str:
        return "\n".join(f"{name} {version}" for name, version in versions())

    def copy_versions(self) -> None:
        QGuiApplication.clipboard().setText(self.version_text())
