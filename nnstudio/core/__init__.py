"""nnstudio's engine: pure NumPy, no Qt. Usable from scripts, tests and the CLI."""
