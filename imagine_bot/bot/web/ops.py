"""``/healthz`` and ``/metrics``: for the container's health check, load balancers and
Prometheus. Neither needs a link: they show no member's data."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from imagine_bot.bot.web.server import SERVER
from imagine_bot.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 5.0
"""Seconds the database may take to answer before the bot counts as unhealthy."""

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 ``ok`` when the bot is connected to Discord, the database answers and every worker
    is alive with the default model loaded (when it warms up); else 503 with one line per
    reason."""
    server = request.app[SERVER]
    app = server.app
    problems = []
    if server.gateway_connected is not None and not server.gateway_connected():
        problems.append("the bot is not connected to Discord's gateway")
    try:
        await asyncio.wait_for(app.service.ping(), DATABASE_TIMEOUT)
    except Exception as error:
        log.warning("health check: the database did not answer: %r", error)
        problems.append(f"the database does not answer ({type(error).__name__})")
    workers = app.worker_health()
    if not workers:
        problems.append("no GPU worker is running")
    problems.extend(worker.problem for worker in workers if worker.problem is not None)
    if problems:
        return web.Response(status=503, text="\n".join(problems) + "\n")
    return web.Response(text="ok\n")


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    app = server.app
    app.metrics.refresh(await app.service.job_counts(), app.worker_health())
    if server.gateway_connected is not None:
        app.metrics.discord_connected.set(server.gateway_connected())
    return web.Response(body=app.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
