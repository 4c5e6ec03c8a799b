"""File ▸ Export…: the current network as ONNX, safetensors or PyTorch code, with that code shown.

Thin over :mod:`nnstudio.core.interop` (the same functions as ``nnstudio export``). ONNX is offered
only where the optional ``onnx`` package is installed; otherwise the dialog says how to install it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from nnstudio.core.interop import (
    FORMAT_LABELS,
    FORMATS,
    INSTALL_HINT,
    ExportError,
    MissingPackageError,
    export_model,
    onnx_available,
    pytorch_code,
)
from nnstudio.core.nn import Sequential

_FILTERS = {
    "onnx": "ONNX models (*.onnx)",
    "safetensors": "safetensors weights (*.safetensors)",
    "pytorch": "PyTorch code (*.py)",
}


class ExportDialog(QDialog):
    """Choose a format and a file; see the network as PyTorch code; export."""

    def __init__(self, net: Sequential, folder: str | Path, name: str = "model", parent=None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export model")
        self.net = net
        self.written: list[Path] = []
        self.folder = Path(folder)
        self.onnx = onnx_available()

        sizes = " → ".join(map(str, net.sizes()))
        intro = QLabel(
            f"Write this network (<b>{sizes}</b>, {net.num_parameters():,} parameters) for PyTorch "
            "or an ONNX runtime such as onnxruntime."
        )
        intro.setWordWrap(True)

        self.format_box = QComboBox(objectName="exportFormat")
        for fmt in FORMATS:
            self.format_box.addItem(FORMAT_LABELS[fmt], fmt)
        if not self.onnx:
            item = self.format_box.model().item(0)
            item.setEnabled(False)
            item.setText(FORMAT_LABELS["onnx"] + " (needs the onnx package)")
        self.note = QLabel(objectName="exportNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        if not self.onnx:
            self.note.setText(
                f"ONNX export needs the optional onnx package. Install it with: <code>{INSTALL_HINT}</code>"
            )
        self.note.setVisible(not self.onnx)

        self.path_edit = QLineEdit(objectName="exportPath")
        browse = QPushButton("Browse…", objectName="exportBrowseButton")
        browse.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)

        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("File", path_row)

        self.code_title = QLabel(objectName="exportCodeTitle")
        self.code = QPlainTextEdit(objectName="exportCode")
        self.code.setReadOnly(True)
        self.code.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.code.setMinimumSize(640, 420)

        self.error_label = QLabel(objectName="exportError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d9534f")
        self.error_label.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        buttons.accepted.connect(self.export)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.code_title)
        layout.addWidget(self.code, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

        self._name = Path(name).stem or "model"
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self.path_edit.textChanged.connect(self._show_code)
        self.format_box.setCurrentIndex(0 if self.onnx else 2)
        self._format_changed()

    # -- state ------------------------------------------------------------------------
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    def path(self) -> Path:
        return Path(self.path_edit.text().strip()).expanduser()

    def _format_changed(self, *_):
        current = self.path_edit.text().strip()
        base = Path(current).with_suffix("") if current else self.folder / self._name
        self.path_edit.setText(str(base) + FORMATS[self.fmt()])
        self.error_label.hide()
        self._show_code()

    def _show_code(self, *_):
        weights = self.path().with_suffix(".safetensors").name if self.path_edit.text().strip() else "model.safetensors"
        try:
            text = pytorch_code(self.net, weights)
        except ExportError as exc:
            text = f"# This network has no PyTorch equivalent here: {exc}"
        if self.fmt() == "pytorch":
            title = f"Your network in PyTorch: {Path(weights).stem}.py, written with {weights} beside it:"
        else:
            title = f"Your network in PyTorch (the “PyTorch code” format writes this file, loading {weights}):"
        self.code_title.setText(title)
        self.code.setPlainText(text)

    # -- actions ------------------------------------------------------------------------
    def browse(self) -> None:
        fmt = self.fmt()
        path, _ = QFileDialog.getSaveFileName(self, "Export model", str(self.path()), _FILTERS[fmt])
        if path:
            if not path.lower().endswith(FORMATS[fmt]):
                path += FORMATS[fmt]
            self.path_edit.setText(path)

    def export(self) -> bool:
        """Write the files; on a problem say it in the dialog and keep it open."""
        if not self.path_edit.text().strip():
            return self._fail("Choose a file to write.")
        try:
            self.written = export_model(self.net, self.path(), self.fmt())
        except (ExportError, MissingPackageError) as exc:
            return self._fail(str(exc))
        except OSError as exc:
            return self._fail(f"Could not write {self.path()}: {exc.strerror or exc}")
        self.accept()
        return True

    def _fail(self, text: str) -> bool:
        self.error_label.setText(text)
        self.error_label.show()
        return False
