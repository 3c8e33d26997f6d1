"""Invoice rules that need no database."""

from __future__ import annotations


def invoice_number(year: int, sequence: int) -> str:
    """One continuous chronological sequence per year, e.g. 2026-000123.

    CGI annexe II art. 242 nonies A: a unique number, in a continuous chronological sequence; separate
    yearly series are allowed (BOI-TVA-DECLA-30-20-20-10, § 290).
    """
    if sequence < 1:
        raise ValueError(f"invoice sequence starts at 1, got {sequence}")
    return f"{year}-{sequence:06d}"
