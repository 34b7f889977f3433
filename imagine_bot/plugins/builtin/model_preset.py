"""``--model``, ``--v``, ``--niji`` and ``--draft`` -> the model preset and the defaults in
effect."""

from collections.abc import Callable

from imagine_bot.config import ModelPreset, Settings
from imagine_bot.config.quoting import quoted
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import Flag

MODEL_FLAG = Flag("model", "text", group="model", help="a model preset by name (/imagine model)")


@hookimpl(trylast=True)
def imagine_register_flags(register: Callable[[Flag], None]) -> None:
    register(MODEL_FLAG)


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    version, niji, is_draft = draft.flag("v"), draft.flag("niji"), draft.flag("draft")
    named = draft.flag("model")
    if draft.model is None:
        draft.model = str(named) if named is not None else _select(settings, version, niji)
    elif named is not None or version is not None or niji is not None:
        chosen = "--model" if named is not None else "--v" if version is not None else "--niji"
        draft.warnings.append(
            f"{chosen} was ignored: this job runs on the model {draft.model!r}, chosen for it."
        )
    if draft.model not in settings.models:
        raise UserError(f"There is no model preset {quoted(draft.model)}. {_available(settings)}")
    if draft.preset is None:
        preset = settings.models[draft.model]
        if is_draft:
            draft.model, preset = _draft_of(draft.model, preset, settings)
        draft.preset = preset


def _select(settings: Settings, version: str | None, niji: str | bool | None) -> str:
    if version is None and niji is None:
        return settings.default_model
    for name, preset in settings.models.items():
        if version is not None and version in preset.versions:
            return name
        if (niji is True and preset.niji) or (isinstance(niji, str) and niji in preset.niji):
            return name
    asked = (
        f"--v {version}"
        if version is not None
        else "--niji" + (f" {niji}" if isinstance(niji, str) else "")
    )
    raise PromptError(f"This server has no model for {asked}. {_available(settings)}")


def _draft_of(name: str, preset: ModelPreset, settings: Settings) -> tuple[str, ModelPreset]:
    """The distilled draft model when the preset names one, else a cheaper run of the same."""
    if preset.draft_model is not None:
        return preset.draft_model, settings.models[preset.draft_model]
    return name, preset.cheaper_run()


def _available(settings: Settings) -> str:
    choices = []
    for name, preset in settings.models.items():
        selectors = [f"--v {v}" for v in preset.versions] + [f"--niji {n}" for n in preset.niji]
        choices.append(f"{name} ({', '.join(selectors)})" if selectors else name)
    return (
        f"Available: {'; '.join(choices)}. Without --v or --niji the default, "
        f"{settings.default_model}, is used."
    )
