"""The one error type users see: a sentence saying what is wrong and how to fix it."""


class GlasswingError(ValueError):
    """An input problem a person can fix; ``str(err)`` is one readable sentence.

    Every package raises a subclass of this for bad input. The dashboard shows the message with
    ``st.error`` and the command line prints it on stderr and exits with code 2; neither shows a
    traceback.
    """
