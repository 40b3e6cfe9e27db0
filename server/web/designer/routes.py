"""Designer views: pages that host the bpmn-io editors, and the JSON calls their scripts make.

Pages only read. Every change is a JSON call that must carry ``X-Guanjia-Designer: 1``: a
cross-site form cannot set a custom header, so this stands in for a CSRF token on calls
authenticated by the session cookie.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from server.models import User
from server.schemas.views import DesignerOpenQuery, UploadCommentForm, VersionPairQuery
from server.services import designer, migration, processes
from server.services.errors import (
    AuthenticationError,
    NotFoundError,
    ServiceError,
    ValidationFailedError,
)
from server.services.users import user_for_token
from server.web import params
from server.web.designer import bp
from server.web.errors import problem


# ---- who is asking --------------------------------------------------------------------
def _session_user() -> User | None:
    """The user signed in to the web pages, as every blueprint learns it
    (``server/web/session.py``: active, and their sessions not ended since)."""
    hook = current_app.extensions.get("guanjia.current_user")
    return hook() if callable(hook) else None


def _user() -> User:
    """The signed-in designer; raises ``AuthenticationError`` / ``PermissionDeniedError``."""
    if "designer_user" in g:
        return g.designer_user  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" and token else \
        _session_user()
    if user is None:
        raise AuthenticationError("sign in as a process designer to use the designer")
    g.designer_user = designer.require_designer(user)
    return user


@bp.before_request
def _guard() -> Any:
    if request.method in {"POST", "PUT", "DELETE"} and \
            request.headers.get("X-Guanjia-Designer") != "1":
        abort(400, "designer calls must carry the X-Guanjia-Designer: 1 header")
    try:
        _user()
    except AuthenticationError:
        if request.path.startswith("/designer/api/"):
            raise
        login = current_app.view_functions.get("auth.login")
        if login is not None:
            return redirect(url_for("auth.login", next=request.path))
        raise
    return None


def _api() -> bool:
    return request.path.startswith("/designer/api/")


def _limit_message() -> str:
    settings = current_app.config["GUANJIA"]
    return (f"the upload is larger than the limit of {current_app.config['MAX_CONTENT_LENGTH']:,}"
            f" bytes per request; each diagram file may be at most "
            f"{settings.max_xml_bytes:,} bytes (GUANJIA_MAX_XML_BYTES)")


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Any:
    if _api():
        settings = current_app.config["GUANJIA"]
        return problem(413, "Upload too large", _limit_message(),
                       limit_bytes=settings.max_xml_bytes)
    return render_template("designer/error.html", status=413, title="文件过大 Upload too large",
                           detail=_limit_message()), 413


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Any:
    if _api():
        return problem(exc.status, exc.title, exc.detail, **exc.extra)
    return render_template("designer/error.html", status=exc.status, title=exc.title,
                           detail=exc.detail), exc.status


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailedError("the request body must be a JSON object",
                                    {"_schema": ["not JSON"]})
    return body


def _files(body: dict[str, Any]) -> dict[str, bytes | str]:
    files = body.get("files")
    if not isinstance(files, dict) or not files or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ValidationFailedError("files must map file names to their text",
                                    {"files": ["expected {name: text}"]})
    return dict(files)


def _county(body: dict[str, Any]) -> str | None:
    """The deploy target a JSON call names: a county's code, ``*`` for the prefecture (a
    county designer's calls are for their county whatever they name)."""
    county = body.get("county")
    return county if isinstance(county, str) else None


def _deployment_body(deployment: Any) -> dict[str, Any]:
    return {"number": deployment.number, "author": deployment.author,
            "county": deployment.county,
            "own_files": [f.name for f in deployment.own_files],
            "comment": deployment.comment, "content_hash": deployment.content_hash,
            "created_at": deployment.created_at.isoformat(),
            "files": [f.name for f in deployment.files],
            "processes": sorted(d.process_id for d in deployment.definitions)}


# ---- pages ----------------------------------------------------------------------------
@bp.get("/")
def index() -> Any:
    """The library: processes, decisions and forms with their versions, drafts, uploads."""
    user = _user()
    return render_template("designer/index.html", library=designer.library(user),
                           running=migration.running_cases(user=user))


@bp.get("/edit/<path:name>")
def edit(name: str) -> Any:
    """Open a BPMN or DMN file in its editor: a draft, a given version, or the newest.

    Raises ``NotFoundError``.
    """
    user = _user()
    wanted = params.query(DesignerOpenQuery)
    version = wanted["version"]
    draft = None if version else designer.get_draft(user, name)
    if name.endswith(".dmn"):
        template = "designer/dmn.html"
    elif name.endswith(".bpmn"):
        template = "designer/bpmn.html"
    else:
        raise NotFoundError(f"{name} is neither a .bpmn nor a .dmn file")
    if wanted["new"]:
        base, content = processes.latest_deployment(county=user.county), ""
    elif draft is not None:
        base, content = None, draft.content
    else:
        base, content = designer.deployment_file(user, version, name)
    return render_template(template, name=name, content=content,
                           version=base.number if base else draft.base_deployment
                           if draft else None, draft=draft)


