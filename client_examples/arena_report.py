"""An arena in pandas: every run's curve and the baselines, the standings recomputed, one chart and CSVs.

Used by analytics.py --arena. Each run is measured from its own initial cash (its strategy snapshot); its
excess return is over the arena's buy-and-hold baseline up to the run's last close, as the API defines it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from aibt_client import Client, GraphQLError, operation

TRADING_DAYS_PER_YEAR = 252
ZERO_STD = 1e-12
COMPARED = ("totalReturn", "excessReturn", "sharpeRatio", "maxDrawdown")


def fetch_arena(client: Client, arena_id: str) -> dict[str, Any]:
    """The arena, then each run's curve in a query of its own (all curves in one response would be over the
    API's cost limit for a large arena)."""
    arena = client.execute(operation("arena_analytics"), {"id": arena_id})["arena"]
    if arena is None:
        raise GraphQLError([{"message": f"Arena {arena_id} not found.", "extensions": {"code": "NOT_FOUND"}}])
    for run in arena["runs"]:
        run["equityCurve"] = client.execute(operation("run_curve"), {"id": run["id"]})["run"]["equityCurve"]
    return arena


def curve(points: list[dict[str, Any]]) -> pd.Series:
    """Values by trading date, oldest first."""
    return pd.Series([p["value"] for p in points], index=[p["date"] for p in points], dtype=float)


def run_figures(v0: float, values: pd.Series) -> dict[str, float | None]:
    series = pd.concat([pd.Series([v0]), values.reset_index(drop=True)], ignore_index=True)
    returns = series.pct_change().dropna()
    std = float(returns.std()) if len(returns) >= 2 else None
    sharpe = None if std is None or std <= ZERO_STD else float(returns.mean()) / std * math.sqrt(TRADING_DAYS_PER_YEAR)
    return {
        "totalReturn": float(series.iloc[-1] / v0 - 1),
        "sharpeRatio": sharpe,
        "maxDrawdown": max(0.0, float((1 - series / series.cummax()).max())),
    }


def recompute_standings(arena: dict[str, Any]) -> pd.DataFrame:
    """Each run's figures and excess return over the buy-and-hold baseline, ranked by total return."""
    baseline = next(b for b in arena["benchmarks"] if b["kind"] == "BUY_AND_HOLD")
    held = curve(baseline["equityCurve"]) / baseline["performance"]["initialValue"] - 1
    rows = []
    for run in arena["runs"]:
        values = curve(run["equityCurve"])
        name = run["strategySnapshot"]["name"]
        if values.empty:
            rows.append({"runId": run["id"], "model": name, "totalReturn": None, "excessReturn": None})
            continue
        figures = run_figures(float(run["strategySnapshot"]["initial_cash"]), values)
        excess = figures["totalReturn"] - float(held[values.index[-1]])
        rows.append({"runId": run["id"], "model": name, **figures, "excessReturn": excess})
    table = pd.DataFrame(rows, columns=["runId", "model", *COMPARED])
    table["rank"] = table["totalReturn"].rank(ascending=False, method="min", na_option="bottom").astype(int)
    return table.sort_values(["rank"], kind="stable").reset_index(drop=True)


def comparison(ours: pd.DataFrame, arena: dict[str, Any], tolerance: float) -> tuple[str, bool]:
    """Lines 'rank figure computed api ok|DIFFERS model' for every run (the model last: names have spaces), and
    whether all agree."""
    theirs = {s["run"]["id"]: s for s in arena["standings"]}
    lines, agree = ["RANK  FIGURE  COMPUTED  API  CHECK  MODEL"], True
    for row in ours.itertuples():
        api = theirs[row.runId]
        same_rank = api["rank"] == row.rank
        agree &= same_rank
        lines.append(f"{row.rank}  rank  {row.rank}  {api['rank']}  {'ok' if same_rank else 'DIFFERS'}  {row.model}")
        for name in COMPARED:
            mine, given = getattr(row, name), api[name]
            mine = None if mine is None or (isinstance(mine, float) and math.isnan(mine)) else float(mine)
            same = (mine is None and given is None) or (
                mine is not None and given is not None and abs(mine - given) <= tolerance
            )
            agree &= same
            lines.append(f"{row.rank}  {name}  {mine!r}  {given!r}  {'ok' if same else 'DIFFERS'}  {row.model}")
    return "\n".join(lines), agree


def write_csvs(arena: dict[str, Any], standings: pd.DataFrame, out_dir: Path) -> None:
    rows = []
    for run in arena["runs"]:
        v0 = float(run["strategySnapshot"]["initial_cash"])
        rows += [
            (p["date"], run["strategySnapshot"]["name"], p["value"], p["value"] / v0 - 1) for p in run["equityCurve"]
        ]
    for benchmark in arena["benchmarks"]:
        v0 = benchmark["performance"]["initialValue"]
        rows += [(p["date"], benchmark["label"], p["value"], p["value"] / v0 - 1) for p in benchmark["equityCurve"]]
    pd.DataFrame(rows, columns=["date", "series", "value", "return"]).to_csv(out_dir / "curves.csv", index=False)
    standings.to_csv(out_dir / "standings.csv", index=False)


def draw_arena(arena: dict[str, Any], path: Path) -> None:
    """Every run's cumulative return and the baselines (dashed) on one chart, the leader first in the legend."""
    order = {s["run"]["id"]: s["rank"] for s in arena["standings"]}
    figure, axis = plt.subplots(figsize=(11, 6), constrained_layout=True)
    for run in sorted(arena["runs"], key=lambda r: order.get(r["id"], 0)):
        values = curve(run["equityCurve"])
        if values.empty:
            continue
        v0 = float(run["strategySnapshot"]["initial_cash"])
        x = pd.to_datetime(pd.Series([None, *values.index])).fillna(pd.to_datetime(arena["startDate"]))
        returns = [0.0, *((values / v0 - 1) * 100)]
        axis.plot(x, returns, linewidth=1.8, label=f"#{order.get(run['id'], '?')} {run['strategySnapshot']['name']}")
    for benchmark in arena["benchmarks"]:
        values = curve(benchmark["equityCurve"])
        if values.empty:
            continue
        x = pd.to_datetime(pd.Series([None, *values.index])).fillna(pd.to_datetime(arena["startDate"]))
        returns = [0.0, *((values / benchmark["performance"]["initialValue"] - 1) * 100)]
        axis.plot(x, returns, linewidth=1.4, linestyle="--", color="#555555", label=benchmark["label"])
    axis.axhline(0, color="#bbbbbb", linewidth=0.8, linestyle=":")
    axis.set_title(f'Arena "{arena["name"]}" ({arena["status"].lower()}), {arena["startDate"]}..{arena["endDate"]}')
    axis.set_ylabel("return since the start, %")
    axis.grid(alpha=0.3)
    axis.legend(loc="best", fontsize=8)
    figure.autofmt_xdate()
    figure.savefig(path, dpi=110)
    plt.close(figure)
