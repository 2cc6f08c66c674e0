"""Registers the mock drivers."""
