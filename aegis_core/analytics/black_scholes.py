"""Black-Scholes-Merton prices, greeks and implied volatility, vectorized over numpy arrays.

Inputs broadcast against each other: ``spot`` S, ``strike`` K, ``time`` T in years, ``vol`` σ per
year (0.25 = 25 %), ``rate`` r and ``dividend`` q as continuously compounded yearly rates, and
``is_call`` (True for calls, False for puts).

Units (raw derivatives, nothing rescaled):

- ``delta`` = ∂V/∂S and ``gamma`` = ∂²V/∂S² (per 1.00 of underlying price);
- ``vega`` = ∂V/∂σ per 1.00 of volatility (divide by 100 for "per vol point", Polygon's unit);
- ``theta`` = ∂V/∂t per YEAR of calendar time, i.e. −∂V/∂T (divide by 365 for "per day",
  Polygon's unit).

Invalid inputs (NaN or infinite values, S ≤ 0, K ≤ 0, T ≤ 0, σ ≤ 0) give NaN, never an exception:
NaN maps to a null in the archive. Expired options (T ≤ 0) are NaN too; intrinsic value is the
caller's business.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import erf, erfcx, ndtr

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

SQRT_2PI = math.sqrt(2.0 * math.pi)
LOG_SQRT_2PI = math.log(SQRT_2PI)
SQRT_2 = math.sqrt(2.0)

MAX_IMPLIED_VOL = 10.0
"""Upper end of the implied-volatility search (1000 %/year); a price needing more gives NaN."""


def _result(x: FloatArray) -> FloatArray:
    # 0-d results come back as numpy scalars, so scalar calls read naturally.
    return x[()] if x.ndim == 0 else x


def _prepare(
    spot: ArrayLike,
    strike: ArrayLike,
    time: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    dividend: ArrayLike,
    is_call: ArrayLike = True,
) -> tuple[Any, ...]:
    """Broadcast inputs (invalid lanes made harmless), d1, d2, the call mask and the validity mask."""
    arrays = [np.asarray(a, dtype=np.float64) for a in (spot, strike, time, vol, rate, dividend)]
    *floats, call = np.broadcast_arrays(*arrays, np.asarray(is_call, dtype=bool))
    s, k, t, v, r, q = floats
    valid = np.isfinite(s) & np.isfinite(k) & np.isfinite(t) & np.isfinite(v)
    valid &= np.isfinite(r) & np.isfinite(q)
    valid &= (s > 0) & (k > 0) & (t > 0) & (v > 0)
    # Invalid lanes are replaced by harmless values and masked back to NaN at the end.
    s, k, t, v = (np.where(valid, a, 1.0) for a in (s, k, t, v))
    r, q = (np.where(valid, a, 0.0) for a in (r, q))
    sqrt_t = np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * sqrt_t)
    d2 = d1 - v * sqrt_t
    return s, k, t, v, r, q, sqrt_t, d1, d2, call, valid


def _masked(x: FloatArray, valid: npt.NDArray[np.bool_]) -> FloatArray:
    return _result(np.where(valid, x, np.nan))


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    time: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
) -> FloatArray:
    """The option's Black-Scholes-Merton value.

    Computed as the out-of-the-money option's value (accurate to full relative precision even
    deep in the wings, see ``_log_otm_call``) plus the discounted intrinsic value for an ITM option.
    """
    s, k, t, v, r, q, sqrt_t, _, _, call, valid = _prepare(spot, strike, time, vol, rate, dividend, is_call)
    sd, kd = s * np.exp(-q * t), k * np.exp(-r * t)
    log_otm, _ = _log_otm_call(np.minimum(sd, kd), np.maximum(sd, kd), v * sqrt_t)
    intrinsic = np.maximum(np.where(call, sd - kd, kd - sd), 0.0)
    return _masked(np.exp(log_otm) + intrinsic, valid)


def delta(
    spot: ArrayLike,
    strike: ArrayLike,
    time: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
) -> FloatArray:
    """∂V/∂S."""
    _, _, t, _, _, q, _, d1, _, call, valid = _prepare(spot, strike, time, vol, rate, dividend, is_call)
    carry = np.exp(-q * t)
    return _masked(np.where(call, carry * ndtr(d1), -carry * ndtr(-d1)), valid)


def _pdf(d: FloatArray) -> FloatArray:
    return np.exp(-0.5 * d * d) / SQRT_2PI


def gamma(
    spot: ArrayLike,
    strike: ArrayLike,
    time: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
) -> FloatArray:
    """∂²V/∂S², the same for calls and puts."""
    s, _, t, v, _, q, sqrt_t, d1, _, _, valid = _prepare(spot, strike, time, vol, rate, dividend)
    return _masked(np.exp(-q * t) * _pdf(d1) / (s * v * sqrt_t), valid)


def vega(
    spot: ArrayLike,
    strike: ArrayLike,
    time: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
) -> FloatArray:
    """∂V/∂σ per 1.00 of volatility, the same for calls and puts."""
    s, _, t, _, _, q, sqrt_t, d1, _, _, valid = _prepare(spot, strike, time, vol, rate, dividend)
    return _masked(s * np.exp(-q * t) * _pdf(d1) * sqrt_t, valid)


def theta(
    spot: ArrayLike,
    strike: ArrayLike,
    time: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
) -> FloatArray:
    """∂V/∂t per year of calendar time (negative for a long option that decays)."""
    s, k, t, v, r, q, sqrt_t, d1, d2, call, valid = _prepare(spot, strike, time, vol, rate, dividend, is_call)
    sd, kd = s * np.exp(-q * t), k * np.exp(-r * t)
    decay = -sd * _pdf(d1) * v / (2.0 * sqrt_t)
    value = np.where(
        call,
        decay - r * kd * ndtr(d2) + q * sd * ndtr(d1),
        decay + r * kd * ndtr(-d2) - q * sd * ndtr(-d1),
    )
    return _masked(value, valid)


# --- implied volatility -------------------------------------------------------------------------
#
# Every option is first turned into the out-of-the-money one by put-call parity (an OTM price is
# pure time value, so nothing is lost to a large intrinsic part). A Black OTM put on (F, K) equals
# an OTM call on (K, F), so the solver only ever sees a call with discounted forward a ≤ strike b.
# It runs a Newton iteration on the LOG of the price in total volatility v = σ√T, which stays well
# scaled deep in the wings, safeguarded by a bracket and bisection, so it cannot diverge.


def _log_otm_call(a: FloatArray, b: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """ln(a·N(d1) − b·N(d2)) and ln(a·φ(d1)) (the log of ∂price/∂v), for a ≤ b and v > 0.

    The textbook difference of two N(·) terms cancels catastrophically in the wings and for small
    v, so each regime gets a form without that cancellation (cf. Jäckel, "Let's be rational").
    """
    x = np.log(a / b)
    d1 = x / v + 0.5 * v
    d2 = d1 - v
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # d1 > 0 > d2: with N(d) = (1 + erf(d/√2))/2 the two erf terms have opposite signs and add.
        central = np.log(0.5 * (a - b) + 0.5 * (a * erf(d1 / SQRT_2) - b * erf(d2 / SQRT_2)))
        # d1 ≤ 0: both N(d) are tiny. Factor out a·exp(-d1²/2) (= b·exp(-d2²/2)) and use the
        # scaled complementary error function, so the log price never underflows.
        wing = np.log(0.5 * a) - 0.5 * d1 * d1 + np.log(erfcx(-d1 / SQRT_2) - erfcx(-d2 / SQRT_2))
    log_price = np.where(d1 > 0, central, wing)
    log_vega = np.log(a) - 0.5 * d1 * d1 - LOG_SQRT_2PI
    return log_price, log_vega


def implied_volatility(
    option_price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    time: ArrayLike,
    is_call: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    *,
    max_vol: float = MAX_IMPLIED_VOL,
    max_iter: int = 100,
) -> FloatArray:
    """The σ whose Black-Scholes-Merton value equals ``option_price``; NaN where none is defined.

    NaN for: invalid inputs (as for ``price``), prices at or outside the no-arbitrage bounds
    (call: max(S·e^-qT − K·e^-rT, 0) < C < S·e^-qT; put: max(K·e^-rT − S·e^-qT, 0) < P < K·e^-rT),
    a time value too small to tell from rounding (of the price, or for an in-the-money option of the
    intrinsic part, i.e. within a few ulps of S·e^-qT + K·e^-rT) or below the smallest normal float,
    a volatility above ``max_vol``, or (never seen in practice) no convergence within ``max_iter``
    steps.
    """
    floats = [np.asarray(a, dtype=np.float64) for a in (option_price, spot, strike, time, rate, dividend)]
    arrays = np.broadcast_arrays(*floats, np.asarray(is_call, dtype=bool))
    shape = arrays[0].shape
    p, s, k, t, r, q, call = (a.ravel() for a in arrays)
    out = np.full(p.shape, np.nan)

    with np.errstate(all="ignore"):
        finite = np.isfinite(p) & np.isfinite(s) & np.isfinite(k) & np.isfinite(t)
        finite &= np.isfinite(r) & np.isfinite(q)
        ok = finite & (s > 0) & (k > 0) & (t > 0) & (p > 0)
        sd = np.where(ok, s * np.exp(-q * t), 1.0)
        kd = np.where(ok, k * np.exp(-r * t), 1.0)
        # Parity: the OTM option's price. For an ITM input, subtract the (discounted) intrinsic part.
        otm_is_call = sd <= kd
        intrinsic = np.where(call, sd - kd, kd - sd)
        itm = intrinsic > 0
        target = np.where(itm, p - intrinsic, p)
        a = np.where(otm_is_call, sd, kd)
        b = np.where(otm_is_call, kd, sd)
        # Rounding must not pose as time value: the input price's own (relative to it), and for an ITM
        # input the intrinsic part's, whose two terms S·e^-qT and K·e^-rT each carry a rounding error
        # relative to S and K, not to the price (with r or q ≠ 0 a price at intrinsic left a residue of
        # ~1e-14 that was solved into an invented volatility). A subnormal price has no relative
        # precision left to solve from.
        eps = np.finfo(np.float64).eps
        noise = 8.0 * eps * p + np.where(itm, 8.0 * eps * (sd + kd), 0.0)
        resolvable = target > noise
        resolvable &= target >= np.finfo(np.float64).tiny
        ok &= resolvable & (target < a)

        idx = np.flatnonzero(ok)
        a, b, target, sqrt_t = a[idx], b[idx], target[idx], np.sqrt(t[idx])
        log_target = np.log(target)
        lo = np.zeros(idx.size)
        hi = max_vol * sqrt_t
        log_hi, _ = _log_otm_call(a, b, hi)
        reachable = log_hi >= log_target
        # Start at the inflection point of price(v), or the ATM approximation when that is 0.
        v = np.clip(
            np.maximum(np.sqrt(2.0 * np.abs(np.log(a / b))), SQRT_2PI * target / np.sqrt(a * b)),
            1e-6 * sqrt_t,
            hi,
        )
        converged = np.zeros(idx.size, dtype=bool)
        active = np.flatnonzero(reachable)
        for _ in range(max_iter):
            if active.size == 0:
                break
            va = v[active]
            log_p, log_vega = _log_otm_call(a[active], b[active], va)
            err = log_p - log_target[active]
            done = np.abs(err) <= 1e-13
            converged[active[done]] = True
            above = err > 0
            hi[active] = np.where(above, va, hi[active])
            lo[active] = np.where(above, lo[active], va)
            # Newton on ln(price): Δv = −err / (∂ln price/∂v) = −err · price / vega.
            step = -err * np.exp(log_p - log_vega)
            nxt = va + step
            la, ha = lo[active], hi[active]
            bad = ~np.isfinite(nxt) | (nxt <= la) | (nxt >= ha)
            nxt = np.where(bad, 0.5 * (la + ha), nxt)
            tiny_bracket = (ha - la) <= 4.0 * np.finfo(np.float64).eps * ha
            converged[active[tiny_bracket]] = True
            v[active] = np.where(done, va, nxt)
            active = active[~(done | tiny_bracket)]

        sigma = np.where(reachable & converged, v / sqrt_t, np.nan)
    out[idx] = sigma
    return _result(out.reshape(shape))
