"""Tortoise models, one module per table group, and the settings every process shares."""
