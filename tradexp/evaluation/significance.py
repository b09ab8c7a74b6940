"""Is the result distinguishable from luck? Binomial accuracy test, block-bootstrap Sharpe interval,
probabilistic and deflated Sharpe ratios (Bailey & Lopez de Prado 2012, 2014).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal, NamedTuple, Sequence

import numpy as np

from tradexp.evaluation.metrics import sharpe_ratio

__all__ = [
    "BinomialTest",
    "SharpeInterval",
    "binomial_accuracy_test",
    "block_bootstrap_indices",
    "bootstrap_sharpe_interval",
    "probabilistic_sharpe_ratio",
    "deflated_sharpe_ratio",
    "verdict",
]

EULER_GAMMA = 0.5772156649015329


def verdict(significant: bool) -> str:
    """The words reports show: `significant` or `not significant`."""
    return "significant" if significant else "not significant"


class BinomialTest(NamedTuple):
    """Accuracy against a reference rate (the majority-class rate)."""

    n: int
    correct: int
    accuracy: float
    reference_rate: float
    pvalue: float
    ci_low: float  # two-sided (1 - alpha) Wilson interval of the accuracy
    ci_high: float
    null_low: float  # accuracies a no-skill model reaches with probability 1 - alpha (two-sided)
    null_high: float
    alpha: float
    significant: bool
    verdict: str


def binomial_accuracy_test(correct: int, n: int, reference_rate: float, alpha: float = 0.05) -> BinomialTest:
    """One-sided binomial test that the accuracy exceeds `reference_rate`.

    Args:
        correct: Number of correct direction calls.
        n: Number of calls.
        reference_rate: Accuracy of no skill, e.g. the majority-class rate of the same bars.
        alpha: Significance level.

    Returns:
        BinomialTest with the p-value of `accuracy > reference_rate`, the accuracy's interval, the
        interval of accuracies expected under no skill, and the verdict.

    Raises:
        ValueError: On n < 1, correct outside [0, n], a rate outside (0, 1) or alpha outside (0, 1).
    """
    if n < 1 or not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n and n >= 1, got correct={correct}, n={n}")
    if not 0.0 < reference_rate < 1.0:
        raise ValueError(f"`reference_rate` must be in (0, 1), got {reference_rate}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha}")
    correct, n = int(correct), int(n)
    from scipy import stats  # only the binomial test needs scipy.stats (~1 s to import)

    pvalue = float(stats.binomtest(correct, n, reference_rate, alternative="greater").pvalue)
    interval = stats.binomtest(correct, n, reference_rate).proportion_ci(1 - alpha, method="wilson")
    null_low = float(stats.binom.ppf(alpha / 2, n, reference_rate)) / n
    null_high = float(stats.binom.isf(alpha / 2, n, reference_rate)) / n
    significant = pvalue < alpha
    return BinomialTest(
        n=n,
        correct=correct,
        accuracy=correct / n,
        reference_rate=float(reference_rate),
        pvalue=pvalue,
        ci_low=float(interval.low),
        ci_high=float(interval.high),
        null_low=null_low,
        null_high=null_high,
        alpha=alpha,
        significant=significant,
        verdict=verdict(significant),
    )


def block_bootstrap_indices(n: int, n_boot: int, block_length: float, method: Literal["stationary", "circular"] = "stationary", seed: int | tuple[int, int] = 0) -> np.ndarray:
    """Resampling indices that keep runs of consecutive bars (and so their autocorrelation).

    `stationary` (Politis & Romano 1994): blocks of geometric length with mean `block_length`;
    `circular`: blocks of exactly `block_length`; both wrap around the end of the series.

    Returns:
        int64 array (n_boot, n) of indices into the series.
    """
    if n < 1 or n_boot < 1:
        raise ValueError(f"need n >= 1 and n_boot >= 1, got n={n}, n_boot={n_boot}")
    if block_length < 1:
        raise ValueError(f"`block_length` must be >= 1, got {block_length}")
    if method not in ("stationary", "circular"):
        raise ValueError(f"`method` must be `stationary` or `circular`, got {method!r}")
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    if method == "stationary":
        new_block = rng.random((n_boot, n)) < 1.0 / block_length  # (B, n)
    else:
        new_block = np.broadcast_to(steps % int(round(block_length)) == 0, (n_boot, n)).copy()  # (B, n)
    new_block[:, 0] = True
    starts = rng.integers(0, n, (n_boot, n))  # (B, n): a random start offered at every step
    block_begin = np.maximum.accumulate(np.where(new_block, steps, 0), axis=1)  # (B, n) step where the block began
    begin_at = np.take_along_axis(starts, block_begin, axis=1)  # (B, n) that block's start index
    return (begin_at + steps - block_begin) % n


_BOOTSTRAP_CELLS = 1 << 22  # resample cells (bootstrap draws x series length) held at once


class SharpeInterval(NamedTuple):
    """Block-bootstrap percentile interval of the (annualised) Sharpe ratio."""

    sharpe: float
    ci_low: float
    ci_high: float
    block_length: float
    n_boot: int
    method: str
    alpha: float
    significant: bool  # the interval excludes 0 from below
    verdict: str


def bootstrap_sharpe_interval(
    returns: np.ndarray,
    periods_per_year: float = 1.0,
    n_boot: int = 1000,
    block_length: float | None = None,
    alpha: float = 0.05,
    method: Literal["stationary", "circular"] = "stationary",
    seed: int = 0,
) -> SharpeInterval:
    """Percentile interval of the Sharpe ratio by a stationary (or circular) block bootstrap.

    Args:
        returns: Per-period strategy returns (S,).
        periods_per_year: Annualisation factor of the Sharpe ratio.
        n_boot: Bootstrap resamples.
        block_length: Mean block length; default `ceil(S ** (1/3))`.
        alpha: Two-sided level of the interval.
        method: `stationary` or `circular`.
        seed: Random seed.

    Raises:
        ValueError: With fewer than 3 returns.
    """
    returns = np.asarray(returns, dtype="float64")
    if len(returns) < 3:
        raise ValueError(f"need at least 3 returns for a bootstrap interval, got {len(returns)}")
    length = float(block_length) if block_length is not None else float(math.ceil(len(returns) ** (1 / 3)))
    # Resamples in chunks of ~4M cells: a (B, S) index matrix for 1000 x 150k test bars is 1.2 GB
    # (several alive at once); up to that size one chunk, the same draws as ever.
    per_chunk = max(1, _BOOTSTRAP_CELLS // len(returns))
    sharpes = np.empty(n_boot)  # (B,)
    for chunk, first in enumerate(range(0, n_boot, per_chunk)):
        count = min(per_chunk, n_boot - first)
        chunk_seed = seed if per_chunk >= n_boot else (seed, chunk)
        samples = returns[block_bootstrap_indices(len(returns), count, length, method, chunk_seed)]  # (b, S)
        sharpes[first : first + count] = sharpe_ratio(samples, periods_per_year, axis=1)  # (b, S) -> (b,)
    low, high = np.quantile(sharpes, [alpha / 2, 1 - alpha / 2])
    significant = bool(low > 0)
    return SharpeInterval(
        sharpe=sharpe_ratio(returns, periods_per_year),
        ci_low=float(low),
        ci_high=float(high),
        block_length=length,
        n_boot=int(n_boot),
        method=method,
        alpha=alpha,
        significant=significant,
        verdict=verdict(significant),
    )


def probabilistic_sharpe_ratio(observed_sharpe: float, benchmark_sharpe: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """Probability that the true per-period Sharpe exceeds `benchmark_sharpe` (Bailey & Lopez de Prado 2012).

    `PSR = Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))`, Sharpe per period.

    Raises:
        ValueError: With n_obs < 2 or a non-positive variance term (impossible skew/kurtosis).
    """
    if n_obs < 2:
        raise ValueError(f"`n_obs` must be >= 2, got {n_obs}")
    variance = 1.0 - skew * observed_sharpe + (kurtosis - 1.0) / 4.0 * observed_sharpe**2
    if not variance > 0:
        raise ValueError(
            f"skew {skew} and kurtosis {kurtosis} give a non-positive Sharpe variance for Sharpe {observed_sharpe}; "
            "pass per-period (not annualised) Sharpe ratios and non-excess kurtosis (normal = 3)"
        )
    z = (observed_sharpe - benchmark_sharpe) * math.sqrt(n_obs - 1) / math.sqrt(variance)
    return NormalDist().cdf(z)


def deflated_sharpe_ratio(observed_sharpe: float, trial_sharpes: Sequence[float], n_obs: int, skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """Probability that the true Sharpe is above 0 after deflating for the number of trials tried.

    Bailey & Lopez de Prado (2014): the best of N trials is compared not with 0 but with the Sharpe
    expected from the best of N unskilled trials,
    `SR0 = sqrt(Var[SR_n]) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))` (g = Euler-Mascheroni),
    then `DSR = PSR(SR0)`. With one trial (or no spread across trials) SR0 = 0 and DSR is the plain
    probabilistic Sharpe ratio.

    Args:
        observed_sharpe: Sharpe of the selected (best) trial, per bar, not annualised.
        trial_sharpes: Per-bar Sharpe of every trial tried (the selected one included); non-finite
            values (failed trials) are ignored.
        n_obs: Number of returns the observed Sharpe was measured on.
        skew: Skewness of those returns.
        kurtosis: Kurtosis of those returns (non-excess: normal = 3).

    Returns:
        DSR in [0, 1]; above 0.95 is the usual bar for "not a product of the search".

    Raises:
        ValueError: With n_obs < 2 or impossible skew/kurtosis for the observed Sharpe.
    """
    values = np.asarray([s for s in trial_sharpes if s is not None], dtype="float64")
    values = values[np.isfinite(values)]
    n_trials = len(values)
    if n_trials < 2:
        benchmark = 0.0
    else:
        spread = float(values.std(ddof=1))
        normal = NormalDist()  # the standard normal (the standard library's: no scipy import for a report)
        expected_max = (1 - EULER_GAMMA) * normal.inv_cdf(1 - 1 / n_trials) + EULER_GAMMA * normal.inv_cdf(1 - 1 / (n_trials * math.e))
        benchmark = spread * float(expected_max)
    return probabilistic_sharpe_ratio(observed_sharpe, benchmark, n_obs, skew, kurtosis)
