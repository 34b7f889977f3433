# imagine-bot on an NVIDIA GPU host (see README, "Docker").
#   docker compose up -d        (compose.yaml: volumes, settings file, GPU reservation)
# PyPI's torch 2.13.0 is a CUDA 13 build that brings its own CUDA libraries (nvidia-* wheels),
# so a slim Python base is enough; the host needs only the NVIDIA driver and container toolkit.
# Weights are never baked in: Hugging Face downloads land in /models, the database, images and
# the built-in tiny model in /data.
FROM python:3.11-slim

# The user the bot runs as; compose passes the host user's ids so the images written to the
# bind-mounted /data belong to them.
ARG UID=1000
ARG GID=1000
# An extra wheel index for torch, for hosts whose NVIDIA driver is older than CUDA 13 needs:
#   docker compose build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
# Empty (the default): PyPI's CUDA 13 build. pip takes the index's +cuXXX build of the pinned
# version, which ranks above PyPI's.
ARG TORCH_INDEX_URL=""

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/venv/bin:$PATH \
    HF_HOME=/models \
    IMAGINE_PATHS__DATA_DIR=/data \
    IMAGINE_WEB__LISTEN=0.0.0.0:8765

RUN groupadd --gid "${GID}" imagine \
    && useradd --uid "${UID}" --gid "${GID}" --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin imagine \
    && python -m venv /venv \
    && mkdir -p /data /models \
    && chown imagine:imagine /data /models

WORKDIR /app

# The dependencies first, from pyproject.toml alone: a code change rebuilds only the layers
# below, and the CUDA wheels (several GB) stay cached.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
        -c constraints.txt -r requirements.txt

COPY README.md LICENSE ./
COPY imagine_bot ./imagine_bot
RUN pip install --no-deps .

USER ${UID}:${GID}
EXPOSE 8765
VOLUME ["/data", "/models"]

# /healthz answers 200 once the database answers and the worker holds the default model;
# the start period covers downloading and loading it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15m --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=8)"]

# PID 1 handles SIGTERM (docker stop): the running job goes back to the queue, then it exits.
CMD ["imagine-bot", "run"]
