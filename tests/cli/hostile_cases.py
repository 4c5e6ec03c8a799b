"""A corpus of hostile inputs for the CLI: crafted model files, damaged IDX datasets, absurd requests and
hostile expressions. Each case is built in a folder and names the ``nnstudio`` arguments that must end
in one clear line on stderr, a non-zero exit, no traceback, bounded memory and bounded time.

``tests/cli/test_hostile_inputs.py`` runs them in the suite; ``benchmarks/bench_hostile_inputs.py`` runs them
against any checkout and prints what each did (exit code, last line, peak RSS, seconds).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass
class Case:
    """``args`` (with ``{dir}`` for the case's folder) after ``make(folder)``; ``expect`` must be in the line."""

    name: str
    args: list[str]
    expect: str
    make: Callable[[Path], None] = lambda d: None
    keep: dict[str, bytes] = field(default_factory=dict)  # files that must be unchanged afterwards


# ------------------------------------------------------------------------------------------- model files
def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def _meta(**changes) -> dict:
    meta = {
        "format": "nnstudio-model",
        "version": 1,
        "input_size": 784,
        "architecture": [
            {"type": "Dense", "in": 784, "out": 16, "init": "he"},
            {"type": "ReLU"},
            {"type": "Dense", "in": 16, "out": 10, "init": "he"},
        ],
        "dataset": "mnist",
        "class_names": [str(i) for i in range(10)],
        "hyperparameters": {},
        "history": {},
    }
    meta.update(changes)
    return meta


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "p0": rng.standard_normal((784, 16)).astype(np.float32),
        "p1": np.zeros(16, np.float32),
        "p2": rng.standard_normal((16, 10)).astype(np.float32),
        "p3": np.zeros(10, np.float32),
    }


def write_model(path: Path, meta: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
    """An npz as save_model writes it, with whatever metadata (``json.dumps`` writes inf as Infinity)."""
    arrays = dict(_weights() if arrays is None else arrays)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with zipfile.ZipFile(path, "w") as zf:
        for key, a in arrays.items():
            zf.writestr(key + ".npy", _npy(a))


def _zeros_deflate(total: int, chunk: int = 1 << 24) -> bytes:
    """A raw deflate stream of ``total`` zero bytes, built from one compressed chunk repeated (cheap to make)."""
    assert total % chunk == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    return block * (total // chunk) + c.flush()


def deflate_bomb_model(path: Path, expands_to: int = 8 << 30, honest: bool = False) -> None:
    """A model whose p0 member inflates to ``expands_to`` zero bytes (a few MB on disk).

    By default the zip and array headers keep their small sizes (only the data lies); ``honest`` headers
    declare it all: the array as ``expands_to`` bytes of float32 and the zip member (zip64) likewise.
    """
    arrays = _weights()
    arrays["__meta__"] = np.frombuffer(json.dumps(_meta()).encode(), dtype=np.uint8)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, a in arrays.items():
            zf.writestr(key + ".npy", _npy(a))
    raw = bytearray(path.read_bytes())
    # Replace p0's compressed data by the bomb: rewrite the archive by hand around it.
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    out = bytearray()
    central = bytearray()
    for info in infos:
        start = info.header_offset
        name_len, extra_len = struct.unpack("<HH", raw[start + 26 : start + 30])
        data_start = start + 30 + name_len + extra_len
        data = bytes(raw[data_start : data_start + info.compress_size])
        size, extra = info.file_size, b""
        if info.filename == "p0.npy":
            header = io.BytesIO()
            shape = (expands_to // 4,) if honest else arrays["p0"].shape
            np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = c.compress(header.getvalue()) + c.flush(zlib.Z_FULL_FLUSH) + _zeros_deflate(expands_to)
            if honest:
                size = len(header.getvalue()) + expands_to
                extra = struct.pack("<HHQQ", 1, 16, size, len(data))
        big = bool(extra)
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if big else (len(data), size)
        offset = len(out)
        name = info.filename.encode()
        version = 45 if big else 20
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, version, 0, 8, 0, 0, info.CRC, *sizes, len(name), len(extra))
        out += local + name + extra + data
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                version,
                version,
                0,
                8,
                0,
                0,
                info.CRC,
                *sizes,
                len(name),
                len(extra),
                0,
                0,
                0,
                0,
                offset,
            )
            + name
            + extra
        )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(infos), len(infos), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))


