"""Missing dataset -> a dialog: download it (progress, cancel) or point at a folder that has it."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from nnstudio.core.data import DATASETS, DataError, get_info, load_dataset, locate

from ..jobs import Job


def _download(ctx, name: str, data_dir) -> tuple:
    """On the job's thread: load ``name``, downloading it. (Dataset, "") or (None, why not)."""

    def progress(label, done, total):
        ctx.progress((label, done, total))
        return not ctx.is_cancelled  # False makes load_dataset stop (DownloadCancelled)

    try:
        return load_dataset(name, data_dir, download=True, progress=progress), ""
    except DataError as exc:
        return None, str(exc)


class DownloadDialog(QDialog):
    """Explains what is missing; downloads on request with a progress bar and a Cancel button.

    After ``exec()``, ``dataset`` is the loaded Dataset (or None) and ``data_dir`` the
    folder the user picked, if any.
    """

    def __init__(self, name: str, data_dir=None, parent=None):
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        info = get_info(name)
        self.name, self.data_dir = info.name, data_dir
        self.dataset = None
        self.setWindowTitle(f"{info.title} is not on this computer")
        self.text = QLabel(
            f"<p><b>{info.title}</b> was not found{f' in {data_dir}' if data_dir else ''}.</p>"
            f"<p>Download it now (about 11-30 MB, checked against known SHA-256 sums), or choose a folder "
            f"that holds a <code>{info.name}/</code> subfolder with the four IDX files. You can also set "
            f"the <code>NNSTUDIO_DATA_DIR</code> environment variable.</p>"
        )
        self.text.setWordWrap(True)
        self.progress = QProgressBar(objectName="downloadProgress")
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.status = QLabel(objectName="downloadStatus", wordWrap=True)
        self.buttons = QDialogButtonBox()
        self.download_button = QPushButton("Download", objectName="downloadButton")
        self.folder_button = QPushButton("Choose folder…", objectName="chooseFolderButton")
        self.cancel_button = QPushButton("Cancel", objectName="cancelDownloadButton")
        self.buttons.addButton(self.download_button, QDialogButtonBox.AcceptRole)
        self.buttons.addButton(self.folder_button, QDialogButtonBox.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.RejectRole)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(460)
        self.download_button.clicked.connect(self.start_download)
        self.folder_button.clicked.connect(self.choose_folder)
        self.cancel_button.clicked.connect(self.cancel)
        self.job = Job(self, name="nnstudio-download")
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)

    def start_download(self) -> None:
        self.download_button.setEnabled(False)
        self.folder_button.setEnabled(False)
        self.progress.show()
        self.status.setText("Connecting…")
        self.adjustSize()  # room for the bar and the status line: the text above must not be clipped
        self.job.start(_download, self.name, self.data_dir)

    def _on_progress(self, payload) -> None:
        label, done, total = payload
        if total:
            self.progress.setValue(int(100 * done / total))
            self.status.setText(f"Downloading {label}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")

    def _on_finished(self, result) -> None:
        dataset, error = result
        if dataset is None:
            self._on_failed(error)
            return
        self.dataset = dataset
        self.accept()

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"<span style='color:#d9534f'>{message}</span>")
        self.download_button.setEnabled(True)
        self.folder_button.setEnabled(True)
        self.progress.hide()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"Folder holding {self.name}/")
        if not folder:
            return
        if locate(self.name, folder) is None:
            self.status.setText(
                f"<span style='color:#d9534f'>{folder} has no {self.name}/ subfolder with the four IDX files.</span>"
            )
            return
        try:
            self.dataset = load_dataset(self.name, folder, download=False)
        except DataError as exc:
            self.status.setText(f"<span style='color:#d9534f'>{exc}</span>")
            return
        self.data_dir = folder
        self.accept()

    def cancel(self) -> None:
        self.reject()

    def reject(self) -> None:
        """Cancel, Escape and closing the dialog all stop a running download first."""
        if self.job.busy:
            self.status.setText("Cancelling…")
            self.job.cancel()
            self.job.wait(5)  # delivers its last news: a download that finished meanwhile is kept
        if self.dataset is None:
            super().reject()


def obtain_dataset(name: str, data_dir=None, parent=None, ask: bool = True):
    """The dataset if it is here; otherwise ask (dialog). Returns (Dataset | None, data_dir, error)."""
    if name not in DATASETS:  # the user's own digits: nothing to download, just load or explain
        try:
            return load_dataset(name, data_dir, download=False), data_dir, ""
        except DataError as exc:
            return None, data_dir, str(exc)
    if locate(name, data_dir) is not None:
        try:
            return load_dataset(name, data_dir, download=False), data_dir, ""
        except DataError as exc:
            return None, data_dir, str(exc)
    if not ask:
        try:
            load_dataset(name, data_dir, download=False)
        except DataError as exc:
            return None, data_dir, str(exc)
    dlg = DownloadDialog(name, data_dir, parent)
    dlg.exec()
    if dlg.dataset is None:
        return (
            None,
            data_dir,
            f"{get_info(name).title} is not available (download it, or set NNSTUDIO_DATA_DIR to a folder that has it).",
        )
    return dlg.dataset, dlg.data_dir, ""
