"""Content Credentials: the record a job's PNGs are signed with when the worker encodes them
(see ``engine/provenance``): the preset, the action and, for a derived job, its parent image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot import __version__
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.provenance.credentials import signing_credentials
from imagine_bot.engine.provenance.manifest import ContentRecord, ParentImage
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import SourceImage
from imagine_bot.plugins import hookimpl

if TYPE_CHECKING:
    from imagine_bot.engine.gpu.models import ModelRegistry


@hookimpl(trylast=True)
def imagine_postprocess(result: GenerationResult, models: ModelRegistry) -> None:
    settings, spec = models.settings, result.spec
    result.provenance = ContentRecord(
        credentials=signing_credentials(settings),
        version=__version__,
        model=spec.model,
        action=spec.action,
        prompt=spec.typed_prompt or spec.prompt if settings.provenance.include_prompt else None,
        parent=None if spec.source is None else parent_image(spec.source, models.store),
    )


def parent_image(source: SourceImage, store: ImageStore) -> ParentImage:
    """The stored image an action started from (the worker's copy of the job's input)."""
    if source.job_id is None:
        title = f"image {source.sha256[:12]}"
    else:
        title = f"job {source.job_id} image {source.index or 1}"
    return ParentImage(store.read(source.sha256), title)
