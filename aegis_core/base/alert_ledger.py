"""Alert once: the one ledger of what a sensor has alerted, and the one rule for a send that failed.

Every alerting sensor keeps an ``AlertLedger`` in its cursor and sends through ``deliver``:

- an alert whose key the ledger holds is not sent again (the ledger is bounded: the oldest keys go
  first, long after their problem stopped being reported);
- a send that failed is *not* recorded as sent: the next tick tries it again. The sends after it in
  the same tick are not tried (the channel is down, or this alert is refused: either way the next
  tick decides);
- the retries are bounded: after ``max_failed_sends`` failed sends of the same key the ledger gives
  up on it, records it as settled and says so, so one alert the channel refuses for good cannot
  block every later alert. The caller logs such an alert in full.

The ledger serialises to a small JSON document (``{"alerted": [...], "failed": {...}}``) that a sensor
merges into its cursor; a cursor written before failures were counted (``alerted`` only) still loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aegis_core.alerts import Alert, AlertError, AlertSender

MAX_KEYS = 2000
MAX_FAILED_SENDS = 10


class AlertLedger:
    """The keys already alerted (oldest first, at most ``limit``) and the failed sends per key."""

    def __init__(
        self,
        sent: Iterable[str] = (),
        failures: Mapping[str, int] | None = None,
        *,
        limit: int = MAX_KEYS,
        max_failed_sends: int = MAX_FAILED_SENDS,
    ) -> None:
        if limit < 1 or max_failed_sends < 1:
            raise ValueError(
                f"limit and max_failed_sends must be at least 1 (got {limit}, {max_failed_sends})"
            )
        self.limit, self.max_failed_sends = limit, max_failed_sends
        self._sent: dict[str, None] = {}
        self._failures: dict[str, int] = {}
        self.mark_sent(*sent)
        for key, count in (failures or {}).items():
            self._failures[str(key)] = int(count)
        self._trim()

    def __contains__(self, key: str) -> bool:
        return key in self._sent

    def __iter__(self) -> Iterator[str]:
        """The keys alerted, oldest first."""
        return iter(list(self._sent))

    def failed_sends(self, key: str) -> int:
        return self._failures.get(key, 0)

    def mark_sent(self, *keys: str) -> None:
        """Record ``keys`` as alerted (sent here, or by someone the caller trusts to have sent them)."""
        for key in keys:
            self._sent.pop(key, None)
            self._sent[key] = None
            self._failures.pop(key, None)
        self._trim()

    def record_failure(self, keys: Sequence[str]) -> bool:
        """Count one failed send of ``keys``; True when that was the last one allowed: the keys are
        then settled (never retried) and the caller must say so."""
        counts = [self._failures.get(k, 0) + 1 for k in keys]
        if max(counts, default=0) >= self.max_failed_sends:
            self.mark_sent(*keys)
            return True
        for key, count in zip(keys, counts, strict=True):
            self._failures.pop(key, None)
            self._failures[key] = count
        self._trim()
        return False

    def forget(self, keys: Iterable[str]) -> None:
        """The problems behind ``keys`` are resolved: a new failure alerts again."""
        for key in keys:
            self._sent.pop(key, None)
            self._failures.pop(key, None)

    def _trim(self) -> None:
        for table in (self._sent, self._failures):
            while len(table) > self.limit:
                del table[next(iter(table))]

    def to_doc(self) -> dict[str, Any]:
        return {"alerted": list(self._sent), "failed": dict(self._failures)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None, **options: int) -> AlertLedger:
        """The ledger of a cursor document; raises ``ValueError``/``TypeError`` for a malformed one."""
        doc = doc or {}
        sent, failed = doc.get("alerted") or (), doc.get("failed") or {}
        if isinstance(sent, str) or not isinstance(failed, Mapping):
            raise TypeError("alert ledger: 'alerted' must be a list of keys and 'failed' an object")
        return cls((str(k) for k in sent), failed, **options)

    def dumps(self) -> str:
        return json.dumps(self.to_doc())

    @classmethod
    def loads(cls, text: str | None, **options: int) -> AlertLedger:
        return cls.from_doc(json.loads(text) if text else None, **options)


@dataclass
class Delivery:
    """What one ``deliver`` did: sent, failed (retried next tick), given up, not tried this tick."""

    sent: list[Alert] = field(default_factory=list)
    failed: list[tuple[Alert, AlertError]] = field(default_factory=list)
    given_up: list[tuple[Alert, AlertError]] = field(default_factory=list)
    not_tried: list[Alert] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Nothing is left for the next tick (every alert sent, already sent or given up)."""
        return not self.failed and not self.not_tried

    def notes(self) -> list[str]:
        """Short phrases for a sensor's skip reason, about what did not go out."""
        out = [f"alert not sent ({e}); retrying on the next tick" for _, e in self.failed]
        out += [
            f"alert {a.key} given up after repeated failed sends ({e}); see the log" for a, e in self.given_up
        ]
        if self.not_tried:
            out.append(f"{len(self.not_tried)} more alert(s) wait for the next tick")
        return out


def deliver(
    alerts: Iterable[Alert],
    sender: AlertSender,
    ledger: AlertLedger,
    *,
    keys_of: Callable[[Alert], Sequence[str]] | None = None,
) -> Delivery:
    """Send each alert whose keys the ledger does not all hold, and record it: the one rule above.

    ``keys_of`` names the ledger keys an alert stands for (by default its own key; one alert may
    cover several problems, e.g. several missed windows)."""
    keys_of = keys_of or (lambda a: (a.key,))
    out = Delivery()
    pending = list(alerts)
    for i, alert in enumerate(pending):
        keys = list(keys_of(alert))
        if all(k in ledger for k in keys):
            continue
        try:
            sender.send(alert)
        except AlertError as exc:
            if ledger.record_failure(keys):
                out.given_up.append((alert, exc))
                continue
            out.failed.append((alert, exc))
            out.not_tried = [a for a in pending[i + 1 :] if not all(k in ledger for k in keys_of(a))]
            break
        ledger.mark_sent(*keys)
        out.sent.append(alert)
    return out
