"""Derived analytics (contract §6): Black-Scholes, gamma exposure, ATM IV and IV rank."""

from aegis_core.analytics.gex import GexParams, GexResult, NonFiniteGexError, gex_summary
from aegis_core.analytics.iv import AtmIvResult, IvRankResult, atm_iv, iv_rank

__all__ = [
    "AtmIvResult",
    "GexParams",
    "GexResult",
    "IvRankResult",
    "NonFiniteGexError",
    "atm_iv",
    "gex_summary",
    "iv_rank",
]
