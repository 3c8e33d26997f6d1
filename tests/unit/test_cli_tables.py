"""The one table printer of the command line (regflow/cli/output.py `print_table`), as `regflow payments`,
`invoices`, `interest-claims`, `bpf` and `retention report` show their lists."""

from __future__ import annotations

import pytest

from regflow.cli.finance import PAYMENT_TABLE
from regflow.cli.interest_claims import TABLE as CLAIM_TABLE
from regflow.cli.output import print_table


def test_a_payment_without_invoice_nor_author_shows_dashes_and_its_anomalies_joined(
        capsys: pytest.CaptureFixture[str]) -> None:
    print_table(PAYMENT_TABLE, [
        {"payment_id": "p-1", "invoice": None, "amount": "10.00", "received_on": "2024-01-02", "means": "transfer",
         "recorded_by": None, "anomalies": []},
        {"payment_id": "p-2", "invoice": "2024-000001", "amount": "1190.00", "received_on": "2024-01-02",
         "means": "transfer", "recorded_by": "marie", "anomalies": ["overpaid", "unknown_invoice"]}])
    assert capsys.readouterr().out.splitlines() == [
        "payment                  invoice          amount received   means                by         anomalies",
        "p-1                      -                 10.00 2024-01-02 transfer             -          -",
        "p-2                      2024-000001     1190.00 2024-01-02 transfer             marie      overpaid, "
        "unknown_invoice"]


def test_a_cell_with_escape_sequences_and_line_breaks_neither_acts_nor_moves_the_columns(
        capsys: pytest.CaptureFixture[str]) -> None:
    hostile = {"number": "INT-2023-\x1b[2J000001", "status": "open", "invoice": "2023-0\n00001", "days_late": 12,
               "percent": "12.15", "interest": "11.74", "indemnity": "40.00", "total": "51.74", "paid": "0.00",
               "payable_by": "2023-09-01", "client": "\u202eMairie\x9b31m"}
    print_table(CLAIM_TABLE, [hostile])
    header, line = capsys.readouterr().out.splitlines()
    assert line == ("INT-2023-000001    open    2023-0 00001   12  12.15     11.74   40.00    51.74     0.00 "
                    "2023-09-01  Mairie")
    assert header.index("client") == line.index("Mairie")
