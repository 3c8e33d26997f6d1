"""The EN 16931 business rules that apply to our invoices and credit notes, checked on the CII XML (lxml XPath).

The Factur-X XSD checks the shape; these rules check the meaning: totals that add up (BR-CO-10..16), exempt VAT
stated as such (BR-E-*), the payee's account for a credit transfer (BR-61, CII-SR-470), mandatory terms (BR-01..27),
two decimals (BR-DEC-*). Each rule is one function named after its id, with the standard's wording; `violations`
runs them all. Rules prefixed RF- are this product's own (French law, not EN 16931). Rules about what we never
emit (allowances per line, other VAT categories, cards, direct debit) are not here: the official validation
artefacts (ConnectingEurope/eInvoicing-EN16931, CII) stay the reference, run outside this repository.
"""

from __future__ import annotations

from workflow.adapters.en16931 import amounts, document
from workflow.adapters.en16931.cii import NS, RULES, Cii, Violation
from workflow.domain.errors import InvoiceRulesError

__all__ = ["NS", "RULES", "Violation", "amounts", "document", "require_compliant", "violations"]


def violations(xml: bytes) -> list[Violation]:
    """Every rule the document breaks, in the order of their ids as listed."""
    cii = Cii(xml)
    return [Violation(rule_id, text) for rule_id, (text, check) in RULES.items() if not check(cii)]


def require_compliant(xml: bytes, number: str) -> None:
    """Refuses a document that breaks a rule (InvoiceRulesError): an invoice a platform would reject is not issued."""
    broken = violations(xml)
    if broken:
        raise InvoiceRulesError(number, [v.rule for v in broken])
