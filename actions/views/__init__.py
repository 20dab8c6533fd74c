"""Views of the action plan, split by sub-domain: the list and its exports, the action sheet,
the strategy pages (actions/views/strategy.py, routed by actions/strategy_urls.py)."""

from actions.views.plan import action_list, export_csv, export_xlsx
from actions.views.sheet import action_detail, action_edit, action_history, action_update_status

__all__ = [
    "action_detail",
    "action_edit",
    "action_history",
    "action_list",
    "action_update_status",
    "export_csv",
    "export_xlsx",
]
