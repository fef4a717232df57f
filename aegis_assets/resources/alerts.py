"""Where alerts go: Slack, or the log."""

from __future__ import annotations

import dagster as dg

from aegis_core.alerts import AlertSender, LogSender, SlackSender


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go: Slack when a token and channel are configured, the log otherwise."""

    slack_token: str | None = None
    slack_channel: str | None = None
    slack_base_url: str = "https://slack.com/api/"
    webserver_url: str = "http://127.0.0.1:3000"

    def sender(self, logger=None) -> AlertSender:
        if self.slack_token and self.slack_channel:
            return SlackSender(self.slack_token, self.slack_channel, self.slack_base_url)
        return LogSender(logger)

    def run_link(self, run_id: str) -> str:
        return f"{self.webserver_url.rstrip('/')}/runs/{run_id}"
