"""The project Artifacts sub-tab."""