@bp.get("/forms/<form_id>")
def edit_form(form_id: str) -> Any:
    """Open a form in the form-js editor (the draft when there is one)."""
    user = _user()
    draft = designer.get_draft(user, f"{form_id}.form")
    if params.query(DesignerOpenQuery)["new"]:
        content = ""
    else:
        content = draft.content if draft else designer.form_source(user, form_id)
    return render_template("designer/form.html", form_id=form_id, content=content,
                           draft=draft)


@bp.get("/download/<int:number>/<path:name>")
def download(number: int, name: str) -> Response:
    _, content = designer.deployment_file(_user(), number, name)
    return Response(content, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/diff")
def diff_page() -> Any:
    pair = params.query(VersionPairQuery)
    old, new = pair["old"], pair["new"]
    if old is None or new is None:
        raise ValidationFailedError("choose two versions", {"from": ["required"]})
    return render_template("designer/diff.html", old=old, new=new,
                           changes=designer.diff(_user(), old, new))


@bp.get("/cases")
def cases_page() -> Any:
    """Running cases by version, to check and move them to a newer one."""
    user = _user()
    return render_template("designer/cases.html", cases=migration.running_cases(user=user),
                           deployments=designer.deployments(user))


# ---- JSON calls -----------------------------------------------------------------------
@bp.post("/api/validate")
def api_validate() -> Any:
    """Check files against the newest library; 422 with ``problems`` (element, line)."""
    body = _json()
    spec_set = designer.check_changes(_user(), _files(body), county=_county(body))
    return {"ok": True, "processes": spec_set.process_ids()}


@bp.post("/api/deploy")
def api_deploy() -> Any:
    """Deploy changed files as a new version; 422 naming each faulty element, 413 too big."""
    body = _json()
    deployment = designer.deploy_changes(_user(), _files(body),
                                         comment=str(body.get("comment") or ""),
                                         county=_county(body))
    return _deployment_body(deployment), 201


@bp.post("/api/upload")
def api_upload() -> Any:
    """Deploy files uploaded as multipart (e.g. from Camunda Modeler); as ``/api/deploy``."""
    uploads = request.files.getlist("files")
    if not uploads:
        raise ValidationFailedError("choose at least one .bpmn or .dmn file",
                                    {"files": ["empty"]})
    limit = current_app.config["GUANJIA"].max_xml_bytes
    files: dict[str, bytes | str] = {}
    for upload in uploads:
        data = upload.read(limit + 1)
        files[upload.filename or "upload.bpmn"] = data
    posted = params.posted(UploadCommentForm)
    deployment = designer.deploy_changes(_user(), files, comment=posted["comment"],
                                         county=posted["county"])
    return _deployment_body(deployment), 201


@bp.post("/api/forms")
def api_deploy_form() -> Any:
    body = _json()
    form_id = designer.deploy_form(_user(), str(body.get("content") or ""),
                                   county=_county(body))
    return {"form": form_id}, 201


@bp.post("/api/drafts")
def api_save_draft() -> Any:
    body = _json()
    draft = designer.save_draft(_user(), str(body.get("name") or ""),
                                str(body.get("content") or ""),
                                base=body.get("base") if isinstance(body.get("base"), int)
                                else None)
    return {"name": draft.name, "kind": draft.kind,
            "updated_at": draft.updated_at.isoformat()}


@bp.delete("/api/drafts/<path:name>")
def api_discard_draft(name: str) -> Any:
    designer.discard_draft(_user(), name)
    return {"discarded": name}


@bp.get("/api/diff")
def api_diff() -> Any:
    pair = params.query(VersionPairQuery)
    old, new = pair["old"], pair["new"]
    if old is None or new is None:
        raise ValidationFailedError("from and to are required", {"from": ["required"]})
    return {"from": old, "to": new,
            "changes": {k: v.as_dict() for k, v in designer.diff(_user(), old, new).items()}}


@bp.post("/api/migrate")
def api_migrate() -> Any:
    """Move selected cases to a version (``dry_run`` only checks); per-case outcomes."""
    body = _json()
    to = body.get("to")
    if not isinstance(to, int):
        raise ValidationFailedError("to must be a version number", {"to": ["required"]})
    outcomes = migration.migrate_cases(_user(), [str(c) for c in body.get("cases") or []], to,
                                       dry_run=bool(body.get("dry_run")))
    return {"dry_run": bool(body.get("dry_run")), "cases": [o.as_dict() for o in outcomes]}


@bp.context_processor
def _layout() -> dict[str, Any]:
    # Use the site's layout when the web package provides one; stand alone otherwise.
    try:
        current_app.jinja_env.get_template("base.html")
        base = "base.html"
    except Exception:  # TemplateNotFound, or a base that needs context we do not have
        base = "designer/standalone.html"
    user = g.get("designer_user")
    return {"designer_base": base,
            "deploy_targets": designer.deploy_targets(user) if user is not None else []}
