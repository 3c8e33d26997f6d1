"""Chorus Pro's API through the PISTE gateway (AIFE), from its published API (PISTE catalogue, APIs "Factures",
"Transverses", "Structures" v1):

- OAuth2 client credentials: POST `chorus_oauth_url` form `grant_type=client_credentials&client_id&client_secret
  &scope=openid` → `{"access_token", "token_type": "Bearer", "expires_in"}`; every call then carries
  `Authorization: Bearer …` and `cpro-account: base64("login:password")` of the technical account;
- `POST /cpro/factures/v1/deposer/flux` `{fichierFlux (base64), nomFichier, syntaxeFlux: "IN_DP_E2_CII_FACTURX",
  avecSignature: false}` → `{codeRetour, libelle, numeroFluxDepot, dateDepot, syntaxeFlux}`;
- `POST /cpro/transverses/v1/consulterCRDetaille` `{numeroFluxDepot}` → `{etatCourantDepotFlux ("IN_INTEGRE",
  "IN_REJETE"…), listeErreurDP: [{libelleErreurDP}]}`: the deposit report of a flow;
- `POST /cpro/factures/v1/rechercher/fournisseur` `{numeroFacture, rechercheFactureParFournisseur: {…}}` →
  `{listeFactures: [{identifiantFactureCPP, numeroFacture, numeroFluxDepot, statut}]}`;
- `POST /cpro/factures/v1/recycler` `{identifiantFactureCPP, destinataire: {codeServiceExecutant},
  reference: {numeroBonCommande}}` and `POST /cpro/factures/v1/completer` `{identifiantFactureCPP, commentaire,
  pieceJointeComplementaire: […]}` after `POST /cpro/transverses/v1/ajouter/fichier`;
- `POST /cpro/structures/v1/rechercher` then `/cpro/structures/v1/consulter` → `parametres`.
Every answer carries `codeRetour` (0: done) and `libelle`: anything else is a refusal, kept with its words."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from workflow.adapters.einvoicing import ChorusDeposit
from workflow.adapters.einvoicing.file_drop import requirements_of
from workflow.domain.einvoicing import BuyerRequirements, PlatformAnswerError, StatusReport, platform_status
from workflow.domain.errors import PlatformRefusedError, PlatformUnavailableError

SYNTAX_FACTURX = "IN_DP_E2_CII_FACTURX"  # Factur-X (PDF/A-3 + CII), profile EN 16931
MAX_ANSWER_BYTES = 2 * 1024 * 1024
TOKEN_MARGIN_SECONDS = 30  # a token this close to its expiry is renewed before use


class ChorusProApi:
    """One client per process; the token is kept until `expires_in` (less a margin) and renewed once on a 401."""

    def __init__(self, *, oauth_url: str, api_url: str, client_id: str, client_secret: str, login: str,
                 password: str, timeout: float, now: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._oauth_url = oauth_url
        self._api_url = api_url.rstrip("/")
        self._client = (client_id, client_secret)
        self._account = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
        self._timeout = timeout
        self._now = now
        self._monotonic = monotonic
        self._token: tuple[str, float] | None = None
        self._structures: dict[str, BuyerRequirements] = {}

    # --- the port ----------------------------------------------------------------------------------------

    def deposit(self, deposit: ChorusDeposit, facturx_pdf: bytes) -> str:
        answer = self._call("deposer/flux", "/cpro/factures/v1/deposer/flux", {
            "fichierFlux": base64.b64encode(facturx_pdf).decode("ascii"),
            "nomFichier": f"facture-{deposit.invoice_number}.pdf", "syntaxeFlux": SYNTAX_FACTURX,
            "avecSignature": False})
        flow = answer.get("numeroFluxDepot")
        if not isinstance(flow, str) or not flow or len(flow) > 100:
            raise PlatformAnswerError("deposer/flux answered without a numeroFluxDepot")
        return flow

    def deposited(self, invoice_number: str) -> str | None:
        found = self._invoice(invoice_number)
        if found is None:
            return None
        flow = found.get("numeroFluxDepot")
        return flow if isinstance(flow, str) and flow else f"cpp:{found.get('identifiantFactureCPP')}"

    def attach(self, invoice_number: str, name: str, pdf: bytes) -> str:
        found = self._require(invoice_number)
        piece = self._add_file(name, pdf)
        self._call("completer", "/cpro/factures/v1/completer", {
            "identifiantFactureCPP": found["identifiantFactureCPP"], "commentaire": name,
            "pieceJointeComplementaire": [piece]})
        return f"cpp:{found['identifiantFactureCPP']}:{name}"

    def attached(self, invoice_number: str, name: str) -> str | None:
        return None  # the API lists no attachments by name: `attach` is asked once, under the deposit row's lock

    def status(self, invoice_number: str) -> StatusReport | None:
        found = self._invoice(invoice_number)
        if found is None:
            return None
        code = found.get("statut", found.get("statutFacture"))
        return StatusReport(status=platform_status(code), at=self._now())

    def flow_report(self, flow: str) -> tuple[str, list[str]]:
        """The deposit report of a flow: its state (`IN_INTEGRE`, `IN_REJETE`…) and the errors listed."""
        answer = self._call("consulterCRDetaille", "/cpro/transverses/v1/consulterCRDetaille",
                            {"numeroFluxDepot": flow})
        errors = [str(e.get("libelleErreurDP", ""))[:200] for e in answer.get("listeErreurDP") or []
                  if isinstance(e, dict)]
        return str(answer.get("etatCourantDepotFlux", ""))[:60], errors

    def recycle(self, invoice_number: str, service_code: str | None, commitment_number: str | None) -> None:
        found = self._require(invoice_number)
        self._call("recycler", "/cpro/factures/v1/recycler", {
            "identifiantFactureCPP": found["identifiantFactureCPP"], "commentaire": "routage corrigé",
            "destinataire": {"codeServiceExecutant": service_code or ""},
            "reference": {"numeroBonCommande": commitment_number or ""}})

    def complete(self, invoice_number: str, name: str, pdf: bytes, comment: str) -> None:
        found = self._require(invoice_number)
        piece = self._add_file(name, pdf)
        self._call("completer", "/cpro/factures/v1/completer", {
            "identifiantFactureCPP": found["identifiantFactureCPP"], "commentaire": comment[:500],
            "pieceJointeComplementaire": [piece]})

    def requirements(self, buyer_siret: str) -> BuyerRequirements:
        if buyer_siret in self._structures:
            return self._structures[buyer_siret]
        search = self._call("structures/rechercher", "/cpro/structures/v1/rechercher", {
            "structure": {"identifiantStructure": buyer_siret, "typeIdentifiantStructure": "SIRET"}})
        structures = search.get("listeStructures") or []
        if not isinstance(structures, list) or len(structures) != 1 or not isinstance(structures[0], dict):
            raise PlatformRefusedError("structures/rechercher", "structure", f"SIRET {buyer_siret} not found once")
        detail = self._call("structures/consulter", "/cpro/structures/v1/consulter", {
            "idStructureCPP": structures[0].get("idStructureCPP"), "codeLangue": "fr"})
        found = requirements_of(detail)
        self._structures[buyer_siret] = found
        return found

    # --- HTTP --------------------------------------------------------------------------------------------

    def _invoice(self, invoice_number: str) -> dict[str, Any] | None:
        answer = self._call("rechercher/fournisseur", "/cpro/factures/v1/rechercher/fournisseur", {
            "numeroFacture": invoice_number, "rechercheFactureParFournisseur": {"nbResultatsParPage": 10}})
        invoices = answer.get("listeFactures") or []
        if not isinstance(invoices, list):
            raise PlatformAnswerError("listeFactures is not a list")
        same = [i for i in invoices if isinstance(i, dict) and i.get("numeroFacture") == invoice_number]
        return same[-1] if same else None

    def _require(self, invoice_number: str) -> dict[str, Any]:
        found = self._invoice(invoice_number)
        if found is None or not isinstance(found.get("identifiantFactureCPP"), int):
            raise PlatformRefusedError("rechercher/fournisseur", "absente",
                                       f"no invoice {invoice_number} on Chorus Pro")
        return found

    def _add_file(self, name: str, pdf: bytes) -> dict[str, Any]:
        added = self._call("ajouter/fichier", "/cpro/transverses/v1/ajouter/fichier", {
            "pieceJointeFichier": base64.b64encode(pdf).decode("ascii"), "pieceJointeNom": f"{name}.pdf"[:50],
            "pieceJointeTypeMime": "application/pdf", "pieceJointeExtension": "PDF"})
        return {"pieceJointeComplementaireDesignation": name[:100],
                "pieceJointeComplementaireId": added.get("pieceJointeId"), "pieceJointeComplementaireType": "PJ"}

    def _call(self, operation: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One API call; a 401 renews the token and tries once more (it expired early, or was revoked)."""
        try:
            return self._post(operation, path, body, self._bearer())
        except _TokenExpiredError:
            self._token = None
            try:
                return self._post(operation, path, body, self._bearer())
            except _TokenExpiredError as again:
                raise PlatformRefusedError(operation, "401", "token refused twice: check the PISTE application "
                                                             "and the technical account") from again

    def _bearer(self) -> str:
        if self._token is not None and self._monotonic() < self._token[1]:
            return self._token[0]
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": self._client[0],
                                       "client_secret": self._client[1], "scope": "openid"}).encode("ascii")
        request = urllib.request.Request(self._oauth_url, data=form, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        status, answer = self._send("token", request)
        if status != 200:
            raise PlatformRefusedError("token", str(status), str(answer.get("error", ""))[:100])
        token, expires = answer.get("access_token"), answer.get("expires_in", 0)
        if not isinstance(token, str) or not token or not isinstance(expires, int | float):
            raise PlatformAnswerError("the token endpoint answered without access_token / expires_in")
        self._token = (token, self._monotonic() + max(float(expires) - TOKEN_MARGIN_SECONDS, 0))
        return token

    def _post(self, operation: str, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        request = urllib.request.Request(f"{self._api_url}{path}", data=json.dumps(body).encode("utf-8"),
                                         method="POST", headers={
                                             "Authorization": f"Bearer {token}", "cpro-account": self._account,
                                             "Content-Type": "application/json;charset=utf-8",
                                             "Accept": "application/json"})
        status, answer = self._send(operation, request)
        if status == 401:
            raise _TokenExpiredError
        code = answer.get("codeRetour", 0 if status == 200 else status)
        if status != 200 or code not in (0, "0"):
            raise PlatformRefusedError(operation, str(code)[:20], str(answer.get("libelle", ""))[:300])
        return answer

    def _send(self, operation: str, request: urllib.request.Request) -> tuple[int, dict[str, Any]]:
        """Status and JSON body; 5xx, 429, a timeout or no connection is the platform unavailable (retried)."""
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status, raw = response.status, response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read(MAX_ANSWER_BYTES + 1)
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            raise PlatformUnavailableError(f"{operation}: the platform did not answer ({exc})") from exc
        if status >= 500 or status == 429:
            raise PlatformUnavailableError(f"{operation}: the platform answered HTTP {status}")
        if len(raw) > MAX_ANSWER_BYTES:
            raise PlatformAnswerError(f"{operation}: answer over {MAX_ANSWER_BYTES} bytes")
        try:
            answer = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            raise PlatformAnswerError(f"{operation}: HTTP {status}, not JSON") from exc
        if not isinstance(answer, dict):
            raise PlatformAnswerError(f"{operation}: HTTP {status}, not a JSON object")
        return status, answer


class _TokenExpiredError(Exception):
    """HTTP 401 on an API call: the token is renewed once."""
