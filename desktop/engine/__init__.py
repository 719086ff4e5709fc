"""The automation engine: event detection, conditions, dispatch. No Qt."""
