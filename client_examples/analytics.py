"""Pulls a run's (or an arena's) curves into pandas, recomputes their figures and charts them with their baselines.

    python client_examples/analytics.py RUN_ID --out-dir ./run-report
    python client_examples/analytics.py --arena ARENA_ID --out-dir ./arena-report

Computes total and annualized return, volatility, Sharpe, Sortino, max drawdown, win rate, trades, trading
days, fees and dividends from the curve and the positions alone, as docs/metrics.md defines them, and prints
them beside the API's `performance`. Writes to the output directory:
  equity_curve.csv  date, timestamp, value, cash, peak, drawdown, return (V1..Vn; V0 is the initial cash)
  positions.csv     every action of the run, with the holdings after it as JSON
  equity.png        the value curve with its baselines (dashed), drawdowns shaded and buys/sells marked, and
                    the drawdown below
  benchmarks.csv    the baselines' values at the run's closes
With --arena it recomputes the standings (each run's return, excess return over the buy-and-hold baseline,
Sharpe ratio and drawdown, and the ranks), prints them beside the API's, and writes arena.png (every run's
return and the baselines in one chart), curves.csv and standings.csv.
Exit status: 0 when every figure agrees with the API's within --tolerance, 2 when one does not,
1 on any other error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from aibt_client import Client, GraphQLError, add_connection_arguments, connect, operation
from arena_report import comparison, draw_arena, fetch_arena, recompute_standings
from arena_report import write_csvs as write_arena_csvs

TRADING_DAYS_PER_YEAR = 252
SESSION_MINUTES = {"REGULAR": 390, "PRE": 330, "AFTER": 240}
ZERO_STD = 1e-12  # a standard deviation this small is float noise around zero
PAGE_SIZE = 100
METRICS = (
    "initialValue",
    "finalValue",
    "totalReturn",
    "annualizedReturn",
    "volatility",
    "sharpeRatio",
    "sortinoRatio",
    "maxDrawdown",
    "winRate",
    "totalTrades",
    "tradingDays",
    "totalFees",
    "totalDividends",
)


def fetch_run(client: Client, run_id: str) -> dict[str, Any]:
    run = client.execute(operation("run_analytics"), {"id": run_id})["run"]
    if run is None:
        raise GraphQLError([{"message": f"Run {run_id} not found.", "extensions": {"code": "NOT_FOUND"}}])
    return run


def fetch_positions(client: Client, run_id: str) -> list[dict[str, Any]]:
    """Every action of the run, following the connection's cursor."""
    positions, after = [], None
    while True:
        page = client.execute(operation("run_positions"), {"id": run_id, "first": PAGE_SIZE, "after": after})
        connection = page["run"]["positions"]
        positions += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return positions
        after = connection["pageInfo"]["endCursor"]


def curve_frame(run: dict[str, Any]) -> pd.DataFrame:
    curve = pd.DataFrame(run["equityCurve"], columns=["date", "timestamp", "value", "cash"])
    curve["date"] = pd.to_datetime(curve["date"]).dt.date
    curve["timestamp"] = pd.to_datetime(curve["timestamp"], utc=True)
    return curve.sort_values("timestamp", kind="stable").reset_index(drop=True)


