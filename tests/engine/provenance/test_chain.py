"""Content Credentials through the worker's own path (runner, then ``encode`` on a CPU
thread), read back with c2pa-python's Reader against a CA made here: grid -> U2 ->
Vary (Subtle) -> Zoom Out 2x, each manifest signed, each linked to its parent."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa
import pytest
from PIL import Image

from imagine_bot.cli.main import main
from imagine_bot.config import Settings
from imagine_bot.config.provenance import ProvenanceSettings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.images.store import PARAMETERS_KEY
from imagine_bot.engine.jobs.pool import WorkOutput, encode
from imagine_bot.engine.provenance.manifest import TRAINED_ALGORITHMIC_MEDIA
from imagine_bot.engine.spec import GenerationSpec, SourceImage
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.provenance.signing import CAFiles, edit_pixels_keeping_chunks, make_test_ca

pytestmark = pytest.mark.slow  # three tiny-model jobs


@dataclass(frozen=True)
class Chain:
    ca: CAFiles
    grid: WorkOutput
    vary: WorkOutput
    zoom: WorkOutput
    prompt: str


@pytest.fixture(scope="module")
def chain(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    ca = make_test_ca(tmp_path_factory.mktemp("ca"))
    provenance = ProvenanceSettings(certificate=ca.chain, private_key=ca.key, include_prompt=True)
    signed = settings.model_copy(update={"provenance": provenance})
    manager = build_plugin_manager(signed)
    runner = JobRunner(manager, ModelRegistry(signed))
    planner = JobPlanner(signed, manager)
    store = runner.models.store

    def run(spec: GenerationSpec) -> WorkOutput:
        return encode(runner.submit(spec, JobControl()).result(), 0.0, "test")

    def derive(
        parent: GenerationSpec, output: WorkOutput, index: int, action: str, job: str
    ) -> GenerationSpec:
        # What the bot does: the delivered PNG is stored as it came from the worker, and the
        # button's job names it as its source.
        image = output.images[index - 1]
        stored = store.put_png(image.png, image.width, image.height)
        source = SourceImage(sha256=stored.sha256, job_id=job, index=index)
        (spec,) = asyncio.run(planner.derive(parent, action, index, source))
        return spec

    try:
        prompt = "a lighthouse at dusk --seed 3"
        (grid_spec,) = asyncio.run(planner.plan(prompt))
        grid = run(grid_spec)
        vary_spec = derive(grid_spec, grid, 2, "vary_subtle", "grid-job")  # U2, then Vary
        vary = run(vary_spec)
        zoom = run(derive(vary_spec, vary, 1, "zoom_out_2x", "vary-job"))
    finally:
        runner.close()
    return Chain(ca, grid, vary, zoom, prompt)


def read(png: bytes, anchors: Path) -> c2pa.Reader:
    settings = {"verify": {"verify_trust": True}, "trust": {"trust_anchors": anchors.read_text()}}
    context = c2pa.Context(c2pa.Settings.from_dict(settings))
    return c2pa.Reader("image/png", io.BytesIO(png), context=context)


def actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    (assertion,) = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    found: list[dict[str, Any]] = assertion["data"]["actions"]
    return found


def parent_of(manifest: dict[str, Any]) -> dict[str, Any]:
    parents: list[dict[str, Any]] = [
        i for i in manifest["ingredients"] if i["relationship"] == "parentOf"
    ]
    (ingredient,) = parents
    return ingredient


def test_the_chain_verifies_back_to_the_grid(chain: Chain) -> None:
    with read(chain.zoom.images[0].png, chain.ca.root) as reader:
        assert reader.get_validation_state() == "Trusted"
        codes = {r["code"] for r in reader.get_validation_results()["activeManifest"]["success"]}
        assert {"claimSignature.validated", "signingCredential.trusted"} <= codes
        store = json.loads(reader.json())
    manifests = store["manifests"]

    zoom = manifests[store["active_manifest"]]
    assert zoom["claim_generator_info"][0]["name"] == "imagine-bot"
    opened, edited = actions(zoom)
    assert opened["action"] == "c2pa.opened" and edited["action"] == "c2pa.edited"
    assert edited["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert edited["parameters"]["imagine-bot.action"] == "zoom_out_2x"
    assert edited["parameters"]["model"] == "tiny"
    assert edited["parameters"]["prompt"] == chain.prompt  # include_prompt is on here
    to_vary = parent_of(zoom)
    assert to_vary["title"] == "job vary-job image 1"
    assert to_vary["validation_results"]["activeManifest"].get("failure", []) == []

    vary = manifests[to_vary["active_manifest"]]
    assert actions(vary)[1]["parameters"]["imagine-bot.action"] == "vary_subtle"
    to_u2 = parent_of(vary)
    assert to_u2["title"] == "job grid-job image 2"

    u2 = manifests[to_u2["active_manifest"]]
    (created,) = actions(u2)
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert "ingredients" not in u2 or u2["ingredients"] == []

    # U2 is the grid's second image: the grid's manifest lists that very manifest.
    with read(chain.grid.grid.png if chain.grid.grid else b"", chain.ca.root) as reader:
        assert reader.get_validation_state() == "Trusted"
        grid_store = json.loads(reader.json())
    grid = grid_store["manifests"][grid_store["active_manifest"]]
    components = [i for i in grid["ingredients"] if i["relationship"] == "componentOf"]
    assert [c["title"] for c in components] == ["image 1", "image 2", "image 3", "image 4"]
    assert components[1]["active_manifest"] == to_u2["active_manifest"]


def test_signing_keeps_the_a1111_parameters(chain: Chain) -> None:
    with Image.open(io.BytesIO(chain.zoom.images[0].png)) as image:
        assert image.info[PARAMETERS_KEY].startswith("a lighthouse at dusk")


def test_an_image_edited_after_signing_fails_validation(chain: Chain, tmp_path: Path) -> None:
    edited = edit_pixels_keeping_chunks(chain.vary.images[0].png)
    with read(edited, chain.ca.root) as reader:
        assert reader.get_validation_state() == "Invalid"
        failures = reader.get_validation_results()["activeManifest"]["failure"]
    assert "assertion.dataHash.mismatch" in {failure["code"] for failure in failures}


@pytest.mark.usefixtures("test_env_exported")
def test_verify_prints_the_chain_and_fails_on_edited_or_plain_images(
    chain: Chain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, edited, plain = tmp_path / "zoom.png", tmp_path / "edited.png", tmp_path / "plain.png"
    good.write_bytes(chain.zoom.images[0].png)
    edited.write_bytes(edit_pixels_keeping_chunks(chain.zoom.images[0].png))
    Image.new("RGB", (8, 8)).save(plain)
    trust = ["--trust", str(chain.ca.root)]

    assert main(["verify", str(good), *trust]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("validation: Trusted")
    assert "ingredient: job vary-job image 1 (parentOf)" in printed
    assert "    ingredient: job grid-job image 2 (parentOf)" in printed  # two levels down
    assert "c2pa.created (trainedAlgorithmicMedia" in printed

    assert main(["verify", str(edited), *trust]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("validation: Invalid") and "assertion.dataHash.mismatch" in printed

    assert main(["verify", str(plain), *trust]) == 1
    assert "no Content Credentials" in capsys.readouterr().out

    plain.write_bytes(b"not an image")
    assert main(["verify", str(plain), *trust]) == 2
    assert "cannot be read as a PNG with Content Credentials" in capsys.readouterr().err
