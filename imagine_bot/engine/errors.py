"""Errors meant for the person who typed the prompt."""


class UserError(Exception):
    """A failure a user caused or can fix; its message is shown to them as it is."""


class PromptError(UserError):
    """The prompt text or one of its flags cannot be understood."""

    def __init__(self, message: str, *, flag: str | None = None) -> None:
        super().__init__(message)
        self.flag = flag
