"""Before Qt starts: can its platform plugin load here? If not, one line naming what to install.

On Linux, Qt's ``xcb`` plugin needs a dozen X libraries that a fresh Debian/Ubuntu server lacks.
When one is missing Qt prints a long message that names none of them and aborts. This module asks
the dynamic loader first (``dlopen`` the plugin; on failure ``ldd`` lists every library not found),
maps the missing libraries to Debian/Ubuntu package names and returns a single line to print instead.
It imports no Qt (PySide6's own libraries may be the ones that cannot load) and runs before the
QApplication exists.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# Libraries whose Debian package name does not follow from the soname by Debian's rule (below).
PACKAGE_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libGLdispatch.so.0": "libglvnd0",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libz.so.1": "zlib1g",
    "libgcc_s.so.1": "libgcc-s1",
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` reports as ``not found``, in its order, each once."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def debian_package(soname: str) -> str | None:
    """The Debian/Ubuntu package that ships ``soname`` (None for PySide6's own Qt libraries).

    Debian names a library package after the soname: ``libxcb-icccm.so.4`` -> ``libxcb-icccm4``,
    with a hyphen when the name ends in a digit: ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0``.
    """
    if soname in PACKAGE_EXCEPTIONS:
        return PACKAGE_EXCEPTIONS[soname]
    if soname.startswith(("libQt6", "libicu", "libpyside6", "libshiboken6")):
        return None  # part of the PySide6 wheel, not of the system
    match = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if match is None:
        return None
    name, major = match.group(1).lower().replace("_", "-"), match.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def platforms_to_try(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (as Qt 6 chooses them on Linux)."""
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return [name.split(":")[0] for name in chosen.split(";") if name]
    if environ.get("WAYLAND_DISPLAY") and (environ.get("XDG_SESSION_TYPE") == "wayland" or not environ.get("DISPLAY")):
        return ["wayland", "xcb"]
    return ["xcb"]


def plugin_dir(environ: Mapping[str, str]) -> Path | None:
    """Where PySide6's platform plugins are, found without importing PySide6."""
    if environ.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        return Path(environ["QT_QPA_PLATFORM_PLUGIN_PATH"])
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms"


def _load(path: Path) -> str | None:
    """dlopen the plugin (Qt loads the same file a moment later); the loader's error, or None."""
    try:
        ctypes.CDLL(str(path))
    except OSError as exc:
        return str(exc)
    return None


def _ldd(path: Path) -> str:
    try:
        return subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def install_hint(missing: list[str], debian: bool) -> str:
    """'install them with: sudo apt-get install ...' for the packages behind ``missing``."""
    packages = list(dict.fromkeys(p for p in map(debian_package, missing) if p))
    if not packages:
        return "reinstall PySide6 (its own Qt libraries are missing)"
    command = "sudo apt-get install " + " ".join(packages)
    if debian:
        return f"install them with: {command}"
    return f"install your system's packages for them (on Debian/Ubuntu: {command})"


def launch_problem(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    load: Callable[[Path], str | None] = _load,
    ldd: Callable[[Path], str] = _ldd,
    debian: bool | None = None,
) -> str | None:
    """One line saying why the window cannot open here and what to install, or None when it can.

    Only Linux is checked; a plugin that is not where PySide6 keeps it is left to Qt.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    folder = plugin_dir(environ)
    if folder is None:
        return None
    debian = Path("/etc/debian_version").exists() if debian is None else debian
    failures = []
    for name in platforms_to_try(environ):
        plugin = folder / f"libq{name}.so"
        if not plugin.exists():
            return None
        error = load(plugin)
        if error is None:
            break
        failures.append((name, error, missing_libraries(ldd(plugin))))
    else:
        plugins = " and ".join(name for name, *_ in failures) + (
            " platform plugins" if len(failures) > 1 else " platform plugin"
        )
        missing = list(dict.fromkeys(lib for *_, libs in failures for lib in libs))
        if not missing:
            return f"nnstudio: Qt's {plugins} cannot load: {failures[-1][1]}"
        named = ", ".join(missing) if len(missing) <= 4 else f"{', '.join(missing[:3])} and {len(missing) - 3} more"
        return f"nnstudio: the window cannot open: Qt's {plugins} needs {named}, not installed here; " + install_hint(
            missing, debian
        )
    if not environ.get("QT_QPA_PLATFORM") and not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return (
            "nnstudio: no display to open the window on (DISPLAY is not set): start it from a desktop session "
            "or under Xvfb (see the README), or use the command line (nnstudio --help)"
        )
    return None
