"""Profiles (``--p``): styles made of images in the image store, each image with a weight.

A member's named profiles come from a moodboard (``/profile create``) or from their starred
images (``/profile from-favourites``); an admin's are the server's, shared by all (owner 0).
The name "" is the member's default profile, learned from what they select: every image they
upscale (U) or star adds ``STRONG_SIGNAL`` to its weight, any other action on it
``WEAK_SIGNAL``; the ``MAX_IMAGES`` heaviest images make the profile.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import FavouriteRow, JobRow, ProfileRow
from imagine_bot.engine.spec import ReferenceImage
from imagine_bot.engine.times import Clock, utc_now

SHARED = 0
"""The owner id of the server's shared profiles."""
DEFAULT = ""
"""The name of a member's learned default profile (``--p`` without a name)."""
MIN_IMAGES, MAX_IMAGES = 2, 10
STRONG_SIGNAL, WEAK_SIGNAL = 2.0, 1.0
PROFILE_SOURCE = "profile:"
"""The ``source`` of a profile's images: ``profile:NAME`` (what warnings name as ``--p``)."""

RunInThread = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Profile:
    owner_id: int
    name: str
    images: tuple[tuple[str, float], ...]
    """(sha256, weight) of each image."""

    @property
    def shared(self) -> bool:
        return self.owner_id == SHARED


class ProfileBook:
    """Profiles in the database; every method runs its query on the database threads."""

    def __init__(self, database: Database, run: RunInThread, clock: Clock = utc_now) -> None:
        self.db = database
        self._run = run
        self.clock = clock

    async def save(self, owner_id: int, name: str, images: Sequence[tuple[str, float]]) -> None:
        """Create or replace the profile ``name`` of ``owner_id`` (``SHARED``: the server's)."""
        await self._run(self._save, owner_id, name, list(images))

    async def delete(self, owner_id: int, name: str) -> bool:
        """Whether there was such a profile."""
        result: bool = await self._run(self._delete, owner_id, name)
        return result

    async def usable_by(self, user_id: int) -> list[Profile]:
        """The member's profiles (their default first) and the server's, by name."""
        result: list[Profile] = await self._run(self._usable_by, user_id)
        return result

    async def references(self, user_id: int) -> dict[str, tuple[ReferenceImage, ...]]:
        """What ``--p NAME`` can name for the member, as style references; the member's own
        profile wins over a shared one of the same name; "" is their default."""
        found: dict[str, tuple[ReferenceImage, ...]] = {}
        for profile in await self.usable_by(user_id):
            source = f"{PROFILE_SOURCE}{profile.name or 'default'}"
            found.setdefault(
                profile.name,
                tuple(
                    ReferenceImage(role="style", source=source, weight=weight, sha256=sha)
                    for sha, weight in profile.images
                ),
            )
        return found

    async def favourite_images(self, user_id: int) -> list[str]:
        """The images the member starred (a starred grid: its four), most recent first, of
        jobs not deleted."""
        result: list[str] = await self._run(self._favourite_images, user_id)
        return result

    async def learn(self, user_id: int, shas: Sequence[str], weight: float) -> None:
        """The member chose these images: they weigh ``weight`` more in their default."""
        if shas:
            await self._run(self._learn, user_id, list(shas), weight)

    # --- on the database threads ---------------------------------------------------------

    def _save(self, owner_id: int, name: str, images: list[tuple[str, float]]) -> None:
        with self.db.write() as session:
            row = session.get(ProfileRow, (owner_id, name))
            if row is None:
                row = ProfileRow(owner_id=owner_id, name=name, updated_at=self.clock())
            row.images = json.dumps(images)
            row.updated_at = self.clock()
            session.add(row)

    def _delete(self, owner_id: int, name: str) -> bool:
        with self.db.write() as session:
            row = session.get(ProfileRow, (owner_id, name))
            if row is None:
                return False
            session.delete(row)
            return True

    def _usable_by(self, user_id: int) -> list[Profile]:
        query = (
            select(ProfileRow)
            .where(col(ProfileRow.owner_id).in_([user_id, SHARED]))
            .order_by(col(ProfileRow.owner_id) == SHARED, col(ProfileRow.name))
        )
        with self.db.read() as session:
            return [
                Profile(
                    row.owner_id,
                    row.name,
                    tuple((sha, float(weight)) for sha, weight in json.loads(row.images)),
                )
                for row in session.exec(query).all()
                if row.name != DEFAULT or row.owner_id == user_id
            ]

    def _favourite_images(self, user_id: int) -> list[str]:
        query = (
            select(JobRow.images, FavouriteRow.image_index)
            .join(FavouriteRow, col(FavouriteRow.job_id) == col(JobRow.id))
            .where(col(FavouriteRow.user_id) == user_id, col(JobRow.deleted_at).is_(None))
            .order_by(col(FavouriteRow.created_at).desc())
        )
        shas: list[str] = []
        with self.db.read() as session:
            for images, index in session.exec(query).all():
                job_images = json.loads(images)
                shas += job_images if index == 0 else job_images[index - 1 : index]
        return list(dict.fromkeys(shas))

    def _learn(self, user_id: int, shas: list[str], weight: float) -> None:
        with self.db.write() as session:
            row = session.get(ProfileRow, (user_id, DEFAULT))
            if row is None:
                row = ProfileRow(owner_id=user_id, name=DEFAULT, updated_at=self.clock())
            weights = {sha: float(w) for sha, w in json.loads(row.images)}
            for sha in shas:
                weights[sha] = weights.get(sha, 0.0) + weight
            heaviest = sorted(weights.items(), key=lambda item: -item[1])[:MAX_IMAGES]
            row.images = json.dumps(heaviest)
            row.updated_at = self.clock()
            session.add(row)
