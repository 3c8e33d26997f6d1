"""Signed forms returned by e-mail (issue #19), over the real database and a real Maildir: `regflow intake mailbox`
matches each new message by the reference it quotes or by its sender, keeps its scans for support's check, lists
what it could not match with why, and reads nothing twice."""

from __future__ import annotations

import imaplib
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.integration.imap_server import Folder, imap_server
from tests.integration.test_bpf_figures import regflow
from tests.integration.test_signature_scans import PDF, png, waiting
from workflow.bootstrap import Deps
from workflow.ops.returned_forms import MaildirBox, take_returned_forms
from workflow.persistence.orm import SignatureScanRow
from workflow.settings import Settings

pytestmark = pytest.mark.integration


def message(sender: str, subject: str, *attachments: tuple[str, bytes, str]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "ipp@ipp.fr", subject
    mail.set_content("Bonjour, veuillez trouver ci-joint le formulaire signé.")
    for name, content, subtype in attachments:
        maintype, _, sub = subtype.partition("/")
        mail.add_attachment(content, maintype=maintype, subtype=sub, filename=name)
    return mail


@pytest.fixture
def box(tmp_path: Path) -> Path:
    folder = mailbox.Maildir(tmp_path / "inbox", create=True)
    for mail in (message("Someone <x@elsewhere.org>", "Formulaire signé, réf. dep-94",
                         ("formulaire.png", png(), "image/png")),
                 message("Sophie MARTIN <formation@valdemarne.fr>", "Notre inscription",
                         ("scan.pdf", PDF, "application/pdf")),
                 message("inconnu@example.org", "Bonjour", ("scan.pdf", PDF, "application/pdf")),
                 message("formation@valdemarne.fr", "dep-94 signé", ("scan.pdf", b"MZ" + b"\0" * 300,
                                                                     "application/pdf"))):
        folder.add(mail)
    return tmp_path / "inbox"


def test_each_message_is_matched_or_listed_with_why_and_read_once(deps: Deps, box: Path) -> None:
    waiting(deps)
    outcomes = sorted(take_returned_forms(deps.sessions, deps.clock, MaildirBox(box)), key=lambda o: o.subject)
    assert [(o.subject, o.registration_id, o.kept, o.reason_fr) for o in outcomes] == [
        ("Bonjour", None, 0, "aucune référence d'inscription ni expéditeur connu"),
        ("Formulaire signé, réf. dep-94", "dep-94", 1, None),
        ("Notre inscription", "dep-94", 1, None),  # by its sender, the gestionnaire
        ("dep-94 signé", "dep-94", 0,
         "Seuls un PDF, une image JPEG ou PNG sont acceptés (d'après le contenu du fichier)."),
    ]
    with deps.sessions() as session:
        assert sorted(session.scalars(select(SignatureScanRow.media_type))) == ["application/pdf", "image/png"]
    assert take_returned_forms(deps.sessions, deps.clock, MaildirBox(box)) == []


def test_the_command_lists_the_outcomes_in_french_and_english(settings: Settings, deps: Deps, box: Path) -> None:
    waiting(deps)
    done = regflow(settings, "intake", "mailbox", str(box))
    assert done.returncode == 0, done.stderr
    assert "1 scan(s) à vérifier pour dep-94" in done.stdout
    assert "4 message(s) lu(s), 2 scan(s) à vérifier / 4 message(s) read, 2 scan(s) to check" in done.stdout
    again = regflow(settings, "intake", "mailbox", str(box))
    assert "0 message(s) lu(s)" in again.stdout
    missing = regflow(settings, "intake", "mailbox", str(box / "nowhere"))
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def test_over_imap_the_same_messages_are_matched_and_marked_seen_once(deps: Deps, box: Path) -> None:
    """The IMAP adapter against a server of the test's own: the same outcomes as the Maildir, each message read
    with BODY.PEEK[] and flagged \\Seen after its commit, nothing read twice, a wrong password refused."""
    from workflow.adapters.imap_mailbox import ImapBox

    waiting(deps)
    folder = Folder("ipp", "s3cret", {n + 1: bytes(mail) for n, mail in enumerate(
        mailbox.Maildir(box, create=False))})
    with imap_server(folder) as port:
        url = f"imap://ipp@127.0.0.1:{port}/INBOX"
        reader = ImapBox(url, "s3cret")
        outcomes = take_returned_forms(deps.sessions, deps.clock, reader)
        assert sorted(o.kept for o in outcomes) == [0, 0, 1, 1]
        assert folder.seen == {1, 2, 3, 4}
        assert take_returned_forms(deps.sessions, deps.clock, reader) == []
        reader.close()
        with pytest.raises(imaplib.IMAP4.error):
            ImapBox(url, "wrong")
    with deps.sessions() as session:
        assert len(session.scalars(select(SignatureScanRow)).all()) == 2
