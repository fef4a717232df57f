"""Request statistics of the client, for run metadata and progress lines."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RequestStats:
    """Counters of one call (or, on the client, of its whole life).

    ``requests`` counts attempts sent (retries included); ``retries`` counts retries by reason
    (``429``, ``5xx``, ``timeout``, ``connect``, ``disconnect``, ``truncated``, ``invalid_json``);
    ``bytes_received`` counts body bytes as they came over the wire.
    """

    requests: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    bytes_received: int = 0
    pages: int = 0
    contracts: int = 0
    contracts_dropped: int = 0
    rate_limited_s: float = 0.0
    # Contracts rejected at the door (aegis_core.ldas.validation), by reason and by symbol.
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_symbols: Counter[str] = field(default_factory=Counter)

    def reject(self, symbol: str, reasons: dict[str, int]) -> None:
        self.rejected.update(reasons)
        self.rejected_symbols[symbol] += sum(reasons.values())
        self.contracts_dropped += sum(reasons.values())

    @property
    def retries_total(self) -> int:
        return sum(self.retries.values())

    def add(self, other: RequestStats) -> None:
        self.requests += other.requests
        self.retries.update(other.retries)
        self.bytes_received += other.bytes_received
        self.pages += other.pages
        self.contracts += other.contracts
        self.contracts_dropped += other.contracts_dropped
        self.rate_limited_s += other.rate_limited_s
        self.rejected.update(other.rejected)
        self.rejected_symbols.update(other.rejected_symbols)

    def as_metadata(self) -> dict[str, int | float | dict[str, int]]:
        """Plain values, ready for Dagster metadata or a log line."""
        return {
            "requests": self.requests,
            "retries": self.retries_total,
            "retries_by_reason": dict(sorted(self.retries.items())),
            "bytes_received": self.bytes_received,
            "pages": self.pages,
            "contracts": self.contracts,
            "contracts_dropped": self.contracts_dropped,
            "rate_limited_s": round(self.rate_limited_s, 3),
            "contracts_rejected": dict(sorted(self.rejected.items())),
            "contracts_rejected_by_symbol": dict(sorted(self.rejected_symbols.items())),
        }
