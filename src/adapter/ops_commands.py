"""`braze-adapter publish | rules | ledger | redrive | replay` (see adapter/ops.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from adapter import ops

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    publish = commands.add_parser("publish", help="validate, test and upload rule files; prints S3 versions")
    publish.add_argument("files", nargs="+", metavar="RULES")
    _stack_option(publish)
    publish.set_defaults(handler=cmd_publish)

    rules = commands.add_parser("rules", help="published rule files: list, show, rollback")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    listing = rules_commands.add_parser("list", help="rule files and their current versions")
    _stack_option(listing)
    listing.set_defaults(handler=cmd_rules_list)
    show = rules_commands.add_parser("show", help="print a rule file (and its versions)")
    show.add_argument("source")
    show.add_argument("--version", help="an earlier S3 version id")
    _stack_option(show)
    show.set_defaults(handler=cmd_rules_show)
    rollback = rules_commands.add_parser("rollback", help="publish the previous (or a given) version again")
    rollback.add_argument("source")
    rollback.add_argument("--to", dest="to_version", help="S3 version id (default: the previous one)")
    _stack_option(rollback)
    rollback.set_defaults(handler=cmd_rules_rollback)

    ledger = commands.add_parser("ledger", help="the per-send ledger: show, list held sends, resolve them")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    show_key = ledger_commands.add_parser("show", help="one idempotency key")
    show_key.add_argument("key")
    _stack_option(show_key)
    show_key.set_defaults(handler=cmd_ledger_show)
    held = ledger_commands.add_parser("list", help="sends that need an operator")
    held.add_argument("--state", choices=["unknown", "failed"], required=True)
    _stack_option(held)
    held.set_defaults(handler=cmd_ledger_list)
    settle = ledger_commands.add_parser("resolve", help="settle a held send")
    settle.add_argument("key")
    choice = settle.add_mutually_exclusive_group(required=True)
    choice.add_argument("--sent", action="store_true", help="Braze did send it: never send it again")
    choice.add_argument(
        "--retry", action="store_true", help="send it again (a duplicate is possible); release it if nothing was kept"
    )
    _stack_option(settle)
    _braze_endpoint_option(settle)
    settle.set_defaults(handler=cmd_ledger_resolve)

    redrive = commands.add_parser("redrive", help="move dead-lettered events back to the queue")
    redrive.add_argument("--max", type=int, help="at most this many")
    _stack_option(redrive)
    redrive.set_defaults(handler=cmd_redrive)

    replay = commands.add_parser("replay", help="map archived events again and send what was never sent")
    replay.add_argument("--source", required=True)
    replay.add_argument("--from", dest="start", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    replay.add_argument("--to", dest="end", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    replay.add_argument("--dry-run", action="store_true", help="print the Braze requests and which would be sent")
    _stack_option(replay)
    _braze_endpoint_option(replay)
    replay.set_defaults(handler=cmd_replay)


def _stack_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack", help="CloudFormation stack name (default: the local stack if `make run` is up, else braze-adapter)"
    )


def _braze_endpoint_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--braze-endpoint", metavar="URL", help="Braze REST endpoint to send to (default: the stack's BrazeEndpoint)"
    )


def _progress(label: str):
    def report(done: int) -> None:
        print(f"\r{label}: {done}", end="", file=sys.stderr, flush=True)

    return report


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def cmd_publish(args: argparse.Namespace) -> int:
    from adapter.publish import PublishError, publish_rules

    stack = ops.connect(args.stack)
    try:
        versions = publish_rules(stack.client("s3"), stack.bucket, "rules/", [Path(f) for f in args.files])
    except PublishError as exc:
        print(exc, file=sys.stderr)
        print("nothing was published", file=sys.stderr)
        return 1
    for source, version in versions.items():
        print(f"published {source}: version {version}")
    return 0


def cmd_rules_list(args: argparse.Namespace) -> int:
    for item in ops.list_rules(ops.connect(args.stack)):
        print(f"{item['key']}\t{item['version']}\t{item['modified']}")
    return 0


def cmd_rules_show(args: argparse.Namespace) -> int:
    stack = ops.connect(args.stack)
    key = _rule_key(stack, args.source)
    kwargs = {"VersionId": args.version} if args.version else {}
    print(stack.client("s3").get_object(Bucket=stack.bucket, Key=key, **kwargs)["Body"].read().decode(), end="")
    versions = ops.rule_versions(stack, key)
    print(f"\n# versions of {key}, newest first:", file=sys.stderr)
    for version in versions:
        print(f"#   {version['VersionId']}  {version['LastModified'].isoformat()}", file=sys.stderr)
    return 0


def cmd_rules_rollback(args: argparse.Namespace) -> int:
    stack = ops.connect(args.stack)
    version = ops.rollback_rules(stack, _rule_key(stack, args.source), args.to_version)
    print(f"rolled back {args.source}: now version {version}")
    return 0


def _rule_key(stack: ops.Stack, source: str) -> str:
    for item in ops.list_rules(stack):
        if Path(item["key"]).stem == source:
            return item["key"]
    raise ops.OpsError(f"no published rule file for {source!r}")


def cmd_ledger_show(args: argparse.Namespace) -> int:
    from braze.ledger import Ledger

    stack = ops.connect(args.stack)
    item = Ledger(stack.table, stack.client("dynamodb")).get(args.key)
    if item is None:
        print(f"no ledger entry {args.key}", file=sys.stderr)
        return 1
    _print(item)
    return 0


def cmd_ledger_list(args: argparse.Namespace) -> int:
    from braze.ledger import Ledger

    stack = ops.connect(args.stack)
    found = 0
    for item in Ledger(stack.table, stack.client("dynamodb")).needing_attention(args.state):
        found += 1
        fields = [item["pk"], item.get("source"), item.get("rule_id"), item.get("event_id"), item.get("reason", "")]
        print("\t".join(str(field) for field in fields))
    print(f"{found} {args.state}", file=sys.stderr)
    return 0


def cmd_ledger_resolve(args: argparse.Namespace) -> int:
    print(ops.resolve(ops.connect(args.stack), args.key, sent=args.sent, braze_endpoint=args.braze_endpoint))
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    result = ops.redrive(ops.connect(args.stack), args.max, _progress("redriven"))
    print(f"\nmoved {result.moved} message(s) from the dead-letter queue back to the queue")
    if result.came_back:
        print(f"{result.came_back} of them failed again and stay in the dead-letter queue")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print("--to is before --from", file=sys.stderr)
        return 2
    summary = ops.replay(
        ops.connect(args.stack),
        args.source,
        args.start,
        args.end,
        dry_run=args.dry_run,
        braze_endpoint=args.braze_endpoint,
        progress=_progress("events"),
    )
    print(file=sys.stderr)
    _print(summary)
    return 1 if summary["errors"] else 0
