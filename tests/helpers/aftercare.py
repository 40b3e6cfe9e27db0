"""A case completed for the after-care scenarios."""

from __future__ import annotations

from tests.scenarios.conftest import Walker


def _complete(walker: Walker) -> None:
    walker.start(item_codes=["project_filing"], area="金碧镇")
    walker.accept()
    walker.hand_over()
    walker.work_open_items()
    walker.do("guanjia", "fill_completion_sheet")
    walker.do("qiye", "sign_completion_sheet")
    walker.close()
    assert walker.case()["status"] == "completed"
