"""Printable records: which paper form a task's form is, its signature lines, its codes, its PDF.

A form names the paper record it fills with the form property ``record`` (附件3 …, see
docs/CONVENTIONS.md). The signature lines come from the paper forms of the concierge rules;
a form may name its own with the property ``signatures`` ("委托方,受托方"). The PDF is
WeasyPrint's rendering of the same HTML the browser prints, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.services.errors import ServiceError
from server.services.forms import FormDefinition


class PdfUnavailableError(ServiceError):
    """WeasyPrint or the Pango libraries it loads are missing on this machine."""

    status = 503
    title = "PDF rendering unavailable"


@dataclass(frozen=True)
class Signatory:
    """One signature line of a paper record: who signs, and a date beside it."""

    label: str
    label_en: str


# The parties who sign each paper record (attachment numbers of the concierge rules).
PAPER_SIGNATORIES: dict[str, tuple[Signatory, ...]] = {
    # 004 §五(二): 县投资促进局审核通过并经主要领导签字确认后即为受理.
    "附件2": (Signatory("申请单位（签字/盖章）", "Applicant (signature/seal)"),
              Signatory("经办人（县投资促进局审核）", "Handled by (bureau review)"),
              Signatory("主要领导（签字确认受理）", "Bureau head (signs the acceptance)")),
    "附件3": (Signatory("委托方（签字/盖章）", "Principal (signature/seal)"),
              Signatory("受托方（签字/盖章）", "Agent (signature/seal)")),
    "附件4": (Signatory("委托方确认（签字）", "Principal's approval (signature)"),
              Signatory("牵头代办员（签字）", "Lead agent (signature)")),
    "附件5": (Signatory("交办人（签字）", "Dispatched by (signature)"),
              Signatory("领受人（签字）", "Received by (signature)")),
    "附件7": (Signatory("申请单位（签字/盖章）", "Applicant (signature/seal)"),
              Signatory("受托方经办人（签字）", "Agent in charge (signature)")),
    "附件8": (Signatory("申请单位（签字/盖章）", "Applicant (signature/seal)"),
              Signatory("受托方经办人（签字）", "Agent in charge (signature)")),
    "附件9": (Signatory("评价人（签字）", "Evaluated by (signature)"),),
}
# Signature lines that print the name of the person who did the step (element id).
NAMED_SIGNERS: dict[str, dict[str, str]] = {
    "附件2": {"经办人（县投资促进局审核）": "review_application",
              "主要领导（签字确认受理）": "sign_acceptance"},
}


def signer_usernames(record_no: str, completed_by: dict[str, str]) -> dict[str, str]:
    """Signature label → the username who completed the step it names (附件2: the bureau's
    经办人 who reviewed the application, the 主要领导 who signed the acceptance)."""
    return {label: completed_by[element]
            for label, element in NAMED_SIGNERS.get(record_no, {}).items()
            if completed_by.get(element)}


# A form that fills no paper record still prints with one line to sign.
DEFAULT_SIGNATORIES = (Signatory("签名", "Signature"),)


# The stages the concierge processes mark their tasks with (the BPMN property ``stage``).
STAGES: dict[str, tuple[str, str]] = {
    "intake": ("申请受理", "Intake"),
    "team": ("组建管家团队", "Steward team"),
    "service": ("帮办代办服务", "Concierge service"),
    "plan": ("制定服务方案", "Service plan"),
    "handover": ("专窗交办", "Hand-over"),
    "report": ("部门报到", "Department check-in"),
    "acceptance": ("事项受理", "Item acceptance"),
    "handling": ("事项办理", "Item handling"),
    "supervision": ("督办", "Supervision"),
    "completion": ("办结", "Completion"),
    "termination": ("终止", "Termination"),
    "evaluation": ("评价回访", "Evaluation and return visits"),
    "archive": ("归档", "Archiving"),
}
# Coded values a form lists the options of once (行业分类 in application.form) but other
# records print, e.g. from the case summary: their labels are looked up in every form.
CODED_FIELDS = ("industry",)


def code_labels(forms: list[FormDefinition]) -> dict[str, dict[str, str]]:
    """Field key → code → label for ``CODED_FIELDS``, from the first form listing options."""
    labels: dict[str, dict[str, str]] = {}
    for form in forms:
        for f in form.fields:
            if f.key in CODED_FIELDS and f.options and f.key not in labels:
                labels[f.key] = dict(f.options)
    return labels


def form_properties(form: FormDefinition | None) -> dict[str, Any]:
    """The form's ``properties`` object (record number, …); {} when unreadable."""
    if form is None:
        return {}
    # Read with the form (it may live in a deployment, not in a file).
    return dict(form.properties)


def record_number(form: FormDefinition | None) -> str:
    """The paper record the form fills, e.g. ``附件3``; "" when it fills none."""
    return str(form_properties(form).get("record") or "")


def signatories(form: FormDefinition | None) -> tuple[Signatory, ...]:
    """The signature lines the record prints, in the order of the paper form."""
    props = form_properties(form)
    named = props.get("signatures")
    if isinstance(named, str) and named.strip():
        return tuple(Signatory(n.strip(), n.strip()) for n in named.split(",") if n.strip())
    return PAPER_SIGNATORIES.get(str(props.get("record") or ""), DEFAULT_SIGNATORIES)


def pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401, PLC0415  (optional: needs Pango; None without)
    except (ImportError, OSError):  # OSError: the Pango libraries are not installed
        return False
    return True


def render_pdf(html: str) -> bytes:
    """The PDF of a self-contained record page (styles inline, no images).

    No base URL is given, so WeasyPrint fetches nothing: a record never makes the server
    call out, whatever text an enterprise typed into it. Raises ``PdfUnavailableError``.
    """
    try:
        import weasyprint  # noqa: PLC0415  (optional: needs Pango)
    except (ImportError, OSError) as exc:
        raise PdfUnavailableError(f"WeasyPrint cannot run here: {exc}") from exc
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
