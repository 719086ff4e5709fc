"""The create/edit automation wizard (Event → Action → Details)."""
