"""AIVM package."""
