"""Printable records: the submitted data of a case's task, laid out as the paper form.

The print view is HTML with print CSS (the browser prints or saves it as PDF); when
WeasyPrint is installed, ``?format=pdf`` returns the same page as a PDF file.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_login import login_required

from server.services import cases, workspace
from server.services.errors import NotFoundError
from server.services.forms import FormRegistry
from server.web import formview
from server.web.records import bp
from server.web.session import me


def pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@bp.get("/<case_id>/records/<form_key>")
@login_required
def record(case_id: str, form_key: str) -> Any:
    """One record; 403 when the case is not the user's to read, 404 when nothing was submitted."""
    case = cases.get_case(me(), case_id)
    found = workspace.submitted(case, form_key)
    if found is None:
        raise NotFoundError(f"nothing was submitted with form {form_key} in this case")
    item, data = found
    registry: FormRegistry = current_app.extensions["guanjia.forms"]
    form = registry.get(form_key) if form_key in registry.ids() else None
    html = render_template(
        "records/print.html", case=case, item=item, form=form,
        pairs=formview.labelled(form, data), summary=workspace.case_summary(case),
        record_no=_record_label(form) if form is not None else "",
        pdf=pdf_available())
    if request.args.get("format") == "pdf" and pdf_available():
        import weasyprint

        pdf = weasyprint.HTML(string=html, base_url=request.host_url).write_pdf()
        return pdf, 200, {"Content-Type": "application/pdf",
                          "Content-Disposition": f'inline; filename="{case.reference}-'
                                                 f'{form_key}.pdf"'}
    return html


def _record_label(form: Any) -> str:
    path = form.path
    if path is None:
        return ""
    import json

    try:
        props = json.loads(path.read_text(encoding="utf-8")).get("properties") or {}
    except (OSError, ValueError):
        return ""
    return str(props.get("record") or "")
