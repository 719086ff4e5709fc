"""Ready-made webhook payload templates (SPEC §5): `${variables}` are filled in when it fires."""
from __future__ import annotations

GITHUB_DISPATCH = """{
  "event_type": "${event_type}",
  "client_payload": {
    "automation": "${automation_name}",
    "project": "${project_name}",
    "event_author": "${event_author}",
    "run_url": "${run_url}"
  }
}"""

TEAMS_CARD = """{
  "type": "message",
  "attachments": [{
    "contentType": "application/vnd.microsoft.card.adaptive",
    "content": {
      "type": "AdaptiveCard",
      "version": "1.4",
      "body": [
        {"type": "TextBlock", "weight": "Bolder", "text": "${automation_name}"},
        {"type": "TextBlock", "wrap": true, "text": "${event_type} in ${project_name}"}
      ]
    }
  }]
}"""

SLACK_BLOCKS = """{
  "text": "${automation_name}: ${event_type}",
  "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": "${automation_name}"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*${event_type}* in ${project_name}"}}
  ]
}"""

DISCORD = """{
  "username": "Runbell",
  "content": "${automation_name}: ${event_type} in ${project_name}"
}"""

TEMPLATES: dict[str, str] = {
    "GitHub repository_dispatch": GITHUB_DISPATCH,
    "Microsoft Teams card": TEAMS_CARD,
    "Slack blocks": SLACK_BLOCKS,
    "Discord": DISCORD,
}
DEFAULT_PAYLOAD = GITHUB_DISPATCH
