"""/describe: four prompts that would make an image like the one given.

A BLIP captioning model writes what the image shows (beam search, four distinct captions
where it has them); a CLIP model ranks the shipped vocabulary (``describe_vocabulary.toml``:
mediums, styles, lighting) against the image; prompt ``k`` joins caption ``k`` with the
``k``-th best entry of each list and the image's aspect ratio, so the four read like
Midjourney's and always differ ("a boat on a lake, watercolor, impressionism, soft morning
light --ar 3:2"). Both models load on the first /describe job a GPU worker runs and stay on
its device (``JobRunner``); the bot queues the job like any other
(``engine/jobs/describing.py``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any

import torch
from PIL import Image
from transformers import BlipForConditionalGeneration, BlipProcessor, CLIPModel, CLIPProcessor

from imagine_bot.config.describe import DescribeSettings
from imagine_bot.engine.errors import ModelUnavailable
from imagine_bot.engine.gpu.models import LOADING
from imagine_bot.engine.jobs.describing import PROMPTS

VOCABULARY_FILE = "describe_vocabulary.toml"
IMAGE_BACKEND = "pil"
"""transformers' image processors default to torchvision, which this project never installs."""
_BLIP_NOISE = re.compile(r"\b(?:arafed|araffe|arafly|there is|there are)\b\s*", re.IGNORECASE)
"""Tokens BLIP is known to write at the start of captions that mean nothing."""
SQUARE_TOLERANCE = 0.04
"""Images this close to square get no ``--ar``."""


@dataclass(frozen=True)
class Vocabulary:
    """The words ranked against each image, per list, in the file's order."""

    lists: dict[str, tuple[str, ...]]

    @classmethod
    def shipped(cls) -> Vocabulary:
        text = resources.files(__package__).joinpath(VOCABULARY_FILE).read_text("utf-8")
        lists = {name: tuple(words) for name, words in tomllib.loads(text).items()}
        short = [name for name, words in lists.items() if len(words) < PROMPTS]
        if short:
            raise ValueError(f"{VOCABULARY_FILE}: {', '.join(short)} need {PROMPTS} entries")
        return cls(lists)


class Describer:
    """The captioning and ranking models of ``[describe]``, resident once used."""

    def __init__(
        self,
        settings: DescribeSettings,
        device: torch.device,
        dtype: torch.dtype,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.settings = settings
        self.device = device
        self.dtype = dtype
        self.vocabulary = vocabulary or Vocabulary.shipped()
        self._captioner: Any = None
        self._caption_processor: Any = None
        self._ranker: Any = None
        self._rank_processor: Any = None
        self._word_embeddings: dict[str, torch.Tensor] = {}

    def describe(self, image: Image.Image) -> list[str]:
        """Four distinct prompts for ``image``. GPU worker thread only."""
        self._ensure_loaded()
        rgb = image.convert("RGB")
        with torch.no_grad():
            captions = self._captions(rgb)
            ranked = self._rank(rgb)
        return compose_prompts(captions, ranked, rgb.width, rgb.height)

    # --- loading -----------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if self._captioner is not None:
            return
        caption, rank = self.settings.caption_model, self.settings.ranking_model
        with LOADING:
            captioner = _load("describe.caption_model", caption, BlipForConditionalGeneration)
            caption_processor = _load("describe.caption_model", caption, BlipProcessor)
            ranker = _load("describe.ranking_model", rank, CLIPModel)
            rank_processor = _load("describe.ranking_model", rank, CLIPProcessor)
        self._captioner = captioner.to(self.device, self.dtype).eval()
        self._ranker = ranker.to(self.device, self.dtype).eval()
        self._caption_processor, self._rank_processor = caption_processor, rank_processor
        with torch.no_grad():
            self._word_embeddings = {
                name: self._text_embeddings(words) for name, words in self.vocabulary.lists.items()
            }

    # --- per image -----------------------------------------------------------------------

    def _captions(self, image: Image.Image) -> list[str]:
        """Up to four distinct captions, the most likely first."""
        inputs = self._caption_processor(images=image, return_tensors="pt")
        pixels = inputs.pixel_values.to(self.device, self.dtype)
        tokens = self._captioner.generate(
            pixel_values=pixels,
            num_beams=PROMPTS,
            num_return_sequences=PROMPTS,
            max_new_tokens=self.settings.max_words,
        )
        texts = self._caption_processor.batch_decode(tokens, skip_special_tokens=True)
        return list(dict.fromkeys(text for text in map(clean_caption, texts) if text))

    def _rank(self, image: Image.Image) -> dict[str, list[str]]:
        """Each vocabulary list, best fit for ``image`` first (CLIP cosine similarity)."""
        inputs = self._rank_processor(images=image, return_tensors="pt")
        pixels = inputs.pixel_values.to(self.device, self.dtype)
        features = self._ranker.get_image_features(pixel_values=pixels)
        picture = _unit(_tensor(features))[0]
        ranked = {}
        for name, words in self.vocabulary.lists.items():
            scores = self._word_embeddings[name] @ picture
            order = torch.argsort(scores.float(), descending=True, stable=True).tolist()
            ranked[name] = [words[i] for i in order]
        return ranked

    def _text_embeddings(self, words: tuple[str, ...]) -> torch.Tensor:
        inputs = self._rank_processor.tokenizer(
            list(words), padding=True, truncation=True, return_tensors="pt"
        ).to(self.device)
        return _unit(_tensor(self._ranker.get_text_features(**inputs)))


def compose_prompts(
    captions: list[str], ranked: dict[str, list[str]], width: int, height: int
) -> list[str]:
    """Prompt ``k``: caption ``k`` (the best one again when there are fewer), then the ``k``-th
    best word of each list and ``--ar``. The words make the four prompts distinct."""
    subjects = captions or ["an image"]
    ratio = aspect_flag(width, height)
    prompts = []
    for k in range(PROMPTS):
        words = [subjects[k] if k < len(subjects) else subjects[0]]
        words += [ranked_words[k] for ranked_words in ranked.values()]
        prompts.append(", ".join(words) + (f" {ratio}" if ratio else ""))
    return prompts


def clean_caption(text: str) -> str:
    """A caption as prompt text: one line, no BLIP filler, no trailing full stop."""
    text = _BLIP_NOISE.sub("", " ".join(text.split()))
    return text.strip(" .,;:")


def aspect_flag(width: int, height: int) -> str:
    """``--ar W:H`` in small whole numbers, within Midjourney's 1:4 to 4:1; ``""`` when square."""
    ratio = min(4.0, max(0.25, width / height))
    if abs(ratio - 1) <= SQUARE_TOLERANCE:
        return ""
    near = Fraction(ratio).limit_denominator(16)
    return f"--ar {near.numerator}:{near.denominator}"


def _load(setting: str, source: str, cls: Any) -> Any:
    keywords = {"backend": IMAGE_BACKEND} if cls in (BlipProcessor, CLIPProcessor) else {}
    try:
        return cls.from_pretrained(source, **keywords)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelUnavailable(
            f"/describe {cls.__name__}",
            source,
            str(exc),
            setting,
            sentence="/describe's models could not be loaded on this server; "
            "the admin can find why in the bot's log.",
        ) from exc


def _tensor(features: Any) -> torch.Tensor:
    """transformers 5 returns a model output from ``get_*_features``; older ones a tensor."""
    if isinstance(features, torch.Tensor):
        return features
    pooled: torch.Tensor = features.pooler_output
    return pooled


def _unit(vectors: torch.Tensor) -> torch.Tensor:
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-6)
