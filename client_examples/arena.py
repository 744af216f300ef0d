"""Starts an arena (or attaches to one) and follows it live: every run's milestones and the standings.

    python client_examples/arena.py --name "Tech Q1" --model-id A --model-id B --model-id C \\
        --start 2025-01-02 --end 2025-03-31
    python client_examples/arena.py --arena-id ID            # attach

It subscribes to arenaEvents (one stream for every run of the arena) and resumes after the last seq when
the connection drops. In a terminal (or with --live) it redraws the standings as the runs trade; otherwise
it prints each run's milestones. Either way it ends with the final standings. Exit status: 0 when every
run completed, 1 when one failed, 3 when the arena was cancelled, 4 on any other error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import httpx
from aibt_client import Client, GraphQLError, add_connection_arguments, connect, operation, websocket_endpoint
from resumable import ConnectionDropped, ResumableSubscription

EXIT_CODES = {"COMPLETED": 0, "FAILED": 1, "CANCELLED": 3}
EXIT_ERROR = 4
MILESTONES = {"STARTED", "TRADE", "COMPLETED", "FAILED", "CANCELLED"}
CLEAR = "\x1b[H\x1b[2J"
COLUMNS = (
    "RANK",
    "MODEL",
    "AI MODEL",
    "STATUS",
    "STEP",
    "RETURN",
    "EXCESS",
    "SHARPE",
    "MAX DD",
    "TRADES",
    "FEES",
    "LLM",
    "TOKENS",
)
LEFT_ALIGNED = {"MODEL", "AI MODEL", "STATUS"}


def pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "-"
    return f"{round(value * 100, 2) + 0.0:+.2f}%" if signed else f"{value * 100:.2f}%"


def standings_table(arena: dict[str, Any]) -> str:
    """The arena's heading, its baselines and a table of its standings, in plain text."""
    lines = [f'Arena "{arena["name"]}" {arena["status"]}, {arena["startDate"]}..{arena["endDate"]}']
    for benchmark in arena["benchmarks"]:
        lines.append(f"  baseline {benchmark['label']}: {pct(benchmark['performance']['totalReturn'])}")
    rows = [COLUMNS]
    for s in arena["standings"]:
        progress = s["run"]["progress"]
        rows.append(
            (
                str(s["rank"]),
                s["modelName"],
                s["aiModel"],
                s["status"],
                f"{progress['current']}/{progress['total']}",
                pct(s["totalReturn"]),
                pct(s["excessReturn"]),
                "-" if s["sharpeRatio"] is None else f"{s['sharpeRatio']:.2f}",
                pct(s["maxDrawdown"], signed=False),
                str(s["totalTrades"]),
                f"{s['totalFees']:.2f}",
                str(s["llmCalls"]),
                str(s["inputTokens"] + s["outputTokens"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        cells = [
            cell.ljust(width) if name in LEFT_ALIGNED else cell.rjust(width)
            for name, cell, width in zip(COLUMNS, row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def describe(event: dict[str, Any], names: dict[str, str]) -> str:
    """One line for an arena event: its seq, the run it is about and what happened."""
    if event["kind"] == "ENDED":
        return f"[{event['seq']:>4}] ENDED {event['status']}"
    member = event["runEvent"]
    kind, position = member["kind"], member.get("position")
    if kind == "TRADE" and position:
        detail = (
            f"{position['date']} {position['action']} {position['amount']} {position['symbol']} "
            f"@ {position['price']:.2f}"
        )
    else:
        detail = (member.get("message") or "").strip().splitlines()[0] if (member.get("message") or "").strip() else ""
    return f"[{event['seq']:>4}] {names.get(event['runId'], event['runId'])}: {kind} {detail}".rstrip()


class ArenaFollower(ResumableSubscription):
    """Follows an arena's events; prints milestones, or marks the standings for redrawing."""

    OPERATION = "arena_events"
    FIELD = "arenaEvents"

    def __init__(self, ws_url: str, token: str, arena_id: str, names: dict[str, str], *, live: bool, **options):
        super().__init__(ws_url, token, **options)
        self.arena_id, self.names, self.live = arena_id, names, live
        self.changed = True
        self.ended: dict[str, Any] | None = None

    def variables(self) -> dict[str, Any]:
        return {"arenaId": self.arena_id}

    def handle(self, event: dict[str, Any]) -> None:
        self.changed = True
        if event["kind"] == "ENDED":
            self.ended = event
        if not self.live and (event["kind"] == "ENDED" or event["runEvent"]["kind"] in MILESTONES):
            print(describe(event, self.names), flush=True)


async def follow(client: Client, follower: ArenaFollower, refresh: float) -> None:
    """Follows the stream; when live, redraws the standings at most every `refresh` seconds while it changes."""

    async def redraw() -> None:
        while True:
            if follower.changed:
                follower.changed = False
                arena = await asyncio.to_thread(standings, client, follower.arena_id)
                print(CLEAR + standings_table(arena), flush=True)
            await asyncio.sleep(refresh)

    drawing = asyncio.create_task(redraw()) if follower.live else None
    try:
        await follower.follow()
    finally:
        if drawing is not None:
            drawing.cancel()


def standings(client: Client, arena_id: str) -> dict[str, Any]:
    arena = client.execute(operation("arena_standings"), {"id": arena_id})["arena"]
    if arena is None:
        raise GraphQLError([{"message": f"Arena {arena_id} not found.", "extensions": {"code": "NOT_FOUND"}}])
    return arena


def start_arena(client: Client, args: argparse.Namespace) -> str:
    if not (args.name and args.start and args.end and args.model_id):
        sys.exit("Starting an arena needs --name, --start, --end and two or more --model-id.")
    variables = {
        "input": {
            "name": args.name,
            "modelIds": args.model_id,
            "startDate": args.start,
            "endDate": args.end,
            "maxSteps": args.max_steps,
        }
    }
    if args.benchmark is not None:
        variables["input"]["benchmarkSymbol"] = args.benchmark or None
    arena = client.execute(operation("start_arena"), variables)["startArena"]
    print(f'Started arena "{arena["name"]}" ({arena["id"]}) with {len(arena["runs"])} runs', flush=True)
    return arena["id"]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("--arena-id", help="attach to this arena instead of starting one")
    new = parser.add_argument_group("a new arena")
    new.add_argument("--name")
    new.add_argument("--model-id", action="append", help="a model to enter; repeat for each (2 to 20)")
    new.add_argument("--start", help="first date, YYYY-MM-DD")
    new.add_argument("--end", help="last date, YYYY-MM-DD")
    new.add_argument("--max-steps", type=int, default=30, help="most agent steps per day (default 30)")
    new.add_argument("--benchmark", help="the index to measure against (default: QQQ when it has prices; '' for none)")
    parser.add_argument(
        "--live",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="redraw the standings as the runs trade (default: when printing to a terminal)",
    )
    parser.add_argument("--refresh", type=float, default=1.0, help="seconds between redraws (default 1)")
    parser.add_argument("--max-retries", type=int, default=8, help="reconnects in a row before giving up (default 8)")
    parser.add_argument(
        "--drop-after", type=int, metavar="N", help="debugging: drop the connection once after N events"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    live = sys.stdout.isatty() if args.live is None else args.live
    try:
        with connect(args) as client:
            arena_id = args.arena_id or start_arena(client, args)
            names = {s["run"]["id"]: s["modelName"] for s in standings(client, arena_id)["standings"]}
            follower = ArenaFollower(
                websocket_endpoint(args.url),
                client.token,
                arena_id,
                names,
                live=live,
                drop_after=args.drop_after,
                max_retries=args.max_retries,
            )
            started = time.monotonic()
            asyncio.run(follow(client, follower, args.refresh))
            final = standings(client, arena_id)
    except (GraphQLError, ConnectionDropped, httpx.HTTPError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(("" if not live else CLEAR) + standings_table(final), flush=True)
    print(f"Followed for {time.monotonic() - started:.1f}s.", file=sys.stderr)
    return EXIT_CODES.get(final["status"], EXIT_ERROR)


if __name__ == "__main__":
    sys.exit(main())
