"""Members' stars on grids and images, and the owner's Delete: each one short write."""

from __future__ import annotations

from imagine_bot.engine.jobs.rows import job_or_fail
from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import FavouriteRow
from imagine_bot.engine.times import Clock, utc_now


class Favourites:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self.db = database
        self.clock = clock

    def toggle(self, user_id: int, job_id: str, index: int) -> bool:
        """Star the job's grid (``index`` 0) or image ``index`` for the member, or take their
        star away; whether it is starred now. ``KeyError`` for an unknown job."""
        with self.db.write() as session:
            job_or_fail(session, job_id)
            row = session.get(FavouriteRow, (user_id, job_id, index))
            if row is not None:
                session.delete(row)
                return False
            session.add(
                FavouriteRow(
                    user_id=user_id, job_id=job_id, image_index=index, created_at=self.clock()
                )
            )
            return True

    def delete(self, job_id: str) -> None:
        """The owner deleted the job's message: the job stays (ledger, lineage), hidden."""
        with self.db.write() as session:
            row = job_or_fail(session, job_id)
            if row.deleted_at is None:
                row.deleted_at = self.clock()
                session.add(row)
