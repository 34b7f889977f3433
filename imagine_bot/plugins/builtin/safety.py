"""The content policy (``[safety]``): banned words refuse a prompt before it is queued, and the
safety classifier checks every result on the GPU worker, blocking or flagging it per channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.config import Settings
from imagine_bot.engine.errors import ContentBlocked, UserError
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.wordlist import word_list

if TYPE_CHECKING:
    from imagine_bot.engine.gpu.models import ModelRegistry

REFUSAL = "This prompt can't be used here: it goes against this server's content policy."
"""Says nothing of which word matched: the list is the admin's, not a puzzle to solve."""


@hookimpl(trylast=True)
def imagine_validate(spec: GenerationSpec, settings: Settings) -> None:
    words = settings.safety.blocked_words
    if not words:
        return
    blocked = word_list(words)
    texts = [spec.prompt, *(part.text for part in spec.blend)]
    if any(blocked.matches(text) for text in texts):
        raise UserError(REFUSAL)


@hookimpl(trylast=True)
def imagine_postprocess(result: GenerationResult, models: ModelRegistry) -> None:
    classifier = models.classifier()
    if classifier is None:
        return
    flagged = classifier.flagged(result.images)
    if flagged and result.spec.content_policy == "block":
        raise ContentBlocked(flagged)
    result.flagged = flagged
