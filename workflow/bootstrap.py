"""Wiring in one place: settings in, the dependencies every handler receives out.

Nothing connects at import time; `bootstrap()` builds the engine, clock and catalogue once per process.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters.clocks import clock_from_spec
from workflow.adapters.data_files import load_catalogue, load_reference_rates
from workflow.adapters.document_store import ChorusPro, DocumentStore, FileDropChorusPro
from workflow.adapters.mailroom import Mailroom
from workflow.domain.catalogue import Catalogue
from workflow.domain.clock import Clock
from workflow.domain.invoice import Seller
from workflow.domain.payment_rules import ReferenceRates
from workflow.messaging.topology import ALL, Topology
from workflow.persistence.db import make_engine, session_factory
from workflow.settings import Settings


@dataclass(frozen=True)
class Deps:
    settings: Settings
    sessions: sessionmaker[Session]
    clock: Clock
    catalogue: Catalogue
    topology: Topology
    documents: DocumentStore
    chorus: ChorusPro
    seller: Seller
    rates: ReferenceRates
    mail: Mailroom


def seller_of(settings: Settings) -> Seller:
    return Seller(
        name=settings.seller_name, street=settings.seller_street, postal_code=settings.seller_postal_code,
        city=settings.seller_city, siret=settings.seller_siret, activity_number=settings.seller_activity_number,
        activity_region=settings.seller_activity_region, email=settings.seller_email, phone=settings.seller_phone,
        iban=settings.seller_iban)


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None, role: str = ALL) -> Deps:
    """`role` (a consumer's name, `relay`...) limits what the process declares on the broker when
    `REGFLOW_BROKER_DECLARE=own`."""
    settings = settings or Settings()
    catalogue = load_catalogue(settings.catalogue_path)
    seller = seller_of(settings)
    return Deps(
        settings=settings,
        sessions=session_factory(make_engine(settings.database_url)),
        clock=clock or clock_from_spec(settings.clock),
        catalogue=catalogue,
        topology=Topology(settings.namespace, scope=role if settings.broker_declare == "own" else ALL),
        documents=DocumentStore(settings.documents_dir),
        chorus=FileDropChorusPro(settings.chorus_drop_dir),
        seller=seller,
        rates=load_reference_rates(settings.ecb_rates_path),
        mail=Mailroom(settings, seller, catalogue),
    )
