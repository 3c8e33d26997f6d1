"""The intake's commands: registration forms sent in, their signatures, the forms still unsigned. They log in
to the broker as the intake's user (REGFLOW_BROKER_URL_INTAKE)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from regflow.cli.commands import CONTEXT_SETTINGS, command, json_option, sending
from regflow.cli.decisions import Sent, Waiting, answer
from regflow.cli.options import DATE, REGISTRATION_ID, Choice, form_field
from regflow.cli.output import both, clean, print_lines, printable, progress_bar, to_json
from schemas.form import Signature, SignatureMethod

if TYPE_CHECKING:
    from workflow.settings import Settings


@sending("submit", "publish registration forms (JSON files or folders of them) and wait for the decision on each")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--registration-id", type=REGISTRATION_ID, help="reuse an id to send a corrected form")
def submit(settings: Settings, waiting: Waiting, *, paths: tuple[str, ...], registration_id: str | None) -> int:
    """Publish forms (all checked first: shape, UTF-8, size; one bad and nothing is sent), then wait for
    the decision on each and sum them up."""
    from producers.commands import CommandClient, FormFileError, load_forms

    try:
        forms = load_forms([Path(p) for p in paths], max_message_bytes=settings.max_message_bytes,
                           registration_id=registration_id)
    except FormFileError as exc:
        print_lines(f"erreur / error: {exc.bilingual()}", file=sys.stderr)
        return 2
    if registration_id and len(forms) > 1:
        print(both("--registration-id ne va qu'avec un seul formulaire ; rien n'a été envoyé",
                   "--registration-id goes with one form only; nothing sent"), file=sys.stderr)
        return 2
    sent = []
    with (CommandClient(settings, role="intake") as client,
          progress_bar(len(forms), "forms", shown=len(forms) > 1) as bar):
        for index, (path, form) in enumerate(forms, 1):
            envelope = client.submit_form(form, registration_id)
            new_id = envelope.registration_id
            if not waiting.as_json:
                bar.write(printable(f"[{index}/{len(forms)}] {path}: inscription {new_id} envoyée / "
                                    f"registration {new_id} submitted"))
            bar.update(1)
            sent.append(Sent(envelope, f"inscription {new_id} enregistrée", f"registration {new_id} recorded",
                             file=path))
    return answer(settings, waiting, sent, batch=True)


@sending("sign", "a signature arrived for a registration waiting in 'received'")
@click.argument("registration_id", type=REGISTRATION_ID)
@click.option("--place", required=True, type=form_field("signature.place", "lieu", "place"))
@click.option("--date", "signed_on", type=DATE, required=True, help="YYYY-MM-DD")
@click.option("--signatory", required=True, type=form_field("signature.signatory", "signataire", "signatory"))
@click.option("--method", required=True, type=Choice([m.value for m in SignatureMethod]))
@click.option("--reference", help="electronic-signature platform reference",
              type=form_field("signature.electronic_reference", "référence", "reference"))
def sign(settings: Settings, waiting: Waiting, *, registration_id: str, place: str, signed_on: date,
         signatory: str, method: str, reference: str | None) -> int:
    from producers.commands import CommandClient

    signature = Signature(place=place, signed_on=signed_on, signatory=signatory, method=SignatureMethod(method),
                          electronic_reference=reference)
    with CommandClient(settings, role="intake", producer="signature") as client:
        envelope = client.record_signature(registration_id, signature)
    return answer(settings, waiting, [Sent(envelope, f"signature enregistrée pour {registration_id}",
                                           f"signature recorded for {registration_id}")])


@command("awaiting-signature", "unsigned forms waiting longer than allowed (support)")
@click.option("--hours", type=float, help="default: REGFLOW_SIGNATURE_WAIT_HOURS (72)")
@json_option
def awaiting_signature(settings: Settings, *, hours: float | None, as_json: bool) -> int:
    from datetime import timedelta

    from workflow.bootstrap import bootstrap
    from workflow.persistence.views import awaiting_signature as unsigned

    deps = bootstrap(settings)
    hours = hours or settings.signature_wait_hours
    late = unsigned(deps.sessions, deps.clock.now(), timedelta(hours=hours))
    if as_json:
        print(to_json(late))
        return 0
    print(f"{len(late)} registration(s) waiting for their signature for more than {hours:g} h")
    for r in clean(late):
        print(f"  {r['id']}  {r['client']}  session {r['session_id']}  since {r['waiting_since'][:16]}"
              f"  ({r['waiting_hours']} h)  contact {r['gestionnaire_email']}")
    return 0


@command("mailbox", "signed forms returned by e-mail: each new message of a Maildir matched to its registration, its "
                    "scans kept for support's check",
         details="A message is matched by the registration's reference in its subject or text, else by its sender "
                 "when that is the gestionnaire of exactly one registration waiting for its signature. Its PDF, JPEG "
                 "or PNG attachments (judged by content) become scans on the back office's 'Signatures à "
                 "vérifier'. Every message is listed with its outcome and marked read; run it again, nothing is "
                 "read twice.")
@click.argument("source", metavar="MAILDIR|imaps://USER@HOST/FOLDER")
@json_option
def mailbox(settings: Settings, *, source: str, as_json: bool) -> int:
    import imaplib
    import mailbox as maildir
    from dataclasses import asdict

    from workflow.adapters.clocks import clock_from_spec
    from workflow.ops.returned_forms import Mailbox, MaildirBox, take_returned_forms
    from workflow.persistence.db import make_engine, session_factory

    box: Mailbox
    try:
        if source.startswith(("imap://", "imaps://")):
            from workflow.adapters.imap_mailbox import ImapBox

            password = settings.mailbox_password.get_secret_value() if settings.mailbox_password else ""
            box = ImapBox(source, password)
        else:
            box = MaildirBox(Path(source))
    except (OSError, ValueError, maildir.Error, imaplib.IMAP4.error) as exc:
        print(both(f"{printable(source)[:200]} : boîte illisible ({type(exc).__name__})",
                   f"{printable(source)[:200]}: unreadable mailbox ({exc})"), file=sys.stderr)
        return 2
    try:
        outcomes = take_returned_forms(session_factory(make_engine(settings.database_url)),
                                       clock_from_spec(settings.clock), box)
    finally:
        getattr(box, "close", lambda: None)()  # the IMAP session's logout
    if as_json:
        print(to_json([asdict(o) for o in outcomes]))
        return 0
    for o in clean([asdict(o) for o in outcomes]):
        said = (f"{o['kept']} scan(s) à vérifier pour {o['registration_id']}" if o["kept"]
                else f"rien gardé : {o['reason_fr']}" + (f" ({o['registration_id']})" if o["registration_id"] else ""))
        print(f"{o['sender']:<32} {o['subject'][:50]:<50} {said}")
    kept = sum(o.kept for o in outcomes)
    print(both(f"{len(outcomes)} message(s) lu(s), {kept} scan(s) à vérifier",
               f"{len(outcomes)} message(s) read, {kept} scan(s) to check"))
    return 0


intake = click.Group("intake", help="intake: what arrives by other roads (the mailbox of returned forms)",
                     context_settings=CONTEXT_SETTINGS, commands=[mailbox])

COMMANDS: tuple[click.Command, ...] = (submit, sign, awaiting_signature, intake)