def positions_frame(positions: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["actionId", "date", "timestamp", "action", "symbol", "amount", "price", "fee", "cash", "holdings"]
    frame = pd.DataFrame(positions, columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["amount"] = frame["amount"].astype("Int64")  # NO_TRADE rows have none
    frame["fee"] = frame["fee"].fillna(0.0)
    frame["holdings"] = frame["holdings"].map(lambda h: json.dumps(h, sort_keys=True))
    return frame.sort_values("actionId").reset_index(drop=True)


def initial_value(run: dict[str, Any]) -> float:
    """V0: the cash the run started with, from its frozen strategy snapshot (the model may have changed since)."""
    snapshot = run.get("strategySnapshot") or {}
    return float(snapshot.get("initial_cash", run["model"]["initialCash"]))


def periods_per_year(run: dict[str, Any], curve: pd.DataFrame) -> int:
    """252 for a daily run; 252 x the bars in the session for an intraday one (bar length read off the curve)."""
    if run["mode"] == "DAILY":
        return TRADING_DAYS_PER_YEAR
    gaps = curve["timestamp"].diff().dropna()
    bar_minutes = int(gaps.min().total_seconds() // 60) if not gaps.empty else 60
    return TRADING_DAYS_PER_YEAR * max(1, SESSION_MINUTES[run["session"] or "REGULAR"] // max(1, bar_minutes))


def split_ratio(price: float) -> Fraction:
    """A split's stored ratio as the fraction it stands for (0.333333 is 1/3)."""
    return Fraction(str(price)).limit_denominator(100)


def win_rate(positions: pd.DataFrame) -> float | None:
    """The share of sells whose proceeds net of their fee beat the cost of the shares sold (the average cost
    with buy fees, divided by any split since); None before the first sell."""
    shares: dict[str, int] = {}
    cost: dict[str, Fraction] = {}
    sells = wins = 0
    for trade in positions.itertuples():
        held = shares.get(trade.symbol, 0)
        if trade.action == "SPLIT" and held > 0:
            ratio = split_ratio(trade.price)
            shares[trade.symbol] = math.floor(held * ratio)
            cost[trade.symbol] *= Fraction(shares[trade.symbol]) / (held * ratio)
            continue
        if trade.action not in ("BUY", "SELL") or not trade.amount or trade.amount <= 0:
            continue
        amount, price, fee = int(trade.amount), Fraction(str(trade.price)), Fraction(str(trade.fee))
        if trade.action == "BUY":
            shares[trade.symbol] = held + amount
            cost[trade.symbol] = cost.get(trade.symbol, Fraction(0)) + amount * price + fee
        elif held > 0:
            sells += 1
            sold = min(amount, held)
            sold_cost = cost[trade.symbol] * sold / held
            wins += sold * price - fee > sold_cost
            cost[trade.symbol] -= sold_cost
            shares[trade.symbol] = held - sold
    return wins / sells if sells else None


def compute_metrics(v0: float, curve: pd.DataFrame, positions: pd.DataFrame, periods: int) -> dict[str, Any]:
    """The figures of docs/metrics.md from V0 and V1..Vn (the curve) with simple returns and a risk-free rate of 0."""
    dividends = positions["action"] == "DIVIDEND"
    values = pd.concat([pd.Series([v0]), curve["value"].astype(float)], ignore_index=True)
    n = len(values) - 1
    returns = (values / values.shift(1) - 1).iloc[1:]
    vn = float(values.iloc[-1])
    drawdown = 1 - values / values.cummax()
    volatility = sharpe = sortino = annualized = None
    if n > 0:
        try:
            growth = (vn / v0) ** (periods / n)
        except OverflowError:
            growth = math.inf
        annualized = growth - 1 if math.isfinite(growth) else None
        mean = float(returns.mean())
        if n >= 2:
            std = float(returns.std(ddof=1))
            std = 0.0 if std <= ZERO_STD else std
            volatility = std * math.sqrt(periods)
            sharpe = mean / std * math.sqrt(periods) if std else None
        if (returns < 0).any():
            downside = math.sqrt(float((returns.clip(upper=0) ** 2).mean()))
            sortino = mean * periods / (downside * math.sqrt(periods)) if downside else None
    return {
        "initialValue": v0,
        "finalValue": vn,
        "totalReturn": vn / v0 - 1,
        "annualizedReturn": annualized,
        "volatility": volatility,
        "sharpeRatio": sharpe,
        "sortinoRatio": sortino,
        "maxDrawdown": max(0.0, float(drawdown.max())),
        "winRate": win_rate(positions),
        "totalTrades": int(positions["action"].isin(["BUY", "SELL"]).sum()),
        "tradingDays": int(curve["date"].nunique()),
        "totalFees": float(positions.loc[positions["action"].isin(["BUY", "SELL"]), "fee"].sum()),
        "totalDividends": float(
            (positions.loc[dividends, "amount"].astype(float) * positions.loc[dividends, "price"]).sum()
        ),
    }


def agrees(ours: Any, theirs: Any, tolerance: float) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(float(ours) - float(theirs)) <= tolerance


def comparison_table(ours: dict[str, Any], theirs: dict[str, Any] | None, tolerance: float) -> tuple[str, bool]:
    """Lines 'metric  computed  api  ok|DIFFERS' (full float precision), and whether every metric agrees."""
    rows, all_agree = [("METRIC", "COMPUTED", "API", "")], True
    for name in METRICS:
        api_value = None if theirs is None else theirs.get(name)
        same = theirs is not None and agrees(ours[name], api_value, tolerance)
        all_agree &= same
        rows.append((name, repr(ours[name]), "-" if theirs is None else repr(api_value), "ok" if same else "DIFFERS"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines), all_agree


def write_csvs(curve: pd.DataFrame, positions: pd.DataFrame, v0: float, out_dir: Path, run: dict[str, Any]) -> None:
    values = pd.concat([pd.Series([v0]), curve["value"]], ignore_index=True)
    table = curve.copy()
    table["peak"] = values.cummax().iloc[1:].to_numpy()
    table["drawdown"] = 1 - table["value"] / table["peak"]
    table["return"] = (values / values.shift(1) - 1).iloc[1:].to_numpy()
    table.to_csv(out_dir / "equity_curve.csv", index=False)
    positions.to_csv(out_dir / "positions.csv", index=False)
    baselines = [
        (p["date"], p["timestamp"], b["label"], p["value"]) for b in run["benchmarks"] for p in b["equityCurve"]
    ]
    pd.DataFrame(baselines, columns=["date", "timestamp", "benchmark", "value"]).to_csv(
        out_dir / "benchmarks.csv", index=False
    )


def trade_points(curve: pd.DataFrame, positions: pd.DataFrame) -> pd.DataFrame:
    """Each BUY and SELL with the portfolio value at the first close at or after it (the last close if none)."""
    trades = positions[positions["action"].isin(["BUY", "SELL"])].sort_values("timestamp")
    if trades.empty:
        return trades.assign(value=pd.Series(dtype=float), at=pd.Series(dtype="datetime64[ns, UTC]"))
    points = curve[["timestamp", "value"]].rename(columns={"timestamp": "at"})
    matched = pd.merge_asof(trades, points, left_on="timestamp", right_on="at", direction="forward")
    matched["value"] = matched["value"].fillna(curve["value"].iloc[-1])
    matched["at"] = matched["at"].fillna(curve["timestamp"].iloc[-1])
    return matched


def draw_chart(run: dict[str, Any], curve: pd.DataFrame, positions: pd.DataFrame, v0: float, path: Path) -> None:
    x = curve["timestamp"].dt.tz_convert(None)
    value = curve["value"]
    peak = np.maximum.accumulate(np.concatenate([[v0], value.to_numpy()]))[1:]
    drawdown = 1 - value / peak
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}, constrained_layout=True
    )
    top.plot(x, value, color="#1f4e79", linewidth=1.8, label="portfolio value")
    for benchmark, color in zip(run["benchmarks"], ("#555555", "#9467bd"), strict=False):
        at = pd.to_datetime([p["timestamp"] for p in benchmark["equityCurve"]], utc=True).tz_convert(None)
        values = [p["value"] for p in benchmark["equityCurve"]]
        top.plot(at, values, color=color, linewidth=1.2, linestyle="--", label=benchmark["label"])
    top.axhline(v0, color="#bbbbbb", linewidth=0.8, linestyle=":", label=f"initial {v0:,.0f}")
    top.fill_between(
        x, value, peak, where=value < peak, interpolate=True, color="#d62728", alpha=0.25, label="drawdown"
    )
    trades = trade_points(curve, positions)
    for action, marker, color in (("BUY", "^", "#2ca02c"), ("SELL", "v", "#d62728")):
        chosen = trades[trades["action"] == action]
        if not chosen.empty:
            top.scatter(
                chosen["at"].dt.tz_convert(None),
                chosen["value"],
                marker=marker,
                s=80,
                color=color,
                edgecolor="black",
                linewidth=0.6,
                zorder=5,
                label=action.lower(),
            )
    if len(trades) <= 12:  # label the trades when there are few enough to read; one label per point and side
        for (at, action), group in trades.groupby(["at", "action"], sort=False):
            label = "\n".join(f"{t.action} {t.amount} {t.symbol}" for t in group.itertuples())
            top.annotate(
                label,
                (at.tz_convert(None), group["value"].iloc[0]),
                textcoords="offset points",
                xytext=(0, 10) if action == "BUY" else (0, -12),
                ha="center",
                fontsize=7,
                va="bottom" if action == "BUY" else "top",
            )
    top.set_title(f"Run #{run['runNumber']} of {run['model']['name']} ({run['mode'].lower()}, {run['status'].lower()})")
    top.set_ylabel("value")
    top.grid(alpha=0.3)
    top.legend(loc="best", fontsize=8)
    bottom.fill_between(x, -drawdown * 100, 0, color="#d62728", alpha=0.4, step=None)
    bottom.plot(x, -drawdown * 100, color="#d62728", linewidth=0.8)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def analyse_run(client: Client, args: argparse.Namespace) -> int:
    run = fetch_run(client, args.run_id)
    positions = positions_frame(fetch_positions(client, args.run_id))
    curve = curve_frame(run)
    if curve.empty:
        print(f"Run #{run['runNumber']} ({run['status']}) has no equity points yet.", file=sys.stderr)
        return 1
    v0 = initial_value(run)
    ours = compute_metrics(v0, curve, positions, periods_per_year(run, curve))
    table, all_agree = comparison_table(ours, run["performance"], args.tolerance)
    print(
        f"Run #{run['runNumber']} of {run['model']['name']}: {run['status']}, {run['mode'].lower()}, "
        f"{len(curve)} equity points, {ours['totalTrades']} trades"
    )
    for benchmark in run["benchmarks"]:
        print(f"baseline {benchmark['label']}: return {benchmark['performance']['totalReturn']!r}")
    print(table)

    out_dir = args.out_dir or Path(f"run-{args.run_id}")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csvs(curve, positions, v0, out_dir, run)
    draw_chart(run, curve, positions, v0, out_dir / "equity.png")
    for name in ("equity_curve.csv", "positions.csv", "benchmarks.csv", "equity.png"):
        print(f"wrote {out_dir / name}")
    if not all_agree:
        print(f"Some figures differ from the API's by more than {args.tolerance}.", file=sys.stderr)
        return 2
    return 0


def analyse_arena(client: Client, args: argparse.Namespace) -> int:
    arena = fetch_arena(client, args.arena)
    ours = recompute_standings(arena)
    table, all_agree = comparison(ours, arena, args.tolerance)
    print(f'Arena "{arena["name"]}": {arena["status"]}, {len(arena["runs"])} runs')
    print(table)
    out_dir = args.out_dir or Path(f"arena-{args.arena}")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_arena_csvs(arena, ours, out_dir)
    draw_arena(arena, out_dir / "arena.png")
    for name in ("curves.csv", "standings.csv", "arena.png"):
        print(f"wrote {out_dir / name}")
    if not all_agree:
        print(f"Some figures differ from the API's by more than {args.tolerance}.", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("run_id", metavar="RUN_ID", nargs="?")
    parser.add_argument("--arena", metavar="ARENA_ID", help="analyse this arena instead of a run")
    parser.add_argument("--out-dir", type=Path, help="where to write the CSVs and the chart (default ./run-RUN_ID)")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-9,
        help="largest difference from the API's figure that counts as agreeing (default 1e-9)",
    )
    args = parser.parse_args(argv)
    if (args.run_id is None) == (args.arena is None):
        parser.error("give a RUN_ID or --arena ARENA_ID")
    try:
        with connect(args) as client:
            return analyse_arena(client, args) if args.arena else analyse_run(client, args)
    except (GraphQLError, httpx.HTTPError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
