"""How a run did against a benchmark, from the two curves' aligned simple returns.

r and b are the run's and the benchmark's simple returns at the same closes (r_1 = V1 / V0 - 1 from the
initial cash, likewise b_1), P periods a year, risk-free rate 0:
  excess return     = total return(run) - total return(benchmark)
  beta              = cov(r, b) / var(b)                    (ddof = 1)
  alpha (Jensen)    = (mean(r) - beta × mean(b)) × P        (annualised)
  tracking error    = std(r - b, ddof = 1) × sqrt(P)
  information ratio = mean(r - b) × P / tracking error
  correlation       = corr(r, b)
A figure is None where it is undefined: fewer than two returns, or a zero variance it divides by.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from db_models.metrics import ZERO_STD


@dataclass(frozen=True)
class RelativeFigures:
    excess_return: float
    beta: float | None
    alpha: float | None
    tracking_error: float | None
    information_ratio: float | None
    correlation: float | None


def simple_returns(initial_value: float, values: Sequence[float]) -> np.ndarray:
    series = np.array([float(initial_value), *map(float, values)], dtype=float)
    return series[1:] / series[:-1] - 1


def relative_performance(
    run_initial: float,
    run_values: Sequence[float],
    benchmark_initial: float,
    benchmark_values: Sequence[float],
    periods_per_year: int,
) -> RelativeFigures:
    """The figures of a run's curve V1..Vn against a benchmark's B1..Bn valued at the same closes."""
    if len(run_values) != len(benchmark_values):
        raise ValueError(f"The curves are not aligned: {len(run_values)} run values, {len(benchmark_values)}.")
    run_total = float(run_values[-1]) / float(run_initial) - 1 if run_values else 0.0
    benchmark_total = float(benchmark_values[-1]) / float(benchmark_initial) - 1 if benchmark_values else 0.0
    excess = run_total - benchmark_total
    if len(run_values) < 2:
        return RelativeFigures(excess, None, None, None, None, None)
    r = simple_returns(run_initial, run_values)
    b = simple_returns(benchmark_initial, benchmark_values)
    P = periods_per_year
    run_std, benchmark_std = _std(r), _std(b)
    active = r - b
    active_std = _std(active)

    beta = alpha = correlation = None
    if benchmark_std > 0:
        beta = float(np.cov(r, b, ddof=1)[0, 1] / b.var(ddof=1))
        alpha = (float(r.mean()) - beta * float(b.mean())) * P
        if run_std > 0:
            correlation = float(np.corrcoef(r, b)[0, 1])
    tracking_error = active_std * math.sqrt(P)
    information_ratio = None if active_std == 0 else float(active.mean()) * P / tracking_error
    return RelativeFigures(excess, beta, alpha, tracking_error, information_ratio, correlation)


def _std(values: np.ndarray) -> float:
    """The sample standard deviation, 0 when it is float noise around zero (a constant series)."""
    std = float(values.std(ddof=1))
    return 0.0 if std <= ZERO_STD else std
