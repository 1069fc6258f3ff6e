"""Checks for lesson 00: a first exercise, and its question."""
from __future__ import annotations

from .verdict import Question

QUESTIONS: dict[str, Question] = {}
