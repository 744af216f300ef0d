"""Lists your trading models with their latest run and its performance, as a plain-text table.

python client_examples/query_models.py --url http://127.0.0.1:8080 --email me@example.com
AIBT_TOKEN=... python client_examples/query_models.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

import httpx
from aibt_client import Client, GraphQLError, add_connection_arguments, connect, operation

PAGE_SIZE = 100
COLUMNS = ("MODEL", "AI MODEL", "RUN", "STATUS", "PERIOD", "RETURN", "SHARPE", "MAX DD", "TRADES")
RIGHT_ALIGNED = {"RUN", "RETURN", "SHARPE", "MAX DD", "TRADES"}


def all_models(client: Client) -> Iterator[dict[str, Any]]:
    """Every model of the signed-in user, following the connection's cursor."""
    after = None
    while True:
        page = client.execute(operation("models_with_latest_run"), {"first": PAGE_SIZE, "after": after})["models"]
        for edge in page["edges"]:
            yield edge["node"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f}%"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def row(model: dict[str, Any]) -> tuple[str, ...]:
    run = model["latestRun"]
    if run is None:
        return (model["name"], model["aiModel"], "-", "no runs", "-", "-", "-", "-", "-")
    performance = run["performance"] or {}
    period = f"{run['startDate']}..{run['endDate']}" if run["startDate"] else "-"
    drawdown = performance.get("maxDrawdown")
    return (
        model["name"],
        model["aiModel"],
        f"#{run['runNumber']}",
        run["status"],
        period,
        percent(performance.get("totalReturn")),
        number(performance.get("sharpeRatio")),
        "-" if drawdown is None else f"{drawdown * 100:.2f}%",
        str(performance["totalTrades"]) if performance else "-",
    )


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (COLUMNS, *rows)) for i in range(len(COLUMNS))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(width) if column in RIGHT_ALIGNED else cell.ljust(width)
            for cell, width, column in zip(cells, widths, COLUMNS, strict=True)
        ).rstrip()

    return "\n".join([line(COLUMNS), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    args = parser.parse_args(argv)
    try:
        with connect(args) as client:
            models = list(all_models(client))
    except (GraphQLError, httpx.HTTPError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not models:
        print("No models yet: create one with the createModel mutation.")
        return 0
    print(table([row(model) for model in models]))
    print(f"\n{len(models)} model{'s' if len(models) != 1 else ''}; RETURN, SHARPE and MAX DD are the latest run's.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
