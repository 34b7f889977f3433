"""/gallery: a private link to a web page of the server's delivered jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.gallery._cog import Gallery, scope_of
from imagine_bot.bot.web.gallery import GalleryPages

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    bot.web.add_routes(GalleryPages(scope_of(bot)).routes)
    await bot.add_cog(Gallery(bot))
