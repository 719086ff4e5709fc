"""Team Settings: members, Slack integrations and secrets."""
