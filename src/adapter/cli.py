"""The `braze-adapter` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from adapter import rule_commands

    parser = argparse.ArgumentParser(
        prog="braze-adapter",
        description="Turn signed webhooks and AWS events into Braze campaign and Canvas sends.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check rule files; one located line per problem")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(handler=rule_commands.cmd_validate)

    test = commands.add_parser("test", help="run the tests inside rule files")
    test.add_argument("files", nargs="+", metavar="FILE")
    test.add_argument("-v", "--verbose", action="store_true", help="also list passing tests")
    test.set_defaults(handler=rule_commands.cmd_test)

    map_ = commands.add_parser("map", help="map events through a rule file without sending (prints JSON)")
    map_.add_argument("rules", metavar="RULES")
    map_.add_argument("events", nargs="+", metavar="EVENT", help="event body files; - reads stdin")
    map_.add_argument("--header", action="append", metavar="'Name: value'", help="request header (repeatable)")
    map_.add_argument("--received-at", metavar="ISO", help="value of $receivedAt (default: now)")
    map_.set_defaults(handler=rule_commands.cmd_map)

    schema = commands.add_parser("schema", help="print the JSON Schema of rule files")
    schema.set_defaults(handler=rule_commands.cmd_schema)

    sandbox = commands.add_parser("sandbox", help="run the local Braze sandbox server")
    sandbox.set_defaults(handler=_run_sandbox)
    _configure_sandbox(sandbox)

    from adapter import local_commands, ops_commands

    local_commands.add_commands(commands)
    ops_commands.add_commands(commands)
    return parser


def _configure_sandbox(parser: argparse.ArgumentParser) -> None:
    from braze.sandbox import add_cli_arguments

    add_cli_arguments(parser)


def _run_sandbox(args: argparse.Namespace) -> int:
    from braze.sandbox import run_from_args

    return run_from_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    from adapter.ops import OpsError, UsageError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `braze-adapter map ... | head`
        return 0
    except UsageError as exc:
        print(f"braze-adapter: {exc}", file=sys.stderr)
        return 2
    except OpsError as exc:
        print(f"braze-adapter: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
