"""ews package."""
