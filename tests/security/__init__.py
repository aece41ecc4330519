"""Security tests: PHI never in logs or metrics, secrets never shown, event-time rule."""
