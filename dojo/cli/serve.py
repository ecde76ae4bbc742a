"""`dojo serve`: the web app."""

from __future__ import annotations

import logging

from simulator.settings import SettingError, Settings


def add_commands(sub) -> None:
    p = sub.add_parser("serve", help="start the web app", description="Start the web app (Gradio).")
    p.add_argument("--host", help="address to bind (default: DOJO_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: DOJO_PORT or 7860)")
    p.set_defaults(handler=_serve)


def _serve(args, settings: Settings) -> int:
    import app
    from dojo.services import Services

    level = settings.log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingError(f"DOJO_LOG_LEVEL={settings.log_level!r}: use DEBUG, INFO, WARNING or ERROR")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = Services.from_settings(settings)
    services.preflight()
    app.main(services, host=args.host or settings.host, port=args.port or settings.port)
    return 0
