"""`python -m braze.sandbox [--port 4010 ...]`: run the Braze sandbox in the foreground."""

from __future__ import annotations

import argparse
import sys

from ._cli import add_cli_arguments, run_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m braze.sandbox", description="Local fake of Braze's trigger-send API."
    )
    add_cli_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