def honest_bomb_model(path: Path) -> None:
    """Metadata, array headers and zip headers all agree on 784-30000-10, and the weights are deflated
    zeros: 100 kB on disk, 94 MB per copy in memory (a compression ratio no trained network has)."""
    meta = _meta(
        architecture=[
            {"type": "Dense", "in": 784, "out": 30000},
            {"type": "ReLU"},
            {"type": "Dense", "in": 30000, "out": 10},
        ]
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("__meta__.npy", _npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)))
        for i, shape in enumerate([(784, 30000), (30000,), (30000, 10), (10,)]):
            zf.writestr(f"p{i}.npy", _npy(np.zeros(shape, np.float32)))


def lying_architecture_model(path: Path) -> None:
    """A model file of a few hundred kB whose metadata claims 784-30000-30000-30000-10."""
    write_model(
        path,
        _meta(
            architecture=[
                {"type": "Dense", "in": 784, "out": 30000},
                {"type": "ReLU"},
                {"type": "Dense", "in": 30000, "out": 30000},
                {"type": "ReLU"},
                {"type": "Dense", "in": 30000, "out": 30000},
                {"type": "ReLU"},
                {"type": "Dense", "in": 30000, "out": 10},
            ]
        ),
        {**_weights(), **{f"p{i}": np.zeros(16, np.float32) for i in range(4, 8)}},
    )


def _model_cases() -> list[Case]:
    def model(name, make, expect):
        return Case(name, ["evaluate", "{dir}/m.npz", "--no-download"], expect, lambda d: make(d / "m.npz"))

    huge_buffers = _meta(optimizer_state={"kind": "Adam", "steps": 1, "buffers": 10**12})
    return [
        model("model claiming 784-30000x3-10", lying_architecture_model, "architecture needs"),
        model("npz member inflating to 8 GiB", deflate_bomb_model, "m.npz"),
        model(
            "npz member declaring and inflating to 8 GiB",
            lambda p: deflate_bomb_model(p, honest=True),
            "claims to expand",
        ),
        model("honest headers, deflated zeros (784-30000-10)", honest_bomb_model, "m.npz"),
        model("optimizer state claiming 10^12 buffers", lambda p: write_model(p, huge_buffers), "buffers"),
        model("metadata dataset [1]", lambda p: write_model(p, _meta(dataset=[1])), "'dataset'"),
        model("class_names as a dict", lambda p: write_model(p, _meta(class_names={"a": 1})), "'class_names'"),
        model("input_size Infinity", lambda p: write_model(p, _meta(input_size=float("inf"))), "input_size is inf"),
        model("input_size 10^12", lambda p: write_model(p, _meta(input_size=10**12)), "input_size"),
        model("layer size a string", lambda p: write_model(p, _meta(architecture=[{"type": "Dense"}])), "layer 0"),
        model("unknown layer type", lambda p: write_model(p, _meta(architecture=[{"type": "Evil"}])), "unknown"),
        model("plain .npy renamed .npz", lambda p: np.save(open(p, "wb"), np.arange(10)), "NumPy array (.npy)"),
        model("text file renamed .npz", lambda p: p.write_text("hello\n" * 100), "not an nnstudio model file"),
        model("empty file", lambda p: p.write_bytes(b""), "not an nnstudio model file"),
        model("truncated model", lambda p: (write_model(p, _meta()), _truncate(p)), "m.npz"),
        model("a folder named m.npz", lambda p: p.mkdir(), "folder"),
        model("a FIFO named m.npz", lambda p: os.mkfifo(p), "FIFO"),
        model("/dev/zero named m.npz", lambda p: p.symlink_to("/dev/zero"), "device"),
        model(
            "object array inside",
            lambda p: p.write_bytes(_object_npz()),
            "not a plain numeric array",
        ),
        model(
            "weights with NaN",
            lambda p: write_model(p, _meta(), {**_weights(), "p1": np.full(16, np.nan, "f4")}),
            "NaN",
        ),
    ]


def _truncate(p: Path) -> None:
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])


