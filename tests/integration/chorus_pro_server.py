"""A Chorus Pro of the tests' own: the PISTE token endpoint and the API paths the adapter calls, answering with the
documented shapes (`access_token`/`expires_in`; `codeRetour`/`libelle`; `numeroFluxDepot`; `listeFactures` with
`statut`; `listeStructures` and `parametres`). What it holds is plain data the test sets and reads; a few switches
make it misbehave as the real one can: a token it stops accepting, 5xx, an answer too slow, a flow refused."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

CLIENT_ID, CLIENT_SECRET = "piste-app", "piste-secret"
ACCOUNT = "TECH_1_ipp@cpro.fr:mot-de-passe"


@dataclass
class Platform:
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)  # numeroFacture -> its listeFactures entry
    structures: dict[str, dict[str, bool]] = field(default_factory=dict)  # SIRET -> parametres
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer the next API calls with
    stall: threading.Event | None = None  # set: the API answers only once the test releases it
    refuse_flow: tuple[int, str] | None = None  # (codeRetour, libelle) of the next deposit

    def set_status(self, number: str, status: str) -> None:
        self.invoices[number]["statut"] = status

    def paths(self) -> list[str]:
        return [path for path, _ in self.calls]


class _Handler(BaseHTTPRequestHandler):
    platform: Platform

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        platform = self.platform
        if self.path == "/api/oauth/token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if (form.get("grant_type"), form.get("client_id"), form.get("client_secret"), form.get("scope")) != (
                    "client_credentials", CLIENT_ID, CLIENT_SECRET, "openid"):
                self._answer(400, {"error": "invalid_client"})
                return
            platform.tokens_issued += 1
            token = f"jeton-{platform.tokens_issued}"
            platform.valid_tokens.add(token)
            self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "openid"})
            return
        body = json.loads(raw or b"{}")
        platform.calls.append((self.path, body))
        if platform.stall is not None:
            platform.stall.wait(10)  # a server that does not answer: the client's timeout is what the test checks
        if platform.fail_next:
            self._answer(platform.fail_next.pop(0), {"codeRetour": 500, "libelle": "Erreur technique"})
            return
        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
        account = base64.b64decode(self.headers.get("cpro-account", "")).decode(errors="replace")
        if bearer not in platform.valid_tokens:
            self._answer(401, {"error": "invalid_token"})
            return
        if account != ACCOUNT:
            self._answer(403, {"codeRetour": 20001, "libelle": "compte technique inconnu"})
            return
        self._answer(*self._api(self.path, body))

    def _api(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: PLR0911
        platform = self.platform
        if path == "/cpro/factures/v1/deposer/flux":
            if body.get("syntaxeFlux") != "IN_DP_E2_CII_FACTURX" or not body.get("fichierFlux"):
                return 400, {"codeRetour": 20002, "libelle": "syntaxeFlux ou fichierFlux invalide"}
            if platform.refuse_flow is not None:
                code, label = platform.refuse_flow
                platform.refuse_flow = None
                return 200, {"codeRetour": code, "libelle": label}
            number = str(body["nomFichier"]).removeprefix("facture-").removesuffix(".pdf")
            if number in platform.invoices:  # its duplicate check
                return 200, {"codeRetour": 20107, "libelle": "numéro de facture déjà déposé"}
            flow = f"CPP{len(platform.invoices) + 1:010d}"
            platform.invoices[number] = {"identifiantFactureCPP": 1000 + len(platform.invoices),
                                         "numeroFacture": number, "numeroFluxDepot": flow, "statut": "DEPOSEE"}
            return 200, {"codeRetour": 0, "libelle": "GCU_MSG_01_000", "numeroFluxDepot": flow,
                         "dateDepot": "2026-12-03", "syntaxeFlux": "IN_DP_E2_CII_FACTURX"}
        if path == "/cpro/factures/v1/rechercher/fournisseur":
            found = [i for n, i in platform.invoices.items() if n == body.get("numeroFacture")]
            return 200, {"codeRetour": 0, "libelle": "TRA_MSG_00.000", "listeFactures": found,
                         "parametresRetour": {"total": len(found)}}
        if path == "/cpro/factures/v1/recycler":
            for invoice in platform.invoices.values():
                if invoice["identifiantFactureCPP"] == body.get("identifiantFactureCPP"):
                    invoice["statut"] = "DEPOSEE"
                    invoice["recycled_with"] = body
                    return 200, {"codeRetour": 0, "libelle": "TRA_MSG_00.000", "statutFacture": "DEPOSEE"}
            return 200, {"codeRetour": 20100, "libelle": "facture inconnue"}
        if path == "/cpro/structures/v1/rechercher":
            siret = body.get("structure", {}).get("identifiantStructure")
            found = [{"idStructureCPP": int(siret[-6:]), "identifiantStructure": siret}] \
                if siret in platform.structures else []
            return 200, {"codeRetour": 0, "libelle": "TRA_MSG_00.000", "listeStructures": found,
                         "parametresRetour": {"total": len(found)}}
        if path == "/cpro/structures/v1/consulter":
            for siret, parametres in platform.structures.items():
                if int(siret[-6:]) == body.get("idStructureCPP"):
                    return 200, {"codeRetour": 0, "libelle": "TRA_MSG_00.000", "parametres": parametres}
            return 200, {"codeRetour": 20200, "libelle": "structure inconnue"}
        return 404, {"codeRetour": 404, "libelle": f"no route {path}"}


@contextmanager
def chorus_pro_server(platform: Platform) -> Iterator[str]:
    """The server on a free local port, in a thread; yields its base URL (token at /api/oauth/token)."""
    handler = type("Handler", (_Handler,), {"platform": platform})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
