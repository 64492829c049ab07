"""Queries and commands that JSON routes and HTML pages both call (keyword-only functions)."""
