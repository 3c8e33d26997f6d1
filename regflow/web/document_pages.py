"""The issued documents, opened from the page: `/documents/facture-2026-000123.pdf` (and `avoir-…`, `certificat-…`),
the bytes the issuing transaction kept (`document_files`), else the document store's copy. Only the store's own
names are accepted (`workflow.adapters.document_store`): a path, a link or another shape of name is refused before
anything is opened. A document that is nowhere is named on a 404 page, never a 500. Invoices and credit notes for
finance and support; certificates for support, operations and trainers. The evidence packs are on the
attendance-sheet pages (`sheet_pages`)."""

from __future__ import annotations

from flask import Response, abort
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from regflow.web.context import back_office, current_user, pages
from regflow.web.users import Role
from workflow.adapters.document_store import DocumentNotFoundError, DocumentStore
from workflow.persistence.orm import DocumentFileRow

READERS = {"facture": (Role.FINANCE, Role.SUPPORT), "avoir": (Role.FINANCE, Role.SUPPORT),
           "certificat": (Role.SUPPORT, Role.OPERATIONS, Role.TRAINER)}


@pages.get("/documents/<name>")
def document(name: str) -> ResponseReturnValue:
    prefix = name.split("-", 1)[0]
    if prefix not in READERS:
        abort(404, _("“%(name)s” is not an issued document.", name=name[:60]))
    if not any(current_user().can(role) for role in READERS[prefix]):
        abort(403, _("This document is not for your role."))
    office = back_office()
    store = DocumentStore(office.settings.documents_dir)
    try:
        store.path_of(name)  # the store's own names only: checked before any lookup
    except DocumentNotFoundError:
        abort(404, _("“%(name)s” is not an issued document.", name=name[:60]))
    with office.sessions() as session:
        kept = session.get(DocumentFileRow, name)
        content = kept.content if kept is not None else None
    if content is None:
        try:
            content = store.read_named(name)
        except DocumentNotFoundError:
            abort(404, _("Document %(name)s not found: neither in the database nor in the document store "
                         "(%(store)s).", name=name[:60], store=str(office.settings.documents_dir)))
    return Response(content, 200, {"Content-Type": "application/pdf",
                                   "Content-Disposition": f'inline; filename="{name}"',
                                   "Content-Security-Policy": "sandbox; default-src 'none'",
                                   "X-Content-Type-Options": "nosniff"})
