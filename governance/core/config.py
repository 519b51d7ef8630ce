"""Runtime settings read from the environment (one place, documented in README)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_PATH = PROJECT_ROOT / "instance" / "gridcockpit.sqlite3"

# Every setting the app reads, with its meaning: tests fail when one is missing from README.
SETTINGS_DOC = {
    "DATABASE_URL": "SQLAlchemy URL of the database (default: SQLite file instance/gridcockpit.sqlite3)",
    "HOST": "interface the web server binds to (default 127.0.0.1)",
    "PORT": "port the web server listens on (default 8050)",
    "COCKPIT_SCALE": "demo world size when seeding an empty database: street, district or city",
    "COCKPIT_SEED": "random seed of the demo world (default 20231)",
    "COCKPIT_REFRESH_SECONDS": "how often the wall view refreshes (default 15)",
    "COCKPIT_BIND": "deploy/gunicorn.conf.py: address the web workers listen on (default 127.0.0.1:8050)",
    "COCKPIT_WORKERS": "deploy/gunicorn.conf.py: number of web worker processes (default: CPU count, at least 2)",
    "COCKPIT_THREADS": "deploy/gunicorn.conf.py: threads per web worker (default 8)",
    "COCKPIT_LIVE_STREAMS": "open change streams (/api/v1/changes) one web process holds at most (default 4; each holds a server thread, so keep it well below COCKPIT_THREADS); beyond it browsers keep their refresh interval",
    "COCKPIT_CACHE_SECONDS": "how long a web process reuses its view of the data version (default 5; 0 = always re-read)",
    "COCKPIT_CACHE_DIR": "directory of the result cache shared by every web process on the machine (default instance/cache)",
    "COCKPIT_FEEDS": "YAML file configuring the pulled feeds (URLs, folders, intervals)",
    "COCKPIT_DEMO_FEEDS": "1 (default) starts the local feed simulator when COCKPIT_FEEDS is unset",
    "COCKPIT_SIMULATOR_PORT": "port of the demo feed simulator (default 8051)",
    "COCKPIT_TILE_URL": "optional locally served basemap tiles, e.g. http://tiles.local/{z}/{x}/{y}.png",
    "COCKPIT_TILE_DATUM": "datum of those tiles: wgs84 (default) or gcj02 (AMap-style tiles)",
    "COCKPIT_WEBHOOK_URL": "group-robot webhook for new red/orange warnings (WeCom or DingTalk)",
    "COCKPIT_WEBHOOK_FORMAT": "wecom (default) or dingtalk",
    "COCKPIT_SECRET_KEY": "secret for signed links and embed tokens (≥ 32 characters); required unless COCKPIT_DEMO=1",
    "COCKPIT_DEMO": "1 marks a demo deployment: a generated secret key and printed demo accounts are allowed",
    "COCKPIT_EMBED_ORIGINS": "portal origins allowed to frame /embed, space-separated (e.g. https://portal.gov.cn)",
    "COCKPIT_SECURE_COOKIES": "1 (set it behind HTTPS) marks session cookies Secure",
    "COCKPIT_PROXY_HOPS": "number of trusted reverse proxies in front (default 0): client address and scheme come from their X-Forwarded-* headers",
    "COCKPIT_PHOTO_DIR": "directory where workers' task photos and thumbnails are stored (default instance/photos)",
    "COCKPIT_PHOTO_MAX_MB": "largest photo a worker may upload, in MB (default 8)",
    "COCKPIT_PHOTO_KEEP_LOCATION": "1 keeps a photo's EXIF GPS location; 0 (default) strips it before storing",
}


@dataclass(frozen=True)
class Settings:
    """Settings of one process, resolved from environment and command-line flags."""

    database_url: str
    host: str = "127.0.0.1"
    port: int = 8050
    scale: str = "street"
    seed: int = 20231
    refresh_seconds: int = 15
    cache_seconds: float = 5.0
    cache_dir: str = str(PROJECT_ROOT / "instance" / "cache")
    demo_feeds: bool = True
    simulator_port: int = 8051
    tile_url: str | None = None
    tile_datum: str = "wgs84"
    webhook_url: str | None = None
    webhook_format: str = "wecom"
    secret_key: str | None = None
    demo: bool = False
    embed_origins: tuple[str, ...] = ()
    secure_cookies: bool = False
    proxy_hops: int = 0
    live_streams: int = 4
    photo_dir: str = str(PROJECT_ROOT / "instance" / "photos")
    photo_max_mb: float = 8.0
    photo_keep_location: bool = False


def default_database_url() -> str:
    """Return the SQLite URL used when DATABASE_URL is not set."""
    return f"sqlite:///{DEFAULT_DB_PATH}"


def load_settings(**overrides) -> Settings:
    """Build Settings from the environment, with explicit overrides (CLI flags) winning."""
    env = os.environ
    values = dict(
        database_url=env.get("DATABASE_URL") or default_database_url(),
        host=env.get("HOST", "127.0.0.1"),
        port=int(env.get("PORT", "8050")),
        scale=env.get("COCKPIT_SCALE", "street"),
        seed=int(env.get("COCKPIT_SEED", "20231")),
        refresh_seconds=int(env.get("COCKPIT_REFRESH_SECONDS", "15")),
        cache_seconds=float(env.get("COCKPIT_CACHE_SECONDS", "5")),
        cache_dir=env.get("COCKPIT_CACHE_DIR") or str(PROJECT_ROOT / "instance" / "cache"),
        demo_feeds=env.get("COCKPIT_DEMO_FEEDS", "1") not in ("0", "false", "no"),
        simulator_port=int(env.get("COCKPIT_SIMULATOR_PORT", "8051")),
        tile_url=env.get("COCKPIT_TILE_URL") or None,
        tile_datum=env.get("COCKPIT_TILE_DATUM", "wgs84").lower(),
        webhook_url=env.get("COCKPIT_WEBHOOK_URL") or None,
        webhook_format=env.get("COCKPIT_WEBHOOK_FORMAT", "wecom").lower(),
        secret_key=env.get("COCKPIT_SECRET_KEY") or None,
        demo=env.get("COCKPIT_DEMO", "0") in ("1", "true", "yes"),
        embed_origins=tuple(o.rstrip("/") for o in env.get("COCKPIT_EMBED_ORIGINS", "").replace(",", " ").split()),
        secure_cookies=env.get("COCKPIT_SECURE_COOKIES", "0") in ("1", "true", "yes"),
        proxy_hops=int(env.get("COCKPIT_PROXY_HOPS", "0")),
        live_streams=int(env.get("COCKPIT_LIVE_STREAMS", "4")),
        photo_dir=env.get("COCKPIT_PHOTO_DIR") or str(PROJECT_ROOT / "instance" / "photos"),
        photo_max_mb=float(env.get("COCKPIT_PHOTO_MAX_MB", "8")),
        photo_keep_location=env.get("COCKPIT_PHOTO_KEEP_LOCATION", "0") in ("1", "true", "yes"),
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values["tile_datum"] not in ("wgs84", "gcj02"):
        raise ValueError(f"COCKPIT_TILE_DATUM must be wgs84 or gcj02, not {values['tile_datum']!r}")
    if values["webhook_format"] not in ("wecom", "dingtalk"):
        raise ValueError(f"COCKPIT_WEBHOOK_FORMAT must be wecom or dingtalk, not {values['webhook_format']!r}")
    for origin in values["embed_origins"]:
        if not origin.startswith(("https://", "http://")) or "*" in origin or " " in origin:
            raise ValueError(f"COCKPIT_EMBED_ORIGINS entries must be exact origins like https://portal.example, not {origin!r}")
    return Settings(**values)


MIN_SECRET = 32


def secret_key(settings: Settings) -> str:
    """The signing secret: COCKPIT_SECRET_KEY, or in demo mode a generated one; fail loudly otherwise."""
    if settings.secret_key:
        if len(settings.secret_key) < MIN_SECRET and not settings.demo:
            raise ValueError(f"COCKPIT_SECRET_KEY must be at least {MIN_SECRET} characters")
        return settings.secret_key
    if settings.demo:
        return demo_secret_key()
    raise ValueError("COCKPIT_SECRET_KEY is not set: production needs a secret of at least "
                     f"{MIN_SECRET} characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`); "
                     "set COCKPIT_DEMO=1 only for a demo")


def demo_secret_key() -> str:
    """A random secret kept in instance/secret_key (demo only; production sets COCKPIT_SECRET_KEY)."""
    import secrets

    path = PROJECT_ROOT / "instance" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
