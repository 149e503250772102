"""Silence library chatter (download progress bars, optional-backend notices) in our own tools."""

import logging


def quiet_libraries() -> None:
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    logging.getLogger("narcis.inference").setLevel(logging.INFO)
