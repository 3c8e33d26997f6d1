"""The Chorus Pro adapter against a Chorus Pro of the tests' own speaking the documented API (PISTE token,
`cpro-account`, `deposer/flux`, `rechercher/fournisseur`, `recycler`, `structures/v1/*`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.integration.chorus_pro_server import ACCOUNT, CLIENT_ID, CLIENT_SECRET, Platform, chorus_pro_server
from workflow.adapters.einvoicing import ChorusDeposit
from workflow.adapters.einvoicing.chorus_api import ChorusProApi
from workflow.domain.einvoicing import BuyerRequirements, PlatformStatus
from workflow.domain.errors import PlatformRefusedError, PlatformUnavailableError

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
DEPOSIT = ChorusDeposit("2026-000042", "22330001300016", "SERV-FORMATION", "EJ-2026-17")
PDF = b"%PDF-1.7 Factur-X"


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def api(platform: Platform) -> Iterator[ChorusProApi]:
    with chorus_pro_server(platform) as url:
        login, password = ACCOUNT.split(":")
        yield ChorusProApi(oauth_url=f"{url}/api/oauth/token", api_url=url, client_id=CLIENT_ID,
                           client_secret=CLIENT_SECRET, login=login, password=password, timeout=2,
                           now=lambda: NOW)


def test_a_deposit_accepted_gets_the_flow_number_and_the_platform_then_finds_it_by_invoice_number(
        api: ChorusProApi, platform: Platform) -> None:
    assert api.deposited(DEPOSIT.invoice_number) is None
    flow = api.deposit(DEPOSIT, PDF)
    assert flow == platform.invoices["2026-000042"]["numeroFluxDepot"]
    [(_, sent)] = [c for c in platform.calls if c[0] == "/cpro/factures/v1/deposer/flux"]
    assert sent == {"fichierFlux": "JVBERi0xLjcgRmFjdHVyLVg=", "nomFichier": "facture-2026-000042.pdf",
                    "syntaxeFlux": "IN_DP_E2_CII_FACTURX", "avecSignature": False}
    assert api.deposited("2026-000042") == flow
    found = api.status("2026-000042")
    assert found is not None
    assert (found.status, found.at) == (PlatformStatus.DEPOSEE, NOW)
    assert platform.tokens_issued == 1  # one token for all those calls, kept until it expires


def test_a_flow_the_platform_refuses_raises_its_code_and_words(api: ChorusProApi, platform: Platform) -> None:
    platform.refuse_flow = (20107, "numéro de facture déjà déposé")
    with pytest.raises(PlatformRefusedError) as refused:
        api.deposit(DEPOSIT, PDF)
    assert (refused.value.code, refused.value.label) == ("20107", "numéro de facture déjà déposé")
    assert "numéro de facture déjà déposé" in (refused.value.reason_fr or "")
    assert refused.value.permanent  # parked, not retried: the same flow gets the same answer


def test_an_expired_token_is_renewed_once_and_the_call_goes_through(api: ChorusProApi, platform: Platform) -> None:
    api.deposit(DEPOSIT, PDF)
    platform.valid_tokens.clear()  # the gateway no longer accepts the token it gave
    found = api.status(DEPOSIT.invoice_number)
    assert found is not None
    assert found.status == PlatformStatus.DEPOSEE
    assert platform.tokens_issued == 2


def test_a_5xx_is_the_platform_unavailable_and_retried(api: ChorusProApi, platform: Platform) -> None:
    platform.fail_next = [503]
    with pytest.raises(PlatformUnavailableError) as unavailable:
        api.deposit(DEPOSIT, PDF)
    assert unavailable.value.permanent is False
    assert "2026-000042" not in platform.invoices
    assert api.deposit(DEPOSIT, PDF)  # the retry deposits it


def test_a_platform_that_does_not_answer_in_time_is_unavailable(platform: Platform) -> None:
    platform.stall = threading.Event()
    with chorus_pro_server(platform) as url:
        login, password = ACCOUNT.split(":")
        api = ChorusProApi(oauth_url=f"{url}/api/oauth/token", api_url=url, client_id=CLIENT_ID,
                           client_secret=CLIENT_SECRET, login=login, password=password, timeout=0.2,
                           now=lambda: NOW)
        try:
            with pytest.raises(PlatformUnavailableError, match="did not answer"):
                api.deposit(DEPOSIT, PDF)
        finally:
            platform.stall.set()


def test_wrong_credentials_are_a_refusal_not_a_retry(platform: Platform) -> None:
    with chorus_pro_server(platform) as url:
        api = ChorusProApi(oauth_url=f"{url}/api/oauth/token", api_url=url, client_id=CLIENT_ID,
                           client_secret="wrong", login="x", password="y", timeout=2, now=lambda: NOW)
        with pytest.raises(PlatformRefusedError, match="invalid_client"):
            api.deposit(DEPOSIT, PDF)


def test_the_buyer_s_requirements_come_from_its_structure_and_are_cached(api: ChorusProApi, platform: Platform
                                                                       ) -> None:
    platform.structures["22330001300016"] = {"codeServiceDoitEtreRenseigne": True,
                                             "numeroEJDoitEtreRenseigne": True}
    assert api.requirements("22330001300016") == BuyerRequirements(service_code=True, commitment_number=True)
    api.requirements("22330001300016")
    assert platform.paths().count("/cpro/structures/v1/consulter") == 1
    with pytest.raises(PlatformRefusedError):
        api.requirements("11111111111111")


def test_an_invoice_to_recycle_is_sent_again_under_its_number_with_the_new_routing(
        api: ChorusProApi, platform: Platform) -> None:
    api.deposit(DEPOSIT, PDF)
    platform.set_status("2026-000042", "A_RECYCLER")
    found = api.status("2026-000042")
    assert found is not None
    assert found.status == PlatformStatus.A_RECYCLER
    api.recycle("2026-000042", "SERV-2", "EJ-9")
    sent = platform.invoices["2026-000042"]["recycled_with"]
    assert sent["destinataire"] == {"codeServiceExecutant": "SERV-2"}
    assert sent["reference"] == {"numeroBonCommande": "EJ-9"}
    again = api.status("2026-000042")
    assert again is not None
    assert again.status == PlatformStatus.DEPOSEE
