"""Naive reference implementations the engine is checked against."""
