"""Writes of the operators' console. Both front-ends (the Discord bot, `manage.py ops`) only parse, call
these, and format; every rule lives here. Refusals are OpsError, in words an operator can act on.

One module per subject; everything is reachable as `services.<name>`."""

from apps.discord_ops.services.face_folders import (
    FOLDER_NAME,
    MAX_ZIP_PHOTOS,
    PHOTO_SUFFIXES,
    folder_import,
    folder_import_zip,
)
from apps.discord_ops.services.operators import operator_account
from apps.discord_ops.services.parameter_sets import (
    PRODUCTION_MODE,
    WORKING_SET,
    params_reset,
    params_set,
    parse_value,
)
from apps.discord_ops.services.productions import (
    production_save,
    production_save_item,
    productions_for_finished,
)
from apps.discord_ops.services.promotion import (
    PROMOTE_PERMISSION,
    visitor_defaults_promote,
    visitor_defaults_rollback,
)
from apps.discord_ops.services.sessions import (
    STALL_AFTER_FAILED_PASSES,
    item_hide,
    item_rerun,
    progress_message_set,
    result_posted,
    session_announced,
    session_cancel,
    session_cancel_by_number,
    session_create,
    session_pass_failed,
    session_pass_succeeded,
    session_stall,
    sweep_combinations,
    test_faces_combinations,
)

__all__ = [
    "FOLDER_NAME",
    "MAX_ZIP_PHOTOS",
    "PHOTO_SUFFIXES",
    "PRODUCTION_MODE",
    "PROMOTE_PERMISSION",
    "STALL_AFTER_FAILED_PASSES",
    "WORKING_SET",
    "folder_import",
    "folder_import_zip",
    "item_hide",
    "item_rerun",
    "operator_account",
    "params_reset",
    "params_set",
    "parse_value",
    "production_save",
    "production_save_item",
    "productions_for_finished",
    "progress_message_set",
    "result_posted",
    "session_announced",
    "session_cancel",
    "session_cancel_by_number",
    "session_create",
    "session_pass_failed",
    "session_pass_succeeded",
    "session_stall",
    "sweep_combinations",
    "test_faces_combinations",
    "visitor_defaults_promote",
    "visitor_defaults_rollback",
]
