# imagine-bot on an NVIDIA GPU.
#   docker build -t imagine-bot .
#   docker run --gpus all -e DISCORD_TOKEN=... -v imagine-data:/data -v imagine-models:/models \
#     -p 127.0.0.1:8765:8765 -e IMAGINE_WEB__PUBLIC_URL=https://imagine.example.com imagine-bot
# Weights are never baked into the image: Hugging Face downloads land in the /models volume,
# the database, images and the built-in tiny model in /data.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY imagine_bot ./imagine_bot
# torch is pinned by constraints.txt; on PyPI that version is the CUDA build.
RUN python3 -m venv /venv && /venv/bin/pip install --no-cache-dir -c constraints.txt .

ENV PATH=/venv/bin:$PATH \
    IMAGINE_PATHS__DATA_DIR=/data \
    IMAGINE_WEB__LISTEN=0.0.0.0:8765 \
    HF_HOME=/models \
    PYTHONUNBUFFERED=1
VOLUME ["/data", "/models"]
# The web server (Vary (Region) editor): publish it to the host's TLS reverse proxy only.
EXPOSE 8765

CMD ["imagine-bot", "run"]
