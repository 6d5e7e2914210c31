"""Loaders: one dlt pipeline package per source system, plus the shared runner."""
