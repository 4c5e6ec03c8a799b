"""``python -m nnstudio`` / the ``nnstudio`` console script.

With no arguments it launches the desktop app; with a command it runs the CLI.
"""

import sys


def gui_main() -> int:
    """Launch the desktop app (the ``nnstudio-gui`` script): first check that Qt can open a window here,
    so a missing system library is one line naming the package to install, not Qt's abort."""
    from nnstudio.qt_platform import launch_problem

    problem = launch_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from nnstudio.gui.app import run

    return run()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return gui_main()
    from nnstudio.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
