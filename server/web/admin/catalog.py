"""The item catalog page: each county's catalog (本县事项目录, or 继承州（市）目录), uploaded
or pasted as CSV to replace it, downloaded, or given back to the prefecture's. An
administrator of a county keeps that county's; an administrator of the prefecture keeps
every county's."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from server.schemas.views import CountyCatalogForm, CountyCatalogQuery
from server.services import catalog as catalogs
from server.services.errors import ValidationFailedError
from server.web import params
from server.web.admin import bp
from server.web.i18n import EN, t
from server.web.session import me

EN.update({
    "事项目录": "Item catalog", "本县事项目录": "The county's own catalog",
    "继承州（市）目录": "Inherits the prefecture's catalog",
    "州（市）事项目录": "The prefecture's catalog",
    "事项数": "Items", "版本": "Revision", "修改人": "Changed by", "修改时间": "Changed at",
    "上传或粘贴事项目录（CSV）": "Upload or paste a catalog (CSV)", "县（市、区）": "County",
    "CSV 文件": "CSV file", "或粘贴 CSV 内容": "or paste the CSV",
    "保存本县目录": "Save as the county's catalog",
    "恢复继承州（市）目录": "Go back to the prefecture's catalog", "下载 CSV": "Download CSV",
    "事项目录无法保存": "The catalog cannot be saved", "已保存事项目录": "Catalog saved",
    "已恢复继承州（市）目录": "The county inherits the prefecture's catalog again",
    "本县设置：各县可使用本县事项目录；未上传的县沿用州（市）目录。保存后新立案件、服务方案增减事项即按新目录；已立案件的事项与时限不变。":
        "County setting: a county may keep its own catalog; a county without one uses the "
        "prefecture's. New cases and items a plan adds follow the new catalog at once; the "
        "items and limits of cases already filed stay as they were.",
    "列与州（市）目录相同（code,name,department,stage,promised_days,…）；出错时按行指出，不保存任何内容。":
        "Columns as in the prefecture's catalog (code,name,department,stage,promised_days,…); "
        "errors are named by line and nothing is saved.",
    "未修改": "never changed",
    "未上传本县目录的县沿用": "Used by every county without its own",
})


def _page(*, county: str = "", text: str = "", error: ValidationFailedError | None = None,
          status: int = 200) -> Any:
    user = me()
    states = catalogs.catalog_states(user)
    return render_template(
        "admin/catalog.html", states=states, county=county or (states[0].code if states else ""),
        text=text, error=error, error_line=error.extra.get("line") if error else None,
        problems=error.extra.get("problems") or [] if error else [],
        prefecture_items=len(catalogs.prefecture_catalog())), status


@bp.get("/catalog")
def catalog_page() -> Any:
    """The counties' catalogs; ``?county=…&download=1`` answers the CSV that county runs with
    (its own, else the prefecture's; without a county the prefecture's)."""
    query = params.query(CountyCatalogQuery)
    if query["download"]:
        text, own = catalogs.catalog_csv(me(), query["county"] or None)
        name = f"catalog-{query['county'] if own else 'prefecture'}.csv"
        return Response("\ufeff" + text, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return _page(county=query["county"])


@bp.post("/catalog")
def catalog_save() -> Any:
    """Save the county's own catalog (``action=save``, a CSV file or pasted text) or go back
    to the prefecture's (``action=inherit``); 422 with every bad line (nothing saved), 403
    for another county's administrator."""
    sent = params.posted(CountyCatalogForm)
    county, text = sent["county"], sent["catalog"]
    upload = request.files.get("catalog_file")
    if sent["action"] == "save" and upload is not None and upload.filename:
        raw = upload.stream.read(catalogs.MAX_CSV_BYTES + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            error = ValidationFailedError("the file is not UTF-8 text",
                                          {"catalog": ["文件不是 UTF-8 编码的 CSV / not UTF-8"]})
            return _page(county=county, error=error, status=422)
    try:
        if sent["action"] == "inherit":
            catalogs.save_county_catalog(me(), county, None)
            flash(t("已恢复继承州（市）目录"), "success")
        else:
            row = catalogs.save_county_catalog(me(), county, text)
            flash(f"{t('已保存事项目录')}：{row.items} {t('事项数')}，{t('版本')} {row.revision}",
                  "success")
    except ValidationFailedError as exc:
        return _page(county=county, text=text, error=exc, status=422)
    return redirect(url_for("admin.catalog_page", county=county))
