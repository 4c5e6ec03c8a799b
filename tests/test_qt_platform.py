"""The launch check: a missing system library for Qt's platform plugin is one line naming the
Debian/Ubuntu packages to install, before Qt can abort with its own message."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnstudio.qt_platform import debian_package, launch_problem, missing_libraries, platforms_to_try

# ldd on PySide6 6.11's libqxcb.so on Debian 12 with libxcb-icccm4 and libxcb-keysyms1 not installed
# (the first lines of the real output, with those two libraries as the loader reports them).
LDD_OUTPUT = textwrap.dedent("""\
    \tlinux-vdso.so.1 (0x00007ffd0b5f2000)
    \tlibQt6XcbQpa.so.6 => /venv/site-packages/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1e5a000000)
    \tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007f1e59f70000)
    \tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f1e59f65000)
    \tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f1e59f5e000)
    \tlibxcb-icccm.so.4 => not found
    \tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f1e59f56000)
    \tlibxcb-keysyms.so.1 => not found
    \tlibxcb-icccm.so.4 => not found
    \tlibEGL.so.1 => /lib/x86_64-linux-gnu/libEGL.so.1 (0x00007f1e59f3d000)
    \t/lib64/ld-linux-x86-64.so.2 (0x00007f1e5a6a4000)
""")


def test_ldd_output_gives_each_missing_library_once_in_order():
    assert missing_libraries(LDD_OUTPUT) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_libraries(LDD_OUTPUT.replace("not found", "/lib/x.so (0x1)")) == []


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        # every system library PySide6 6.11's xcb plugin links, with its package on Debian 12 (dpkg -S)
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-image.so.0", "libxcb-image0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libxcb-shape.so.0", "libxcb-shape0"),
        ("libxcb-util.so.1", "libxcb-util1"),
        ("libxcb-xkb.so.1", "libxcb-xkb1"),
        ("libxcb.so.1", "libxcb1"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libxkbcommon.so.0", "libxkbcommon0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libEGL.so.1", "libegl1"),
        ("libGL.so.1", "libgl1"),
        ("libGLX.so.0", "libglx0"),
        ("libGLdispatch.so.0", "libglvnd0"),
        ("libfontconfig.so.1", "libfontconfig1"),
        ("libfreetype.so.6", "libfreetype6"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libgthread-2.0.so.0", "libglib2.0-0"),
        ("libpng16.so.16", "libpng16-16"),
        ("libbrotlidec.so.1", "libbrotli1"),
        ("libz.so.1", "zlib1g"),
        ("libstdc++.so.6", "libstdc++6"),
        ("libgcc_s.so.1", "libgcc-s1"),
        ("libQt6XcbQpa.so.6", None),  # PySide6's own
    ],
)
def test_library_names_map_to_debian_packages(soname, package):
    assert debian_package(soname) == package


def fake_plugins(tmp_path, *names):
    for name in names:
        (tmp_path / f"libq{name}.so").write_bytes(b"")
    return str(tmp_path)


def test_missing_xcb_libraries_give_one_line_with_the_apt_get_command(tmp_path):
    env = {"DISPLAY": ":0", "QT_QPA_PLATFORM_PLUGIN_PATH": fake_plugins(tmp_path, "xcb")}
    line = launch_problem(env, "linux", load=lambda p: "libxcb-icccm.so.4: cannot open", ldd=lambda p: LDD_OUTPUT)
    assert "\n" not in line
    assert line.endswith("install them with: sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    assert "xcb platform plugin needs libxcb-icccm.so.4, libxcb-keysyms.so.1" in line
    other = launch_problem(env, "linux", load=lambda p: "x", ldd=lambda p: LDD_OUTPUT, debian=False)
    assert "(on Debian/Ubuntu: sudo apt-get install libxcb-icccm4 libxcb-keysyms1)" in other


def test_many_missing_libraries_are_counted_but_every_package_is_named(tmp_path):
    env = {"DISPLAY": ":0", "QT_QPA_PLATFORM_PLUGIN_PATH": fake_plugins(tmp_path, "xcb")}
    libs = ["libGL.so.1", "libxcb.so.1", "libX11.so.6", "libEGL.so.1", "libglib-2.0.so.0", "libgthread-2.0.so.0"]
    ldd = "".join(f"\t{lib} => not found\n" for lib in libs)
    line = launch_problem(env, "linux", load=lambda p: "x", ldd=lambda p: ldd, debian=True)
    assert "needs libGL.so.1, libxcb.so.1, libX11.so.6 and 3 more, not installed" in line
    assert line.endswith("sudo apt-get install libgl1 libxcb1 libx11-6 libegl1 libglib2.0-0")


def test_a_plugin_that_loads_or_another_system_is_no_problem(tmp_path):
    env = {"DISPLAY": ":0", "QT_QPA_PLATFORM_PLUGIN_PATH": fake_plugins(tmp_path, "xcb", "wayland")}
    assert launch_problem(env, "linux", load=lambda p: None, ldd=lambda p: "") is None
    assert launch_problem(env, "win32", load=lambda p: "broken", ldd=lambda p: LDD_OUTPUT) is None
    # on a Wayland session Qt falls back to xcb: only both failing stops the launch
    wayland = {**env, "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    assert platforms_to_try(wayland) == ["wayland", "xcb"]
    assert launch_problem(wayland, "linux", load=lambda p: None if "xcb" in p.name else "x", ldd=lambda p: "") is None
    both = launch_problem(wayland, "linux", load=lambda p: "x", ldd=lambda p: LDD_OUTPUT)
    assert "wayland and xcb platform plugins" in both


def test_no_display_at_all_is_said_plainly(tmp_path):
    env = {"QT_QPA_PLATFORM_PLUGIN_PATH": fake_plugins(tmp_path, "xcb")}
    assert "DISPLAY is not set" in launch_problem(env, "linux", load=lambda p: None, ldd=lambda p: "")
    assert launch_problem({**env, "QT_QPA_PLATFORM": "offscreen"}, "linux", load=lambda p: None) is None


def test_the_real_plugins_load_on_this_machine():
    pytest.importorskip("PySide6")
    assert launch_problem({"DISPLAY": ":0"}) is None
    assert launch_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


@pytest.mark.skipif(shutil.which("cc") is None or not sys.platform.startswith("linux"), reason="needs a C compiler")
def test_launch_with_a_plugin_whose_library_is_missing_prints_one_line_and_exits_1(tmp_path):
    """A real shared object that needs a library which is not installed, in place of the xcb plugin:
    the real loader and ldd run, the app stops before Qt with one line."""
    (tmp_path / "absent.c").write_text("int nnstudio_absent(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text(
        "int nnstudio_absent(void);\nint qt_plugin(void) { return nnstudio_absent(); }\n"
    )
    plugins = tmp_path / "platforms"
    plugins.mkdir()
    cc = ["cc", "-shared", "-fPIC"]
    subprocess.run(
        [*cc, "-o", tmp_path / "libnnstudio-absent.so.3", "-Wl,-soname,libnnstudio-absent.so.3", tmp_path / "absent.c"],
        check=True,
    )
    subprocess.run(
        [*cc, "-o", plugins / "libqxcb.so", tmp_path / "plugin.c", tmp_path / "libnnstudio-absent.so.3"], check=True
    )
    (tmp_path / "libnnstudio-absent.so.3").unlink()
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": ":0", "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugins)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-m", "nnstudio"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "sudo apt-get install libnnstudio-absent3" in proc.stderr
    assert "libnnstudio-absent.so.3" in proc.stderr
