"""``python -m nnstudio`` / the ``nnstudio`` console script.

With no arguments it launches the desktop app; with a command it runs the CLI.
"""

import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from nnstudio.gui.app import run

        return run()
    from nnstudio.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
