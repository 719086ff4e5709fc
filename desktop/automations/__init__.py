"""The project's Automations page: the automation list and the execution history."""
