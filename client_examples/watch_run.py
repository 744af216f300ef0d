"""Starts a run (or attaches to one) and follows its events live, with a progress bar and its trades.

    python client_examples/watch_run.py --model-id ID --start 2025-01-02 --end 2025-01-31
    python client_examples/watch_run.py --model-id ID --symbol AAPL --date 2025-01-15   # intraday session
    python client_examples/watch_run.py --run-id ID                                       # attach

It speaks graphql-transport-ws. When the connection drops it reconnects with backoff and subscribes
again with afterSeq = the last seq it saw, so no event is missed or shown twice. Exit status: 0 when
the run COMPLETED, 1 when it FAILED, 3 when it was CANCELLED, 4 on any other error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx
from aibt_client import Client, GraphQLError, add_connection_arguments, connect, operation, websocket_endpoint
from resumable import ConnectionDropped, ResumableSubscription
from tqdm import tqdm

EXIT_CODES = {"COMPLETED": 0, "FAILED": 1, "CANCELLED": 3}
EXIT_ERROR = 4
TERMINAL_KINDS = set(EXIT_CODES)
ALWAYS_SHOWN = {"QUEUED", "STARTED", "TRADE", *TERMINAL_KINDS}


def describe(event: dict[str, Any]) -> str:
    """One line for an event: its seq, its kind and what it says."""
    kind, position, progress = event["kind"], event.get("position"), event.get("progress")
    if kind == "TRADE" and position:
        detail = (
            f"{position['date']} {position['action']} {position['amount']} {position['symbol']} "
            f"@ {position['price']:.2f}  cash {position['cash']:.2f}"
        )
    elif kind == "PROGRESS" and progress:
        detail = f"{progress['current']}/{progress['total']} {progress.get('currentDate') or ''}".rstrip()
    else:
        text = event.get("message") or ("" if event["status"] == kind else event["status"])
        detail = text.strip().splitlines()[0] if text.strip() else ""
    if len(detail) > 120:
        detail = detail[:117] + "..."
    return f"[{event['seq']:>4}] {kind:<9} {detail}".rstrip()


class RunWatcher(ResumableSubscription):
    """Follows one run's events, with a progress bar, resuming after the last seq on reconnect."""

    OPERATION = "run_events"
    FIELD = "runEvents"

    def __init__(
        self, ws_url: str, token: str, run_id: str, *, verbose: bool = False, show_progress: bool = True, **options
    ):
        super().__init__(ws_url, token, **options)
        self.run_id, self.verbose = run_id, verbose
        self.final_event: dict[str, Any] | None = None
        self.bar = tqdm(
            total=None,
            unit="step",
            desc=f"run {run_id}",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=not show_progress,
            leave=True,
        )

    def variables(self) -> dict[str, Any]:
        return {"runId": self.run_id}

    def say(self, text: str) -> None:
        tqdm.write(text, file=sys.stderr)

    async def follow(self) -> None:
        try:
            await super().follow()
        finally:
            self.bar.close()

    def handle(self, event: dict[str, Any]) -> None:
        progress = event.get("progress")
        if progress:
            if self.bar.total != progress["total"]:
                self.bar.total = progress["total"]
            self.bar.n = progress["current"]
            if progress.get("currentDate"):
                self.bar.set_postfix_str(progress["currentDate"], refresh=False)
            self.bar.refresh()
        if self.verbose or event["kind"] in ALWAYS_SHOWN:
            tqdm.write(describe(event), file=sys.stdout)
        if event["kind"] in TERMINAL_KINDS:
            self.final_event = event


def start_run(client: Client, args: argparse.Namespace) -> str:
    if args.symbol:
        if not args.date:
            sys.exit("An intraday session needs --date.")
        data = client.execute(
            operation("start_intraday_run"),
            {
                "modelId": args.model_id,
                "input": {
                    "symbol": args.symbol,
                    "date": args.date,
                    "session": args.session,
                    "maxSteps": args.max_steps,
                },
            },
        )
        run = data["startIntradayRun"]
    else:
        if not (args.start and args.end):
            sys.exit("A daily run needs --start and --end (or --symbol and --date for an intraday session).")
        data = client.execute(
            operation("start_daily_run"),
            {
                "modelId": args.model_id,
                "input": {"startDate": args.start, "endDate": args.end, "maxSteps": args.max_steps},
            },
        )
        run = data["startDailyRun"]
    print(f"Started run #{run['runNumber']} ({run['id']}): {run['status']}", flush=True)
    return run["id"]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--run-id", help="attach to this run")
    target.add_argument("--model-id", help="start a run of this model")
    daily = parser.add_argument_group("a daily backtest (with --model-id)")
    daily.add_argument("--start", help="first date, YYYY-MM-DD")
    daily.add_argument("--end", help="last date, YYYY-MM-DD")
    intraday = parser.add_argument_group("an intraday session (with --model-id)")
    intraday.add_argument("--symbol")
    intraday.add_argument("--date", help="the session's date, YYYY-MM-DD")
    intraday.add_argument("--session", default="REGULAR", choices=["REGULAR", "PRE", "AFTER"])
    parser.add_argument("--max-steps", type=int, default=30, help="most agent steps per day or bar (default 30)")
    parser.add_argument(
        "--after-seq",
        type=int,
        default=0,
        help="when attaching, show only events after this seq (default 0: from the start)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print every event, not only trades and milestones"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--max-retries", type=int, default=8, help="reconnects in a row before giving up (default 8)")
    parser.add_argument(
        "--drop-after",
        type=int,
        metavar="N",
        help="debugging: close the connection once after N events, to exercise resuming",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        with connect(args) as client:
            run_id = args.run_id or start_run(client, args)
            watcher = RunWatcher(
                websocket_endpoint(args.url),
                client.token,
                run_id,
                verbose=args.verbose,
                drop_after=args.drop_after,
                max_retries=args.max_retries,
                show_progress=not args.no_progress,
            )
            watcher.last_seq = args.after_seq
            asyncio.run(watcher.follow())
            run = client.execute(operation("run_status"), {"id": run_id})["run"]
    except (GraphQLError, ConnectionDropped, httpx.HTTPError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    status = run["status"]
    summary = f"Run #{run['runNumber']} of {run['model']['name']}: {status}, {run['totalTrades']} trades"
    if run["finalReturn"] is not None:
        summary += f", return {run['finalReturn'] * 100:+.2f}%"
    if run["error"]:
        summary += f"\n  {run['error']}"
    print(summary, flush=True)
    return EXIT_CODES.get(status, EXIT_ERROR)


if __name__ == "__main__":
    sys.exit(main())
