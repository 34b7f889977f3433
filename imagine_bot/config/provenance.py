"""Settings of Content Credentials: the signed C2PA manifest in every delivered PNG."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator


class ProvenanceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    include_prompt: bool = False
    """Put the prompt text in the manifest; off by default, as prompts can be private."""
    certificate: Path | None = None
    """PEM certificate chain: the signing certificate first, then its issuers."""
    private_key: Path | None = None
    """PEM private key (ES256, P-256) of the signing certificate."""

    @model_validator(mode="after")
    def _both_or_neither(self) -> ProvenanceSettings:
        given = [name for name in ("certificate", "private_key") if getattr(self, name)]
        if len(given) == 1:
            missing = "private_key" if given == ["certificate"] else "certificate"
            raise ValueError(
                f"{given[0]} is set but {missing} is not: give both, or neither to sign "
                "with a local certificate made in the data folder"
            )
        for name in given:
            path: Path = getattr(self, name)
            if not path.is_file():
                raise ValueError(f"{name}: {str(path)!r} is not a readable file")
        return self
