"""Alerts: what an operator is told, how it is worded for Slack, and how it is sent.

An ``Alert`` carries a stable ``key`` naming the problem; ``aegis_core.base.alert_ledger`` remembers the
keys already sent so the same problem never alerts twice. Without Slack configured, alerts go to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("aegis.alerts")

_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


@dataclass(frozen=True)
class Alert:
    key: str
    title: str
    severity: str  # critical | warning | info
    reason: str
    fields: dict[str, str] = field(default_factory=dict)
    link: str | None = None

    @property
    def text(self) -> str:
        """The plain-text form (Slack notification text, log line)."""
        parts = [f"[{self.severity.upper()}] {self.title}: {self.reason}"]
        parts += [f"{k}={v}" for k, v in self.fields.items()]
        if self.link:
            parts.append(self.link)
        return " | ".join(parts)

    def blocks(self) -> list[dict]:
        facts = "\n".join(f"*{k}:* {v}" for k, v in self.fields.items())
        body = f"{_ICON.get(self.severity, '')} *{self.title}* ({self.severity})\n{self.reason}"
        blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]
        if facts:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": facts}})
        if self.link:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"<{self.link}|Open in Dagster>"}],
                }
            )
        return blocks


class AlertError(RuntimeError):
    pass


class AlertSender(Protocol):
    def send(self, alert: Alert) -> None: ...


class LogSender:
    """Where Slack is not configured: the alert is a log line (WARNING, or ERROR when critical)."""

    def __init__(self, logger: logging.Logger | None = None):
        self._log = logger or log

    def send(self, alert: Alert) -> None:
        self._log.log(
            logging.ERROR if alert.severity == "critical" else logging.WARNING, "ALERT %s", alert.text
        )


class SlackSender:
    """Posts to a Slack channel through the Web API (``chat.postMessage``)."""

    def __init__(
        self,
        token: SecretStr | str,
        channel: str,
        base_url: str = "https://slack.com/api/",
        timeout_s: float = 10.0,
    ):
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._client = WebClient(token=secret, base_url=base_url, timeout=int(timeout_s))
        self.channel = channel

    def __repr__(self) -> str:
        return f"SlackSender(channel={self.channel!r})"

    def send(self, alert: Alert) -> None:
        try:
            self._client.chat_postMessage(channel=self.channel, text=alert.text, blocks=alert.blocks())
        except SlackApiError as exc:
            raise AlertError(f"Slack refused the alert {alert.key!r}: {exc.response.get('error')}") from None
        except Exception as exc:  # network errors: say what failed without the client's internals
            raise AlertError(f"Slack unreachable for alert {alert.key!r}: {type(exc).__name__}") from None
