"""Printable records: the submitted data of a case's task, laid out as the paper form.

The print view is HTML with print CSS (the browser prints it); ``?format=pdf`` returns the
same page rendered by WeasyPrint as a PDF file to download and archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app, render_template
from flask_login import login_required

from server.schemas.pages import OutputFormat
from server.services import case_pages, cases, directory, records, visibility
from server.services.errors import NotFoundError
from server.services.forms import form_registry
from server.web import params
from server.web.records import bp, values
from server.web.session import me


@bp.get("/<case_id>/records/<form_key>")
@login_required
def record(case_id: str, form_key: str) -> Any:
    """One record, as HTML or (``?format=pdf``) PDF.

    A form submitted once per approval item prints one section per submission, in order.
    Raises 403 when the case is not the user's to read, 404 when nothing was submitted with
    the form, 503 when a PDF is asked for and WeasyPrint cannot run.
    """
    case = cases.get_case(me(), case_id)
    found = case_pages.submissions(case, form_key)
    if not found:
        raise NotFoundError(f"nothing was submitted with form {form_key} in this case")
    known = form_registry().forms_of(case.deployment_id)  # the forms the case was run with
    form = known.get(form_key)
    for s in found:  # internal opinions stay off the enterprise's prints
        s.data = visibility.visible_data(me(), form, s.data)
    codes = records.code_labels(list(known.values()))
    as_pdf = params.query(OutputFormat)["format"] == "pdf"
    record_no = records.record_number(form)
    # 附件2 names its 经办人 and the signing 主要领导 (issue 13).
    done = {i.element_id: i.completed_by for i in cases.case_work_items(case)
            if i.state == "completed" and i.completed_by}
    signers = records.signer_usernames(record_no, done)
    names = directory.display_names(sorted(set(signers.values()))) if signers else {}
    html = render_template(
        "records/print.html", case=case, item=found[0].item, form=form,
        sections=values.sections(
            form, found, codes, directory.group_names(),
            directory.display_names(sorted({s.item.completed_by or "" for s in found}))),
        facts=values.case_facts(case_pages.case_summary(case), found[0].item.stage or "", codes),
        record_no=records.record_number(form), signatories=records.signatories(form),
        signer_names={label: names.get(u, u) for label, u in signers.items()},
        pdf=records.pdf_available(), as_pdf=as_pdf, inline_css=_print_css() if as_pdf else "")
    if not as_pdf:
        return html
    name = f"{case.reference}-{form.title if form else form_key}.pdf"
    return records.render_pdf(html), 200, {
        "Content-Type": "application/pdf",
        "Content-Disposition": f"attachment; filename=\"{case.reference}-{form_key}.pdf\"; "
                               f"filename*=UTF-8''{quote(name)}"}


def _print_css() -> str:
    """The print stylesheet, inlined so that WeasyPrint needs to fetch nothing."""
    static = current_app.static_folder
    assert static is not None
    return (Path(static) / "css" / "print.css").read_text(encoding="utf-8")
