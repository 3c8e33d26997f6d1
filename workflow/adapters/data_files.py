"""Loaders of the data files shipped in `workflow/data/` (or named by a setting): the catalogue and the
ECB reference rates. The domain holds their shapes; reading a file is an adapter's business."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from workflow.domain.catalogue import Catalogue
from workflow.domain.payment_rules import RateChange, ReferenceRates

DATA = Path(__file__).parents[1] / "data"
DEFAULT_CATALOGUE = DATA / "catalogue.json"
DEFAULT_ECB_RATES = DATA / "ecb_rates.json"


def load_catalogue(path: Path | None = None) -> Catalogue:
    return Catalogue.model_validate_json((path or DEFAULT_CATALOGUE).read_text(encoding="utf-8"))


def load_reference_rates(path: Path | None = None) -> ReferenceRates:
    data = json.loads((path or DEFAULT_ECB_RATES).read_text(encoding="utf-8"))
    return ReferenceRates(tuple(sorted(
        (RateChange(date.fromisoformat(r["effective_on"]), Decimal(r["percent"])) for r in data["rates"]),
        key=lambda c: c.effective_on)))