def _object_npz() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("__meta__.npy", _npy(np.frombuffer(json.dumps(_meta()).encode(), dtype=np.uint8)))
        raw = io.BytesIO()
        np.lib.format.write_array(raw, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        for i in range(4):
            zf.writestr(f"p{i}.npy", raw.getvalue())
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ datasets
def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def small_mnist(folder: Path, n: int = 64, image_shape=(28, 28)) -> Path:
    """A tiny MNIST-shaped dataset (gzip IDX) in ``folder/mnist``."""
    d = folder / "mnist"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for stem, arr in zip(
        FILES,
        (
            rng.integers(0, 256, (n, *image_shape)),
            rng.integers(0, 10, n),
            rng.integers(0, 256, (n // 2, *image_shape)),
            rng.integers(0, 10, n // 2),
        ),
    ):
        (d / (stem + ".gz")).write_bytes(gzip.compress(idx_bytes(arr), mtime=0))
    return d


def gzip_bomb(path: Path, total: int = 4 << 30) -> None:
    """A valid IDX header (60000 images) followed by ``total`` bytes of zeros, gzip-compressed (a few MB)."""
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 60000, 28, 28)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH) + _zeros_deflate(total)
    trailer = struct.pack("<II", 0, (len(header) + total) & 0xFFFFFFFF)  # nobody should get as far as the CRC
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body + trailer)


def flip_bytes(path: Path, count: int = 4) -> None:
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    for i in range(count):
        raw[middle + i] ^= 0xFF
    path.write_bytes(bytes(raw))


def _data_case(name, damage, expect, command="train") -> Case:
    def make(d: Path) -> None:
        folder = small_mnist(d)
        damage(folder / (FILES[0] + ".gz"))

    if command == "train":
        args = ["train", "--data-dir", "{dir}", "--no-download", "--epochs", "1", "--layers", "8"]
    else:
        args = ["data", "verify", "mnist", "--data-dir", "{dir}"]
    return Case(name, args, expect, make)


def _replace_with(kind: str) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        p.unlink()
        if kind == "folder":
            p.mkdir()
        elif kind == "fifo":
            os.mkfifo(p)
        else:
            p.symlink_to("/dev/zero")

    return damage


def _data_cases() -> list[Case]:
    def wrong_size(p: Path) -> None:
        rng = np.random.default_rng(1)
        p.write_bytes(gzip.compress(idx_bytes(rng.integers(0, 256, (64, 27, 29))), mtime=0))

    def huge_header(p: Path) -> None:  # raw (not gzip) header claiming 4 billion images
        p.unlink()
        (p.parent / FILES[0]).write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**32 - 1, 28, 28) + bytes(64))

    def huge_header_gz(p: Path) -> None:
        p.write_bytes(gzip.compress(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**32 - 1, 28, 28) + bytes(64)))

    return [
        _data_case("IDX gzip bomb (train)", gzip_bomb, "unexpected bytes"),
        _data_case("IDX gzip bomb (data verify)", gzip_bomb, "unexpected bytes", "verify"),
        _data_case("4 bytes flipped in a gzip stream (train)", flip_bytes, "gzip"),
        _data_case("4 bytes flipped in a gzip stream (data verify)", flip_bytes, "gzip", "verify"),
        _data_case("IDX images 27x29", wrong_size, "train-images-idx3-ubyte"),
        _data_case("IDX header claiming 4e9 images (raw)", huge_header, "truncated"),
        _data_case("IDX header claiming 4e9 images (gzip)", huge_header_gz, "would need"),
        _data_case("a folder in place of a data file", _replace_with("folder"), "folder"),
        _data_case("a FIFO in place of a data file", _replace_with("fifo"), "FIFO"),
        _data_case("/dev/zero in place of a data file", _replace_with("zero"), "device"),
        _data_case("a folder in place of a data file (data verify)", _replace_with("folder"), "folder", "verify"),
    ]


# ------------------------------------------------------------------------------------ requests and outputs
def _request_cases() -> list[Case]:
    notes = b"my notes: do not lose these\n"
    return [
        Case("train --layers 65536,65536", ["train", "--layers", "65536,65536"], "would need about"),
        Case(
            "train --batch-size 1000000 --layers 30000",
            ["train", "--batch-size", "1000000", "--layers", "30000"],
            "would need about",
        ),
        Case("memory compare 65536,65536", ["memory", "compare", "--layers", "65536,65536"], "would need about"),
        Case(
            "memory search 65536,65536",
            ["memory", "search", "--layers", "65536,65536", "--budget", "1GB"],
            "would need about",
        ),
        Case(
            "memory search 2048x3 budget 1TB",
            ["memory", "search", "--layers", "2048,2048,2048", "--budget", "1TB", "--strategy", "baseline"],
            "cannot be measured here",
        ),
        Case("--weight-decay nan", ["train", "--weight-decay", "nan"], "weight decay"),
        Case("--weight-decay inf", ["train", "--weight-decay", "inf"], "weight decay"),
        Case("--weight-decay -1e9", ["train", "--weight-decay=-1e9"], "weight decay"),
        Case(
            "train --out notes.txt",
            ["train", "--out", "{dir}/notes.txt", "--epochs", "1"],
            "must end in .npz",
            lambda d: (d / "notes.txt").write_bytes(notes),
            keep={"notes.txt": notes},
        ),
        Case(
            "train --out over a text file named .npz",
            ["train", "--out", "{dir}/notes.npz", "--epochs", "1"],
            "not replacing it",
            lambda d: (d / "notes.npz").write_bytes(notes),
            keep={"notes.npz": notes},
        ),
        Case("train --out in a missing folder", ["train", "--out", "{dir}/nope/m.npz"], "does not exist"),
        Case(
            "fine-tune --out over a text file",
            ["fine-tune", "{dir}/m.npz", "--out", "{dir}/notes.npz"],
            "not replacing it",
            lambda d: ((d / "notes.npz").write_bytes(notes), write_model(d / "m.npz", _meta())),
            keep={"notes.npz": notes},
        ),
    ]


