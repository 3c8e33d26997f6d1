"""All configuration, read from `REGFLOW_*` environment variables, with defaults that run locally."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.limits import MAX_HOLD_BATCH
from workflow.domain.identifiers import is_valid_bic, is_valid_iban, normalise_iban

DEVELOPMENT_LINK_SECRET = "regflow-development-link-secret-change-me"
MIN_SECRET_LENGTH = 32


class InsecureSecretError(ValueError):
    """A process that makes or checks personal links, or signs the page's cookies, met a default, empty or
    short secret outside development: anyone with a copy of the database could mint valid links."""


class InvalidBankAccountError(ValueError):
    """The payee's IBAN or BIC does not pass its own check: every invoice would send the clients' transfers to an
    account that does not exist (EN 16931 BT-84/BT-86), so the process refuses to start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGFLOW_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/regflow.db",
        description="SQLAlchemy URL: a SQLite file for a quick local run, postgresql+psycopg://... else",
    )
    # No credentials in code: without a user in the URL pika logs in as RabbitMQ's local-only `guest`.
    # Production gives each process its own user (`regflow broker-users`) in this variable.
    broker_url: str = Field(default="amqp://127.0.0.1:5672/%2F",
                            description="AMQP URL, amqp:// or amqps:// (?cafile=, certfile=, keyfile=)")
    broker_url_intake: str | None = Field(default=None, description="The command line's broker user for submit and "
                                                                    "sign (REGFLOW_BROKER_URL when unset)")
    broker_url_support: str | None = Field(default=None, description="... for replace-participant")
    broker_url_finance: str | None = Field(default=None, description="... for pay and correct-invoice")
    broker_url_operations: str | None = Field(default=None, description="... for hold-, cancel- and move-session")
    broker_url_public: str | None = Field(default=None, description="The public process's (join-server): the online "
                                                                    "form's submit, sign and replace requests")
    namespace: str = Field(default="regflow", description="Prefix of the exchange and queue names")
    queue_type: Literal["classic", "quorum"] = Field(
        default="classic", description="'quorum': the consumers' queues replicated across a RabbitMQ cluster (3.10+); "
                                       "fixed for a namespace once declared")
    broker_declare: Literal["all", "own"] = Field(
        default="all", description="'own': each process declares only its part of the topology, for a broker "
                                   "user with least privilege (`regflow broker-users`); 'all': everything")
    prefetch: int = Field(default=16, ge=1, description="Unacknowledged messages per consumer")
    max_message_bytes: int = Field(
        default=256 * 1024, ge=1024,
        description="Largest message accepted, sent or received (a form with 200 participants is ~60 KB)")
    max_attempts: int = Field(default=6, ge=1, description="Attempts before a message is parked")
    hold_batch_size: int = Field(
        default=200, ge=1, le=MAX_HOLD_BATCH,
        description="Service fait is applied to a session's registrations this many per transaction (payments)")
    retry_base_ms: int = Field(default=500, ge=1, description="First retry delay; doubles each attempt")
    database_wait_seconds: float = Field(
        default=60, ge=0, description="A consumer that loses the database holds its message this long, waiting for "
                                      "it, before counting a retry")
    clock: str = Field(
        default="system",
        description="'system', 'fixed:<ISO datetime>' or 'file:<path>' (a file holding an ISO datetime)",
    )
    catalogue_path: Path | None = Field(default=None, description="Catalogue JSON; the shipped one if unset")
    signature_wait_hours: float = Field(
        default=72, gt=0, description="An unsigned form waiting longer than this is flagged to support")
    documents_dir: Path = Field(default=Path("var/documents"), description="Where invoice PDFs are written")
    chorus_drop_dir: Path = Field(default=Path("var/chorus-pro"),
                                  description="File-drop standing in for the Chorus Pro deposit API")
    # --- the e-invoicing platform (Chorus Pro on PISTE, docs/chorus-pro.md) --------------------------------
    chorus_mode: Literal["file-drop", "api"] = Field(
        default="file-drop", description="'file-drop': the folder above, with the status files a person writes; "
                                         "'api': Chorus Pro's API through the PISTE gateway (credentials below)")
    chorus_oauth_url: str = Field(default="https://oauth.piste.gouv.fr/api/oauth/token",
                                  description="PISTE's OAuth2 token endpoint (sandbox: sandbox-oauth.piste.gouv.fr)")
    chorus_api_url: str = Field(default="https://api.piste.gouv.fr",
                                description="PISTE's API gateway; the Chorus Pro paths start /cpro/ "
                                            "(sandbox: https://sandbox-api.piste.gouv.fr)")
    chorus_client_id: str | None = Field(default=None, description="The PISTE application's client_id")
    chorus_client_secret: SecretStr | None = Field(default=None, description="... and its client_secret")
    chorus_login: str | None = Field(default=None, description="The Chorus Pro technical account's login "
                                                               "(the cpro-account header)")
    chorus_password: SecretStr | None = Field(default=None, description="... and its password")
    chorus_timeout_seconds: float = Field(default=30, gt=0, le=300,
                                          description="Connect and read timeout of one call to the platform")
    chorus_poll_seconds: float = Field(
        default=3600, gt=0, description="How often the invoicing consumer asks the platform for the status of the "
                                        "deposited invoices (`regflow chorus poll` does it on demand)")
    support_email: str | None = Field(
        default=None, max_length=254, description="Support's address: told when the platform suspends an invoice "
                                                  "(unset: the Invoices page shows it)")
    # The seller's identity on every invoice (CGI annexe II art. 242 nonies A; code du travail R6351-6).
    # The defaults are demo values: configure the real ones in production.
    seller_name: str = "IPP Formation - Institut de la Performance Publique"
    seller_street: str = "10 rue de l'Exemple"
    seller_postal_code: str = "75001"
    seller_city: str = "Paris"
    seller_siret: str = "39123456700017"
    seller_activity_number: str = "11755555575"
    seller_activity_region: str = "Île-de-France"
    seller_email: str = "ipp@ipp.fr"
    seller_phone: str = "01 55 74 83 00"
    # The account clients pay into by transfer (EN 16931 BG-17: BT-84 IBAN, BT-86 BIC), printed on every invoice.
    # The demo's is a test IBAN common in examples (right check digits; not the training body's account): set yours.
    seller_iban: str = Field(default="FR7630006000011234567890189", description="IBAN (ISO 13616, spaces allowed)")
    seller_bic: str = Field(default="AGRIFRPP", description="BIC of the IBAN's bank (ISO 9362, 8 or 11 characters)")
    # Who signs the certificates of completion: the training body's legal representative (the Ministry's model).
    seller_signatory: str = Field(default="Le directeur de l'IPP Formation", max_length=200)
    private_payment_term_days: int = Field(default=0, ge=0, le=60, description="0: payable on receipt")
    agreement_mention: str = Field(
        default="Facture valant convention de formation simplifiée",
        description="The seeds' wording, printed on the invoices of trainings flagged as such")
    ecb_rates_path: Path | None = Field(default=None, description="ECB reference rates JSON; the shipped one if unset")
    periodic_check_seconds: float = Field(
        default=60, gt=0, description="How often a consumer runs its periodic check (payments: overdue invoices)")
    relay_poll_seconds: float = Field(default=0.05, gt=0)
    # --- metrics and health (workflow/ops/health.py) ------------------------------------------------------
    http_port: int = Field(
        default=0, ge=0, le=65535, description="Port of /metrics, /healthz, /readyz in each consumer and the relay "
                                               "(0: no server). `regflow run-all` gives each process base + index")
    http_host: str = Field(default="0.0.0.0", description="Interface of that server ('127.0.0.1': local only)")
    liveness_seconds: float = Field(
        default=60, gt=0, description="/healthz fails when the loop has not ticked for this long (above the 30 s "
                                      "longest reconnection backoff, so a broker outage is not a dead process)")
    # --- e-mail (notifications consumer) -------------------------------------------------------------
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server (`regflow mail-sink` listens on 1025)")
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="'starttls' (port 587), 'tls' (implicit TLS, port 465) or 'none' (local sink)")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mailbox_password: SecretStr | None = Field(
        default=None, description="The password of the IMAP mailbox of returned forms (`regflow intake mailbox imaps://...`)")
    smtp_ca_file: Path | None = Field(default=None, description="Extra CA to trust (a private relay)")
    smtp_timeout_seconds: float = Field(default=15, gt=0)
    mail_from: str | None = Field(default=None, description="Sender address; the seller's e-mail if unset")
    mail_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often notifications sends due e-mails and reminders")
    mail_max_attempts: int = Field(default=8, ge=1, description="SMTP attempts before an e-mail is reported failed")
    mail_retry_base_seconds: float = Field(default=60, ge=0, description="First SMTP retry delay; doubles")
    mail_lease_seconds: float = Field(
        default=120, gt=0, description="A sender's claim on an e-mail (wall clock): if it dies before recording "
                                       "the SMTP answer, the e-mail goes again after this")
    join_base_url: str = Field(default="https://rejoindre.ipp.fr/j",
                               description="The join service's public address of the personal links (`regflow "
                                           "join-server` serves `<it>/<token>`); the token is appended")
    join_opens_before_minutes: int = Field(
        default=30, ge=0, le=24 * 60, description="How long before the start a personal link opens the room")
    join_requests_per_minute: int = Field(
        default=30, ge=1, le=10000, description="Requests the join service answers per client address and minute "
                                                "(beyond: 429); a guessing address gets nowhere")
    attendance_present_minutes: int | None = Field(
        default=None, ge=1, le=600, description="Minutes connected in a half-day to count as present on the "
                                                "attendance sheet (unset: 80 % of the half-day, 156 of 195)")
    join_trusted_proxies: int = Field(
        default=0, ge=0, le=5, description="Reverse proxies in front of the join service that set X-Forwarded-For "
                                           "(0: the client address is the socket's)")
    link_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_LINK_SECRET),
        description="Key of the personal links (HMAC): set a random one in production, keep it stable "
                    "(`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    personal_data_retention_months: int = Field(
        default=36, ge=1, le=120,
        description="Months after a registration's last payment (its last change when nothing was paid) before "
                    "`regflow personal-data purge` pseudonymises its people (RGPD art. 5-1-e). 36: the certificates' "
                    "3-year commitment and the CNIL's 3 years after the end of a business relationship")
    personal_data_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_LINK_SECRET),
        description="Key of the pseudonyms (HMAC of the e-mail): random, 32+ characters, kept stable and secret "
                    "(the same person keeps one pseudonym; without it a guessed address cannot be tested)")
    signature_webhook_secret: SecretStr | None = Field(
        default=None, description="The e-signature platform's webhook secret key (Yousign: the subscription's "
                                  "secret_key): callbacks are refused while it is unset")
    signature_webhook_tolerance_seconds: int = Field(
        default=3 * 24 * 3600, ge=60, le=30 * 24 * 3600,
        description="How old a callback's signed event time may be: the platform retries with the same time; "
                    "older ones are refused as replays, and one event id acts once whatever its age")
    reminder_offsets_minutes: list[int] = Field(
        default=[180, 15], description="Reminders before the start, in minutes (JSON list): 3 hours and 15 min")
    survey_reminder_hours: int = Field(
        default=72, ge=1, le=30 * 24, description="Hours after the satisfaction survey's invitation before its one "
                                                  "reminder to a participant who has not answered")
    log_format: str = Field(default="auto", description="'json', 'console' or 'auto' (console on a tty)")
    # --- back-office web page (`regflow web`) --------------------------------------------------------
    web_users_file: Path = Field(default=Path("var/web-users.json"),
                                 description="The page's users: names, password hashes, roles (`regflow web-user`)")
    web_secret: SecretStr | None = Field(
        default=None, description="Key signing the page's session cookie: a random one of 32+ characters, required "
                                  "outside development (REGFLOW_DEVELOPMENT=1: unset is a random key per start)")
    web_https: bool = Field(
        default=False, description="The page is served over HTTPS (directly or behind a TLS proxy): the session "
                                   "cookie is Secure and HSTS is sent")
    web_trusted_proxies: int = Field(
        default=0, ge=0, le=5, description="How many reverse proxies in front of the page set X-Forwarded-For/-Proto "
                                           "(0: those headers are ignored, the client address is the socket's)")
    web_login_attempts: int = Field(
        default=5, ge=1, le=100, description="Failed logins allowed per user name and per client address in "
                                             "`web_login_window_seconds` before further attempts are refused")
    web_login_window_seconds: float = Field(default=900, gt=0, description="The window of that count (15 min)")
    # --- the HTTP intake API (`regflow join-server`, /api/v1) ------------------------------------------
    api_keys_file: Path = Field(default=Path("var/api-keys.json"),
                                description="The client systems of the intake API: names and the SHA-256 of their "
                                            "keys (`regflow api-keys add NAME`)")
    # --- development ----------------------------------------------------------------------------------
    development: bool = Field(
        default=False, description="Development or test run (the demo and the tests set it): the default link "
                                   "secret and a missing page secret are accepted. Never in production")

    @field_validator("seller_iban")
    @classmethod
    def _iban_checked(cls, value: str) -> str:
        if not is_valid_iban(value):
            raise InvalidBankAccountError(
                f"REGFLOW_SELLER_IBAN « {value} » n'est pas un IBAN valide (longueur du pays et clé ISO 13616 "
                f"mod 97) / is not a valid IBAN (country length and ISO 13616 mod-97 check digits)")
        return normalise_iban(value)

    @field_validator("seller_bic")
    @classmethod
    def _bic_checked(cls, value: str) -> str:
        bic = value.strip().upper()
        if not is_valid_bic(bic):
            raise InvalidBankAccountError(
                f"REGFLOW_SELLER_BIC « {value} » n'est pas un BIC valide (8 ou 11 caractères, ISO 9362) / is not "
                "a valid BIC (8 or 11 characters, ISO 9362)")
        return bic

    def broker_url_for(self, role: str | None) -> str:
        """The broker URL of a command-line role (its own RabbitMQ user, topic permissions), else the common one."""
        url: str | None = getattr(self, f"broker_url_{role}", None) if role else None
        return url or self.broker_url

    def require_secret(self, name: str) -> str:
        """The value of `link_secret` or `web_secret`, refused when it is the default, empty or shorter than
        32 characters, unless `development` is set (REGFLOW_DEVELOPMENT=1, the demo and the tests)."""
        secret: SecretStr | None = getattr(self, name)
        value = secret.get_secret_value() if secret is not None else ""
        weak = not value or value == DEVELOPMENT_LINK_SECRET or len(value) < MIN_SECRET_LENGTH
        if weak and not self.development:
            variable = f"REGFLOW_{name.upper()}"
            raise InsecureSecretError(
                f"{variable} is {'unset or empty' if not value else 'the development default or too short'}: set a "
                f"random value of {MIN_SECRET_LENGTH}+ characters (python -c 'import secrets; "
                f"print(secrets.token_urlsafe(32))'), or REGFLOW_DEVELOPMENT=1 for a local run")
        return value
