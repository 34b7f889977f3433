"""/describe jobs in the queue: free or charged by tier, capped per member, their prompts kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.errors import DescribeBusy
from imagine_bot.engine.jobs.describing import describe_spec
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.store import JobStore
from imagine_bot.engine.spec import GenerationSpec
from tests.support.jobkit import make_spec, open_store, quota_settings, start_job, tuned

PROMPTS = ("a boat, ink", "a lake, oil", "a sky, pastel", "a tree, ink")


def with_describe(settings: Settings, charge: str) -> Settings:
    priced = quota_settings(settings, budget=100.0, estimate=10.0)
    tier = priced.quota.tiers["everyone"].model_copy(update={"describe": charge})
    return tuned(priced, quota={"tiers": {"everyone": tier}})


def picture_spec(store: JobStore) -> GenerationSpec:
    image = store.images.put(Image.new("RGB", (48, 32), (20, 120, 200)))
    return describe_spec(image, "view.png")


@pytest.mark.parametrize(("charge", "cost"), [("free", 0.0), ("charged", 2.5)])
def test_describe_time_is_on_the_ledger_as_the_tier_says(
    settings: Settings, tmp_path: Path, charge: str, cost: float
) -> None:
    store = open_store(with_describe(settings, charge), tmp_path)
    (job,), _ = store.submit(Requester(1), [picture_spec(store)])
    assert job.reserved_seconds == (0.0 if charge == "free" else 10.0)
    start_job(store, job.id)
    done = store.finish_success(job.id, 2.5, [], None, texts=PROMPTS)
    assert done.texts == PROMPTS and done.gpu_seconds == 2.5 and done.charged_seconds == cost
    assert store.ledger.quota_status(1).used == cost
    # An image job costs as before, and its estimate ignores the /describe job's time.
    (image_job,), _ = store.submit(Requester(1), [make_spec()])
    assert image_job.reserved_seconds == 10.0


def test_a_member_has_at_most_max_per_member_describes_pending(
    settings: Settings, tmp_path: Path
) -> None:
    store = open_store(tuned(settings, describe={"max_per_member": 2}), tmp_path)
    for _ in range(2):
        store.submit(Requester(1), [picture_spec(store)])
    with pytest.raises(DescribeBusy) as refused:
        store.submit(Requester(1), [picture_spec(store)])
    assert refused.value.limit == 2 and len(str(refused.value)) < 200
    store.submit(Requester(2), [picture_spec(store)])  # the cap is per member
    store.submit(Requester(1), [make_spec()])  # and only for /describe
