"""The CII XML as the rules read it, and the registry of the rules (one function per rule id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}
DOC = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
TRADE = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
SELLER = f"{TRADE}/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
BUYER = f"{TRADE}/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty"
SETTLEMENT = f"{TRADE}/ram:ApplicableHeaderTradeSettlement"
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
LINES = f"{TRADE}/ram:IncludedSupplyChainTradeLineItem"
CREDIT_TRANSFERS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans[ram:TypeCode='30' or ram:TypeCode='58']"
CREDIT_NOTE_TYPES = {"381", "261", "262", "296", "308", "396", "420", "458", "532"}  # UNTDID 1001 credit notes
# An XML we built ourselves, but parsed as any XML should be: no entities, no network, no huge trees.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Violation:
    rule: str
    text: str


class Cii:
    """The XML with the few questions the rules ask of it."""

    def __init__(self, xml: bytes) -> None:
        self.root = etree.fromstring(xml, _PARSER)

    def nodes(self, path: str, context: etree._Element | None = None) -> list[etree._Element]:
        found = (self.root if context is None else context).xpath(path, namespaces=NS)
        return list(found) if isinstance(found, list) else []

    def text(self, path: str, context: etree._Element | None = None) -> str:
        return str((self.root if context is None else context).xpath(f"normalize-space({path})", namespaces=NS))

    def amount(self, path: str, context: etree._Element | None = None) -> Decimal:
        """The amount at `path`, 0 when absent (an optional total), NaN when it is no number (fails every sum)."""
        value = self.text(path, context)
        try:
            return Decimal(value) if value else Decimal(0)
        except InvalidOperation:
            return Decimal("NaN")

    def amounts(self, path: str) -> list[Decimal]:
        return [self.amount(".", node) for node in self.nodes(path)]

    def present(self, path: str, context: etree._Element | None = None) -> bool:
        return self.text(path, context) != ""

    def exempt_lines(self) -> list[etree._Element]:
        return self.nodes(f"{LINES}[ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode='E']")

    def exempt_breakdowns(self) -> list[etree._Element]:
        return self.nodes(f"{SETTLEMENT}/ram:ApplicableTradeTax[ram:CategoryCode='E']")


Rule = Callable[[Cii], bool]
RULES: dict[str, tuple[str, Rule]] = {}


def rule(rule_id: str, text: str) -> Callable[[Rule], Rule]:
    def register(check: Rule) -> Rule:
        RULES[rule_id] = (text, check)
        return check
    return register