def _expression_cases() -> list[Case]:
    return [
        Case("(3*x)**1000 at x=0", ["grad", "(3*x)**1000", "--at", "x=0"], "too large"),
        Case("(2*x)**1100 at x=0", ["grad", "(2*x)**1100", "--at", "x=0"], "too large"),
        Case("9**9**9", ["grad", "9**9**9"], "too large"),
        Case("x**9**9**9", ["grad", "x**9**9**9", "--at", "x=2"], "too large"),
        Case("240 nested parentheses", ["grad", "(" * 240 + "x" + ")" * 240, "--at", "x=1"], "nested too deeply"),
        Case("99 nested sin()", ["grad", "sin(" * 99 + "x" + ")" * 99, "--at", "x=1"], "nested too deeply"),
        Case("490 unary minus", ["grad", "--at", "x=1", "--", "-" * 490 + "x"], "x"),
        Case("10,000 characters", ["grad", "+".join(["x"] * 5000), "--at", "x=1"], "too long"),
        Case("1e999", ["grad", "1e999*x", "--at", "x=1"], "too large"),
    ]


def _other_file_cases() -> list[Case]:
    """Pictures for ``predict`` and my-digits files for ``fine-tune`` that are not files at all."""
    out = []
    for kind, expect in (("folder", "is a folder"), ("fifo", "is a named pipe (FIFO)"), ("zero", "is a device")):

        def make(d: Path, kind=kind) -> None:
            write_model(d / "m.npz", _meta())
            (d / "x").touch()
            _replace_with(kind)(d / "x")

        out.append(
            Case(f"predict on a {kind}", ["predict", "{dir}/m.npz", "{dir}/x"], expect + ", not a picture", make)
        )
        out.append(
            Case(
                f"fine-tune --digits on a {kind}",
                ["fine-tune", "{dir}/m.npz", "--out", "{dir}/o.npz", "--digits", "{dir}/x"],
                expect + ", not a my-digits file",
                make,
            )
        )
    return out


def cases() -> list[Case]:
    """Every case, in a stable order."""
    return _model_cases() + _data_cases() + _other_file_cases() + _request_cases() + _expression_cases()


# ------------------------------------------------------------------------------------------------ running
ADDRESS_SPACE = 3 << 29  # 1.5 GiB
TIMEOUT = 45.0


@dataclass
class Outcome:
    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    peak_rss: int  # bytes, the child's own maximum resident set
    seconds: float

    @property
    def last_line(self) -> str:
        """stderr's last line (or, for ``data verify``, the first BAD row it printed)."""
        lines = self.stderr.strip().splitlines()
        bad = [line for line in self.stdout.splitlines() if line.startswith("BAD")]
        return lines[-1] if lines else bad[0] if bad else ""


def run_case(
    case: Case,
    folder: Path,
    pythonpath: str,
    address_space: int | None = ADDRESS_SPACE,
    timeout: float = TIMEOUT,
    python: str | None = None,
) -> Outcome:
    """Build ``case`` in ``folder`` and run ``python -m nnstudio`` on it with limited address space and time."""
    import resource
    import subprocess
    import sys
    import time

    case.make(folder)
    args = [a.replace("{dir}", str(folder)) for a in case.args]
    # NNSTUDIO_DATA_DIR passes through: cases about requests must be refused whether or not MNIST is there.
    env = {**os.environ, "PYTHONPATH": pythonpath, "NNSTUDIO_HOME": str(folder / "home")}

    def limit() -> None:
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    out, err = folder / "stdout.txt", folder / "stderr.txt"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [python or sys.executable, "-m", "nnstudio", *args],
            stdin=subprocess.DEVNULL,
            stdout=fo,
            stderr=fe,
            env=env,
            cwd=folder,
            preexec_fn=limit,
        )
        rc: int | None = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                rc = os.waitstatus_to_exitcode(status)
                proc.returncode = rc
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
    return Outcome(
        rc, out.read_text(errors="replace"), err.read_text(errors="replace"), usage.ru_maxrss * 1024, seconds
    )
