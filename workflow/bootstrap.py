"""Wiring in one place: settings in, the dependencies every handler receives out.

Nothing connects at import time; `bootstrap()` builds the engine, clock and the day's schedule once per process.
The catalogue itself is read from the database in each unit of work, so a change reaches every consumer at once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from workflow.adapters.clocks import clock_from_spec
from workflow.adapters.data_files import load_catalogue, load_reference_rates
from workflow.adapters.document_store import DocumentStore
from workflow.adapters.einvoicing import EInvoicingPlatform
from workflow.adapters.einvoicing.chorus_api import ChorusProApi
from workflow.adapters.einvoicing.file_drop import FileDropChorusPro
from workflow.adapters.mailroom import Mailroom
from workflow.domain.catalogue import Schedule
from workflow.domain.clock import Clock
from workflow.domain.invoice import Seller
from workflow.domain.payment_rules import ReferenceRates
from workflow.messaging.topology import ALL, Topology
from workflow.ops.evidence import evidence_pdf
from workflow.persistence.db import make_engine, session_factory
from workflow.settings import Settings

if TYPE_CHECKING:
    from workflow.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Deps:
    settings: Settings
    sessions: sessionmaker[Session]
    clock: Clock
    schedule: Schedule
    topology: Topology
    documents: DocumentStore
    chorus: EInvoicingPlatform
    seller: Seller
    rates: ReferenceRates
    mail: Mailroom
    evidence: Callable[[UnitOfWork, str], bytes]  # a session's evidence pack as a PDF (workflow.ops.evidence)


def seller_of(settings: Settings) -> Seller:
    return Seller(
        name=settings.seller_name, street=settings.seller_street, postal_code=settings.seller_postal_code,
        city=settings.seller_city, siret=settings.seller_siret, activity_number=settings.seller_activity_number,
        activity_region=settings.seller_activity_region, email=settings.seller_email, phone=settings.seller_phone,
        iban=settings.seller_iban, bic=settings.seller_bic)


class PlatformSettingsError(ValueError):
    """REGFLOW_CHORUS_MODE=api without the PISTE application's or the technical account's credentials."""


def platform_of(settings: Settings, clock: Clock) -> EInvoicingPlatform:
    """The e-invoicing platform the settings name: the file drop (local runs), or Chorus Pro's API on PISTE with
    credentials from the environment only."""
    if settings.chorus_mode == "file-drop":
        return FileDropChorusPro(settings.chorus_drop_dir)
    missing = [f"REGFLOW_{name.upper()}" for name in ("chorus_client_id", "chorus_client_secret", "chorus_login",
                                                      "chorus_password") if not getattr(settings, name)]
    if missing or settings.chorus_client_secret is None or settings.chorus_password is None:
        raise PlatformSettingsError(f"REGFLOW_CHORUS_MODE=api needs {', '.join(missing)}")
    return ChorusProApi(oauth_url=settings.chorus_oauth_url, api_url=settings.chorus_api_url,
                        client_id=settings.chorus_client_id or "",
                        client_secret=settings.chorus_client_secret.get_secret_value(),
                        login=settings.chorus_login or "", password=settings.chorus_password.get_secret_value(),
                        timeout=settings.chorus_timeout_seconds, now=clock.now)


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None, role: str = ALL) -> Deps:
    """`role` (a consumer's name, `relay`...) limits what the process declares on the broker when
    `REGFLOW_BROKER_DECLARE=own`."""
    settings = settings or Settings()
    schedule = load_catalogue(settings.catalogue_path).schedule
    seller = seller_of(settings)
    sessions = session_factory(make_engine(settings.database_url))
    clock = clock or clock_from_spec(settings.clock)
    return Deps(
        settings=settings,
        sessions=sessions,
        clock=clock,
        schedule=schedule,
        topology=Topology(settings.namespace, scope=role if settings.broker_declare == "own" else ALL,
                          queue_type=settings.queue_type),
        documents=DocumentStore(settings.documents_dir),
        chorus=platform_of(settings, clock),
        seller=seller,
        rates=load_reference_rates(settings.ecb_rates_path),
        mail=Mailroom(settings, seller, schedule),
        evidence=evidence_pdf(clock, schedule, settings.attendance_present_minutes),
    )


# A handler takes the message, its payload and the unit of work, then by keyword only the dependencies it
# names (`clock`, `mail`...: the fields of `Deps`), as cosmicpython's `inject_dependencies`. `catalogue` is
# the one read per unit of work: the catalogue as the database holds it when the message is handled.
CATALOGUE = "catalogue"
DEPENDENCIES = frozenset({*(f.name for f in fields(Deps)), CATALOGUE})


@functools.cache
def wanted_dependencies(handler: Callable[..., Any]) -> tuple[str, ...]:
    """The dependencies a handler's signature names after (message, payload, uow); an unknown name fails
    at start-up, not on the first message."""
    names = tuple(inspect.signature(handler).parameters)[3:]
    unknown = [n for n in names if n not in DEPENDENCIES and n != "deps"]
    if unknown:
        raise TypeError(f"{handler.__qualname__} asks for {unknown}: a handler may name only {sorted(DEPENDENCIES)}")
    return names


def inject_dependencies(handler: Callable[..., Any], deps: Deps) -> Callable[..., Any]:
    """The handler with what its signature names bound, called as handler(message, payload, uow)."""
    names = wanted_dependencies(handler)
    bound = {name: deps if name == "deps" else getattr(deps, name) for name in names if name != CATALOGUE}
    if CATALOGUE not in names:
        return functools.partial(handler, **bound)

    def with_catalogue(message: Any, payload: Any, uow: Any) -> Any:
        return handler(message, payload, uow, catalogue=uow.catalogue.current(deps.schedule), **bound)

    return with_catalogue
