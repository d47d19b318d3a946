"""Synthetic credit-applicant data with documented assumptions (no download needed).

Each applicant has eight features, rounded to two decimals (the model's input precision):

| feature | distribution (assumption) |
|---|---|
| `age` | uniform integer 21–70 |
| `income_k` | yearly income in thousands, log-normal, median 52, clipped 8–400 |
| `debt_to_income` | Beta(2, 5) × 0.9 |
| `credit_utilization` | Beta(2, 3) |
| `late_payments_12m` | Poisson(0.6), at most 12 |
| `years_employed` | Exponential(mean 6), at most 45, never more than age − 18 |
| `loan_amount_k` | loan asked for, thousands, log-normal, median 15, clipped 1–250 |
| `open_accounts` | Poisson(4) |

Default risk follows a logistic model with a few non-linear terms (so trees have something to
find): ``z = −2.4 + 3.0·dti + 2.2·util + 0.5·late − 0.015·(age − 21) − 0.6·ln(income/52)
+ 0.8·max(0, loan/income − 0.5) − 0.05·years_employed + 0.6·[util > 0.8 and late ≥ 2]``;
the label ``default`` is drawn as Bernoulli(sigmoid(z)) from a seeded generator, so the same
seed gives the same data everywhere.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FEATURES = (
    "age",
    "income_k",
    "debt_to_income",
    "credit_utilization",
    "late_payments_12m",
    "years_employed",
    "loan_amount_k",
    "open_accounts",
)


def make_applicants(n: int, seed: int = 7) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """``n`` applicants (features rounded to 2 decimals) and their default labels (1 = default)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(21, 71, n).astype(float)
    income = np.clip(np.exp(rng.normal(np.log(52), 0.5, n)), 8, 400)
    dti = rng.beta(2, 5, n) * 0.9
    util = rng.beta(2, 3, n)
    late = np.minimum(rng.poisson(0.6, n), 12).astype(float)
    years = np.minimum(np.minimum(rng.exponential(6, n), 45), age - 18)
    loan = np.clip(np.exp(rng.normal(np.log(15), 0.7, n)), 1, 250)
    accounts = rng.poisson(4, n).astype(float)
    x = np.round(np.column_stack([age, income, dti, util, late, years, loan, accounts]), 2)
    age, income, dti, util, late, years, loan, accounts = x.T
    z = (
        -2.4
        + 3.0 * dti
        + 2.2 * util
        + 0.5 * late
        - 0.015 * (age - 21)
        - 0.6 * np.log(income / 52)
        + 0.8 * np.maximum(0, loan / income - 0.5)
        - 0.05 * years
        + 0.6 * ((util > 0.8) & (late >= 2))
    )
    default = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    return x, default
