"""Personal data is masked in exports: names, phones, ID numbers; the rest stays readable."""

from __future__ import annotations

from server.ledger.privacy import mask, mask_event


def test_personal_fields_and_numbers_in_free_text_are_masked() -> None:
    data = {"contact_name": "李明", "contact_phone": "0878-6222000",
            "termination_signatory": "王小明", "project_name": "储能电池基地",
            "enterprise_name": "云南某新能源有限公司", "items": [{"code": "project_filing",
                                                          "name": "企业投资项目备案"}],
            "note": "请联系 13812345678 或 +86 13912345678，身份证 110101199003074518",
            "approved": True, "investment_wan": 120000}
    masked = mask(data)
    assert masked["contact_name"] == "李*"
    assert masked["contact_phone"] == "0878-****00"
    assert masked["termination_signatory"] == "王**"
    assert masked["note"] == ("请联系 138****5678 或 +86 139****5678，身份证 "
                              "110*************18")
    # Project, enterprise and item names, numbers and flags are not personal.
    for key in ("project_name", "enterprise_name", "items", "approved", "investment_wan"):
        assert masked[key] == data[key]
    assert data["contact_name"] == "李明"  # the input is left alone


def test_an_event_keeps_its_ids_hashes_and_staff_account() -> None:
    event = {"seq": 13812345678, "actor": "zhaoshang", "leaf_hash": "a13812345678" * 5,
             "task_id": "138123456789", "payload": {"new": {"contact_phone": "13812345678"}}}
    masked = mask_event(event)
    assert masked["payload"] == {"new": {"contact_phone": "138****5678"}}
    assert {k: masked[k] for k in ("seq", "actor", "leaf_hash", "task_id")} == {
        k: event[k] for k in ("seq", "actor", "leaf_hash", "task_id")}
